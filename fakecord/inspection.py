"""Reading what the bot did (mixed into ``FakeDiscord``): messages it sent, requests it made,
interaction responses, synced commands, uploaded files."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .records import (
    FakeDiscordError,
    Fault,
    InteractionRecord,
    PathMatcher,
    RecordedRequest,
)
from .wire import IdLike, to_id

if TYPE_CHECKING:
    from .server import FakeDiscord


class Inspection:
    """Queries over the fake's records."""

    def interaction(self: FakeDiscord, interaction: IdLike) -> InteractionRecord:
        """The :class:`InteractionRecord` of an interaction (payload dict or id)."""
        iid = to_id(interaction)
        if iid not in self.interactions:
            raise FakeDiscordError(f"unknown interaction {iid}")
        return self.interactions[iid or ""]

    def sent_messages(
        self: FakeDiscord,
        channel_id: IdLike | None = None,
        *,
        include_interactions: bool = True,
        include_deleted: bool = False,
    ) -> list[dict[str, Any]]:
        """Messages authored by the bot (latest state, creation order), optionally only in
        ``channel_id``; interaction responses/follow-ups are included unless
        ``include_interactions=False``."""
        cid = to_id(channel_id)
        out = []
        for mid, msg in self.world.messages.items():
            if msg["author"]["id"] != self.world.bot_id:
                continue
            if cid is not None and msg["channel_id"] != cid:
                continue
            if not include_deleted and mid in self.world.deleted_messages:
                continue
            if not include_interactions and "interaction_metadata" in msg:
                continue
            out.append(copy.deepcopy(msg))
        return out

    def message(self: FakeDiscord, message: IdLike) -> dict[str, Any]:
        """Latest state of a message (a copy)."""
        mid = to_id(message)
        if mid not in self.world.messages:
            raise FakeDiscordError(f"unknown message {mid}")
        return copy.deepcopy(self.world.messages[mid or ""])

    def message_history(self: FakeDiscord, message: IdLike) -> list[dict[str, Any]]:
        """Every state the message had (creation, then each edit)."""
        return copy.deepcopy(self.world.message_versions.get(to_id(message) or "", []))

    def attachment_bytes(self: FakeDiscord, attachment: IdLike) -> bytes:
        """The uploaded bytes of an attachment (dict from a message, or id)."""
        return self.world.attachment_data[to_id(attachment) or ""]

    def synced_commands(self: FakeDiscord, guild_id: IdLike | None = None) -> list[dict[str, Any]]:
        """The commands synced globally (default) or to ``guild_id``."""
        return copy.deepcopy(self.world.commands_for(guild_id))

    def requests_to(
        self, method: str | None = None, path: PathMatcher | None = None
    ) -> list[RecordedRequest]:
        """Recorded requests filtered by method and path (glob, template, regex, predicate)."""
        probe = Fault(method=method, path=path if path is not None else "*")
        return [r for r in self.requests if probe.matches(r)]

    def interaction_responses(
        self: FakeDiscord, interaction: IdLike | None = None
    ) -> list[RecordedRequest]:
        """Requests answering interactions: callbacks and webhook calls (follow-ups, edits of
        ``@original``...), optionally for one interaction only."""
        token = None
        if interaction is not None:
            token = self.interaction(interaction).token
        out = []
        for r in self.requests:
            if r.route is None or not r.route.startswith(("/interactions/", "/webhooks/")):
                continue
            if token is not None and r.params.get("token") != token:
                continue
            out.append(r)
        return out
