"""REST API v10 handlers of the fake Discord (mixed into ``FakeDiscord``).

Each handler takes the :class:`~fakecord.records.RecordedRequest` (already parsed, path
parameters in ``record.params``) and returns ``(status, json_body)``; raising
:class:`~fakecord.wire.ApiError` produces a Discord JSON error. Interaction callbacks and
webhooks are in :mod:`fakecord.rest_interactions`, the routing table in :mod:`fakecord.routes`.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .records import RecordedRequest
from .wire import EPHEMERAL, ApiError, form_error, unknown

if TYPE_CHECKING:
    from .server import FakeDiscord


Result = tuple[int, Any]


class RestHandlers:
    """The REST endpoint implementations; see :data:`fakecord.routes.ROUTES`."""

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
