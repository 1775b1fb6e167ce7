"""Interaction endpoints of the fake Discord (mixed into ``FakeDiscord``): the callback, the
follow-up webhook and the original response, with Discord's rules on which callback fits
which interaction and how long a token lives."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from .records import InteractionRecord, RecordedRequest
from .wire import EPHEMERAL, LOADING, ApiError, form_error, unknown

if TYPE_CHECKING:
    from .server import FakeDiscord
from .rest import Result

log = logging.getLogger(__name__)

# Which callback types each interaction type accepts.
_ALLOWED_CALLBACKS = {
    2: {4, 5, 9, 10, 12},
    3: {4, 5, 6, 7, 9, 10, 12},
    4: {8},
    5: {4, 5, 6, 7, 10, 12},
}
# Flags a bot may set on an interaction response / follow-up.
_SETTABLE_FLAGS = EPHEMERAL | (1 << 2) | (1 << 12) | (1 << 15)


def _truthy(value: str | None) -> bool:
    return str(value).lower() in ("1", "true")


class InteractionHandlers:
    """Interaction callbacks and webhooks; see :data:`fakecord.routes.ROUTES`."""

    def _interaction_for_callback(self: FakeDiscord, record: RecordedRequest) -> InteractionRecord:
        rec = self.interactions.get(record.params["interaction_id"])
        if rec is None or rec.token != record.params["token"] or rec.expired:
            raise ApiError(404, 10062, "Unknown interaction")
        deadline = self.interaction_callback_deadline
        if deadline is not None and time.monotonic() - rec.created_monotonic > deadline:
            log.warning("fake Discord: interaction %s answered after %ss", rec.id, deadline)
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
