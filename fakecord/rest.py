"""REST API v10 handlers of the fake Discord (mixed into ``FakeDiscord``).

Each handler takes the :class:`~fakecord.records.RecordedRequest` (already parsed, path
parameters in ``record.params``) and returns ``(status, json_body)``; raising
:class:`~fakecord.world.ApiError` produces a Discord JSON error. :data:`ROUTES` is the
routing table (method, path template relative to ``/api/v10``, handler, auth required).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .records import InteractionRecord, RecordedRequest
from .wire import EPHEMERAL, LOADING, ApiError, form_error, unknown

if TYPE_CHECKING:
    from .server import FakeDiscord

logger = logging.getLogger(__name__)

Result = tuple[int, Any]
Handler = Callable[["FakeDiscord", RecordedRequest], Awaitable[Result]]

# Which callback types each interaction type accepts.
_ALLOWED_CALLBACKS = {
    2: {4, 5, 9, 10, 12},
    3: {4, 5, 6, 7, 9, 10, 12},
    4: {8},
    5: {4, 5, 6, 7, 10, 12},
}
# Flags a bot may set on an interaction response / follow-up.
_SETTABLE_FLAGS = EPHEMERAL | (1 << 2) | (1 << 12) | (1 << 15)


@dataclasses.dataclass(frozen=True)
class Route:
    """One REST route of the fake: ``template`` like ``/channels/{channel_id}/messages``."""

    method: str
    template: str
    handler: Handler
    auth: bool = True


def _truthy(value: str | None) -> bool:
    return str(value).lower() in ("1", "true")


class RestHandlers:
    """The REST endpoint implementations; see :data:`ROUTES`."""

    # ------------------------------------------------------------------ users / app / gateway

    async def get_me(self: FakeDiscord, record: RecordedRequest) -> Result:
        return 200, self.world.bot_user

    async def get_user(self: FakeDiscord, record: RecordedRequest) -> Result:
        return 200, self.world.user(record.params["user_id"])

    async def create_dm(self: FakeDiscord, record: RecordedRequest) -> Result:
        recipient = (record.json or {}).get("recipient_id")
        if recipient is None:
            raise form_error("recipient_id", "BASE_TYPE_REQUIRED", "This field is required")
        self.world.user(recipient)
        return 200, self.world.dm_channel(recipient)

    async def get_application(self: FakeDiscord, record: RecordedRequest) -> Result:
        owner = self.user or self.world.bot_user
        return 200, {
            "id": self.world.application_id,
            "name": self.world.bot_user["username"],
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "owner": owner,
            "team": None,
            "flags": self.app_flags,
            "flags_new": str(self.app_flags),
            "bot": self.world.bot_user,
            "hook": True,
            "interactions_endpoint_url": None,
            "redirect_uris": [],
            "role_connections_verification_url": None,
            "tags": [],
            "approximate_guild_count": len(self.world.guilds),
            "approximate_user_install_count": 0,
            "approximate_user_authorization_count": 0,
            "explicit_content_filter": 0,
            "eligible_oauth2_scopes": ["applications.commands", "bot"],
            "integration_types_config": {"0": {}},
        }

    async def get_gateway(self: FakeDiscord, record: RecordedRequest) -> Result:
        return 200, {"url": self.gateway_url.rstrip("/")}

    async def get_gateway_bot(self: FakeDiscord, record: RecordedRequest) -> Result:
        return 200, {
            "url": self.gateway_url.rstrip("/"),
            "shards": self.recommended_shards,
            "session_start_limit": {
                "total": 1000,
                "remaining": 1000 - len(self.gateway.identifies),
                "reset_after": 86_400_000,
                "max_concurrency": 1,
            },
        }

    # ------------------------------------------------------------------ guilds

    async def get_guild(self: FakeDiscord, record: RecordedRequest) -> Result:
        guild = copy.deepcopy(self.world.guild(record.params["guild_id"]))
        guild.pop("members", None)
        return 200, guild

    async def get_guild_channels(self: FakeDiscord, record: RecordedRequest) -> Result:
        gid = self.world.guild(record.params["guild_id"])["id"]
        return 200, [c for c in self.world.channels.values() if c.get("guild_id") == gid]

    async def get_guild_roles(self: FakeDiscord, record: RecordedRequest) -> Result:
        return 200, self.world.guild(record.params["guild_id"])["roles"]

    async def get_guild_member(self: FakeDiscord, record: RecordedRequest) -> Result:
        return 200, self.world.member_payload(record.params["guild_id"], record.params["user_id"])

    # ------------------------------------------------------------------ application commands

    async def get_commands(self: FakeDiscord, record: RecordedRequest) -> Result:
        self._check_app(record)
        return 200, self.world.commands_for(record.params.get("guild_id"))

    async def put_commands(self: FakeDiscord, record: RecordedRequest) -> Result:
        self._check_app(record)
        return 200, self.world.sync_commands(record.params.get("guild_id"), record.json or [])

    async def post_command(self: FakeDiscord, record: RecordedRequest) -> Result:
        self._check_app(record)
        return 201, self.world.upsert_command(record.params.get("guild_id"), record.json or {})

    async def get_command(self: FakeDiscord, record: RecordedRequest) -> Result:
        self._check_app(record)
        params = record.params
        return 200, self.world.get_command(params.get("guild_id"), params["command_id"])

    async def patch_command(self: FakeDiscord, record: RecordedRequest) -> Result:
        self._check_app(record)
        params = record.params
        current = copy.deepcopy(
            self.world.get_command(params.get("guild_id"), params["command_id"])
        )
        current.update(record.json or {})
        return 200, self.world.upsert_command(params.get("guild_id"), current)

    async def delete_command(self: FakeDiscord, record: RecordedRequest) -> Result:
        self._check_app(record)
        params = record.params
        command = self.world.get_command(params.get("guild_id"), params["command_id"])
        scope = self.world.commands_for(params.get("guild_id"))
        scope.remove(command)
        return 204, None

    def _check_app(self: FakeDiscord, record: RecordedRequest) -> None:
        if record.params["application_id"] != self.world.application_id:
            raise ApiError(403, 50001, "Missing Access")

    # ------------------------------------------------------------------ channels & messages

    async def get_channel(self: FakeDiscord, record: RecordedRequest) -> Result:
        return 200, self.world.channel(record.params["channel_id"])

    async def get_messages(self: FakeDiscord, record: RecordedRequest) -> Result:
        cid = self.world.channel(record.params["channel_id"])["id"]
        limit = int(record.query.get("limit", 50))
        before = record.query.get("before")
        after = record.query.get("after")
        messages = [
            m
            for mid, m in self.world.messages.items()
            if m["channel_id"] == cid
            and mid not in self.world.deleted_messages
            and not int(m.get("flags") or 0) & EPHEMERAL
            and (before is None or int(mid) < int(before))
            and (after is None or int(mid) > int(after))
        ]
        messages.sort(key=lambda m: int(m["id"]), reverse=True)
        return 200, [self._rest_message(m) for m in messages[:limit]]

    def _rest_message(self: FakeDiscord, message: dict[str, Any]) -> dict[str, Any]:
        wire = self.world.wire_message(message)
        if not self.privileged_intents_mask & (1 << 15):
            self.world.blank_content(wire)
        return wire

    async def get_message(self: FakeDiscord, record: RecordedRequest) -> Result:
        params = record.params
        msg = self.world.message(params["message_id"], channel=params["channel_id"])
        if int(msg.get("flags") or 0) & EPHEMERAL:
            raise unknown("Message", 10008)
        return 200, self._rest_message(msg)

    async def post_message(self: FakeDiscord, record: RecordedRequest) -> Result:
        channel = self.world.channel(record.params["channel_id"])
        body = record.json if isinstance(record.json, dict) else {}
        message = self.world.create_message(
            channel=channel,
            author=self.world.bot_user,
            body=body,
            files=self.files_by_index(record),
        )
        await self.dispatch_message_event("MESSAGE_CREATE", message)
        return 200, self.world.wire_message(message)

    async def patch_message(self: FakeDiscord, record: RecordedRequest) -> Result:
        params = record.params
        msg = self.world.message(params["message_id"], channel=params["channel_id"])
        if msg["author"]["id"] != self.world.bot_id:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        body = record.json if isinstance(record.json, dict) else {}
        message = self.world.edit_message(msg, body, self.files_by_index(record))
        await self.dispatch_message_event("MESSAGE_UPDATE", message)
        return 200, self.world.wire_message(message)

    async def delete_message(self: FakeDiscord, record: RecordedRequest) -> Result:
        params = record.params
        msg = self.world.message(params["message_id"], channel=params["channel_id"])
        self.world.delete_message(msg)
        await self.dispatch_message_delete(msg)
        return 204, None

    async def typing(self: FakeDiscord, record: RecordedRequest) -> Result:
        self.world.channel(record.params["channel_id"])
        return 204, None

    async def put_reaction(self: FakeDiscord, record: RecordedRequest) -> Result:
        params = record.params
        msg = self.world.message(params["message_id"], channel=params["channel_id"])
        emoji = params["emoji"]
        reactions = msg.setdefault("reactions", [])
        for reaction in reactions:
            if reaction["emoji"].get("name") == emoji:
                if not reaction["me"]:
                    reaction["count"] += 1
                reaction["me"] = True
                break
        else:
            reactions.append(
                {
                    "count": 1,
                    "count_details": {"burst": 0, "normal": 1},
                    "me": True,
                    "me_burst": False,
                    "burst_colors": [],
                    "emoji": {"id": None, "name": emoji},
                }
            )
        return 204, None

    async def delete_reaction(self: FakeDiscord, record: RecordedRequest) -> Result:
        params = record.params
        msg = self.world.message(params["message_id"], channel=params["channel_id"])
        msg["reactions"] = [
            r for r in msg.get("reactions", []) if r["emoji"].get("name") != params["emoji"]
        ]
        return 204, None

    async def thread_from_message(self: FakeDiscord, record: RecordedRequest) -> Result:
        params = record.params
        msg = self.world.message(params["message_id"], channel=params["channel_id"])
        name = str((record.json or {}).get("name") or "")
        if not 1 <= len(name) <= 100:
            raise form_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        if msg["id"] in self.world.channels:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        thread = self.world.add_thread(params["channel_id"], name, message=msg)
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return 201, thread

    async def thread_without_message(self: FakeDiscord, record: RecordedRequest) -> Result:
        name = str((record.json or {}).get("name") or "")
        if not 1 <= len(name) <= 100:
            raise form_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        thread = self.world.add_thread(record.params["channel_id"], name)
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return 201, thread

    # ------------------------------------------------------------------ interactions

    def _interaction_for_callback(self: FakeDiscord, record: RecordedRequest) -> InteractionRecord:
        rec = self.interactions.get(record.params["interaction_id"])
        if rec is None or rec.token != record.params["token"] or rec.expired:
            raise ApiError(404, 10062, "Unknown interaction")
        deadline = self.interaction_callback_deadline
        if deadline is not None and time.monotonic() - rec.created_monotonic > deadline:
            logger.warning("fake Discord: interaction %s answered after %ss", rec.id, deadline)
            raise ApiError(404, 10062, "Unknown interaction")
        return rec

    def _interaction_for_webhook(self: FakeDiscord, record: RecordedRequest) -> InteractionRecord:
        token = record.params["token"]
        rec = next((r for r in self.interactions.values() if r.token == token), None)
        if (
            rec is None
            or rec.expired
            or rec.callback is None
            or record.params["application_id"] != self.world.application_id
        ):
            raise ApiError(404, 10015, "Unknown Webhook")
        return rec

    def _interaction_message(
        self: FakeDiscord,
        rec: InteractionRecord,
        data: dict[str, Any],
        record: RecordedRequest,
        *,
        loading: bool = False,
    ) -> dict[str, Any]:
        payload = rec.payload
        user = payload.get("member", {}).get("user") or payload.get("user")
        itype = int(payload["type"])
        command_type = int(payload.get("data", {}).get("type", 1)) if itype == 2 else None
        metadata: dict[str, Any] = {
            "id": rec.id,
            "type": itype,
            "user": user,
            "authorizing_integration_owners": payload.get("authorizing_integration_owners", {}),
        }
        if command_type is not None:
            metadata["name"] = payload["data"]["name"]
            metadata["command_type"] = command_type
        if itype == 3:
            metadata["interacted_message_id"] = payload["message"]["id"]
        if rec.original_message_id is not None:
            metadata["original_response_message_id"] = rec.original_message_id
        extra: dict[str, Any] = {
            "webhook_id": self.world.application_id,
            "application_id": self.world.application_id,
            "interaction_metadata": metadata,
            "interaction": {
                "id": rec.id,
                "type": itype,
                "name": payload.get("data", {}).get("name", ""),
                "user": user,
            },
        }
        body = dict(data)
        body["flags"] = int(body.get("flags") or 0) & _SETTABLE_FLAGS
        if loading:
            body = {"content": "", "flags": (body["flags"] & EPHEMERAL) | LOADING}
        message_type = {1: 20, 2: 23, 3: 23}.get(command_type or 0, 0)
        if rec.original_message_id is not None:
            message_type = 0
        return self.world.create_message(
            channel=payload["channel_id"],
            author=self.world.bot_user,
            body=body,
            files=self.files_by_index(record),
            message_type=message_type,
            extra=extra,
            validate=not loading,
        )

    async def interaction_callback(self: FakeDiscord, record: RecordedRequest) -> Result:
        rec = self._interaction_for_callback(record)
        if rec.callback is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        body = record.json if isinstance(record.json, dict) else {}
        ctype = int(body.get("type") or 0)
        itype = int(rec.payload["type"])
        if ctype not in _ALLOWED_CALLBACKS.get(itype, set()):
            raise form_error(
                "type",
                "INTERACTION_RESPONSE_TYPE_INVALID",
                f"Invalid response type {ctype} for interaction type {itype}",
            )
        data = body.get("data") or {}
        message: dict[str, Any] | None = None
        if ctype == 4:
            message = self._interaction_message(rec, data, record)
            rec.original_message_id = message["id"]
            await self.dispatch_message_event("MESSAGE_CREATE", message)
        elif ctype == 5:
            message = self._interaction_message(rec, data, record, loading=True)
            rec.original_message_id = message["id"]
            await self.dispatch_message_event("MESSAGE_CREATE", message)
        elif ctype == 6:
            rec.original_message_id = rec.payload["message"]["id"]
        elif ctype == 7:
            rec.original_message_id = rec.payload["message"]["id"]
            message = self.world.edit_message(
                rec.original_message_id, data, self.files_by_index(record)
            )
            await self.dispatch_message_event("MESSAGE_UPDATE", message)
        elif ctype == 8:
            choices = data.get("choices") or []
            if len(choices) > 25:
                raise form_error(
                    "data.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
                )
            for i, choice in enumerate(choices):
                if not 1 <= len(str(choice.get("name", ""))) <= 100:
                    raise form_error(
                        f"data.choices.{i}.name",
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 100 in length.",
                    )
        rec.callback = body
        rec.callback_at = time.time()
        self.notify_changed()
        if not _truthy(record.query.get("with_response")):
            return 204, None
        interaction: dict[str, Any] = {"id": rec.id, "type": itype}
        if message is not None:
            interaction["response_message_id"] = message["id"]
            interaction["response_message_loading"] = bool(int(message["flags"]) & LOADING)
            interaction["response_message_ephemeral"] = bool(int(message["flags"]) & EPHEMERAL)
        reply: dict[str, Any] = {"interaction": interaction}
        if ctype in (4, 7) and message is not None:
            # Discord describes a resource only for the callbacks that show a message.
            reply["resource"] = {"type": ctype, "message": self.world.wire_message(message)}
        return 200, reply

    async def webhook_post(self: FakeDiscord, record: RecordedRequest) -> Result:
        rec = self._interaction_for_webhook(record)
        body = record.json if isinstance(record.json, dict) else {}
        original = rec.original_message_id
        if (
            rec.callback_type == 5
            and not rec.original_edited
            and original is not None
            and original not in self.world.deleted_messages
        ):
            # Discord: the first follow-up after a deferred response edits the loading
            # message instead (and keeps the ephemeral state chosen when deferring).
            edit_body = {k: v for k, v in body.items() if k != "flags"}
            message = self.world.edit_message(original, edit_body, self.files_by_index(record))
            rec.original_edited = True
            await self.dispatch_message_event("MESSAGE_UPDATE", message)
        else:
            message = self._interaction_message(rec, body, record)
            rec.followup_ids.append(message["id"])
            await self.dispatch_message_event("MESSAGE_CREATE", message)
        self.notify_changed()
        if _truthy(record.query.get("wait")):
            return 200, self.world.wire_message(message)
        return 204, None

    def _webhook_message_id(self: FakeDiscord, rec: InteractionRecord, message_id: str) -> str:
        if message_id == "@original":
            if rec.original_message_id is None:
                raise unknown("Message", 10008)
            return rec.original_message_id
        if message_id != rec.original_message_id and message_id not in rec.followup_ids:
            raise unknown("Message", 10008)
        return message_id

    async def webhook_get_message(self: FakeDiscord, record: RecordedRequest) -> Result:
        rec = self._interaction_for_webhook(record)
        mid = self._webhook_message_id(rec, record.params["message_id"])
        return 200, self.world.wire_message(self.world.message(mid))

    async def webhook_patch_message(self: FakeDiscord, record: RecordedRequest) -> Result:
        rec = self._interaction_for_webhook(record)
        mid = self._webhook_message_id(rec, record.params["message_id"])
        body = record.json if isinstance(record.json, dict) else {}
        message = self.world.edit_message(mid, body, self.files_by_index(record))
        if mid == rec.original_message_id:
            rec.original_edited = True
        await self.dispatch_message_event("MESSAGE_UPDATE", message)
        self.notify_changed()
        return 200, self.world.wire_message(message)

    async def webhook_delete_message(self: FakeDiscord, record: RecordedRequest) -> Result:
        rec = self._interaction_for_webhook(record)
        mid = self._webhook_message_id(rec, record.params["message_id"])
        message = self.world.delete_message(mid)
        await self.dispatch_message_delete(message)
        return 204, None


_H = RestHandlers
_MSG = "/channels/{channel_id}/messages/{message_id}"
_APP = "/applications/{application_id}"
_GUILD_CMDS = _APP + "/guilds/{guild_id}/commands"
_WEBHOOK = "/webhooks/{application_id}/{token}"

#: The routing table; literal routes come before templated ones that would also match.
ROUTES: list[Route] = [
    Route("GET", "/users/@me", _H.get_me),
    Route("POST", "/users/@me/channels", _H.create_dm),
    Route("GET", "/users/{user_id}", _H.get_user),
    Route("GET", "/oauth2/applications/@me", _H.get_application),
    Route("GET", "/applications/@me", _H.get_application),
    Route("GET", "/gateway", _H.get_gateway, auth=False),
    Route("GET", "/gateway/bot", _H.get_gateway_bot),
    Route("GET", "/guilds/{guild_id}", _H.get_guild),
    Route("GET", "/guilds/{guild_id}/channels", _H.get_guild_channels),
    Route("GET", "/guilds/{guild_id}/roles", _H.get_guild_roles),
    Route("GET", "/guilds/{guild_id}/members/{user_id}", _H.get_guild_member),
    Route("GET", _APP + "/commands", _H.get_commands),
    Route("PUT", _APP + "/commands", _H.put_commands),
    Route("POST", _APP + "/commands", _H.post_command),
    Route("GET", _APP + "/commands/{command_id}", _H.get_command),
    Route("PATCH", _APP + "/commands/{command_id}", _H.patch_command),
    Route("DELETE", _APP + "/commands/{command_id}", _H.delete_command),
    Route("GET", _GUILD_CMDS, _H.get_commands),
    Route("PUT", _GUILD_CMDS, _H.put_commands),
    Route("POST", _GUILD_CMDS, _H.post_command),
    Route("GET", _GUILD_CMDS + "/{command_id}", _H.get_command),
    Route("PATCH", _GUILD_CMDS + "/{command_id}", _H.patch_command),
    Route("DELETE", _GUILD_CMDS + "/{command_id}", _H.delete_command),
    Route("GET", "/channels/{channel_id}", _H.get_channel),
    Route("GET", "/channels/{channel_id}/messages", _H.get_messages),
    Route("POST", "/channels/{channel_id}/messages", _H.post_message),
    Route("GET", _MSG, _H.get_message),
    Route("PATCH", _MSG, _H.patch_message),
    Route("DELETE", _MSG, _H.delete_message),
    Route("POST", "/channels/{channel_id}/typing", _H.typing),
    Route("PUT", _MSG + "/reactions/{emoji}/@me", _H.put_reaction),
    Route("DELETE", _MSG + "/reactions/{emoji}/@me", _H.delete_reaction),
    Route("POST", _MSG + "/threads", _H.thread_from_message),
    Route("POST", "/channels/{channel_id}/threads", _H.thread_without_message),
    Route(
        "POST",
        "/interactions/{interaction_id}/{token}/callback",
        _H.interaction_callback,
        auth=False,
    ),
    Route("POST", _WEBHOOK, _H.webhook_post, auth=False),
    Route("GET", _WEBHOOK + "/messages/{message_id}", _H.webhook_get_message, auth=False),
    Route("PATCH", _WEBHOOK + "/messages/{message_id}", _H.webhook_patch_message, auth=False),
    Route("DELETE", _WEBHOOK + "/messages/{message_id}", _H.webhook_delete_message, auth=False),
]
