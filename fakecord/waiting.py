"""Waiting for the bot (mixed into ``FakeDiscord``): every wait ends as soon as what it waits
for happened, re-checked on every change of the fake's state."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .records import (
    FakeDiscordError,
    FakeDiscordTimeoutError,
    GatewayFrame,
    InteractionRecord,
    RecordedRequest,
)
from .spec_check import spec_report
from .wire import IdLike, to_id

if TYPE_CHECKING:
    from .server import FakeDiscord


T = TypeVar("T")


class Waiting:
    """Waits on the fake's state: :meth:`wait_until` and the ``wait_for_*`` helpers."""

    def notify_changed(self: FakeDiscord) -> None:
        """Wake up every ``wait_for_*`` call (state changed)."""
        if self._changed_event is not None:
            self._changed_event.set()
            self._changed_event = asyncio.Event()

    async def wait_until(
        self: FakeDiscord, check: Callable[[], T | None], *, timeout: float, what: str
    ) -> T:
        """Return ``check()`` as soon as it is truthy; re-evaluated on every state change.

        Raises :class:`FakeDiscordTimeoutError` (mentioning ``what`` and the last requests)
        after ``timeout`` seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._changed_event or asyncio.Event()
            result = check()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = "\n  ".join(repr(r) for r in self.requests[-10:]) or "(none)"
                message = (
                    f"timed out after {timeout}s waiting for {what}; last requests:\n  {recent}"
                )
                if self.spec_violations:  # a refused request is the likely reason
                    message += "\n" + spec_report(self.spec_violations)
                raise FakeDiscordTimeoutError(message)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=min(remaining, 0.5))

    async def wait_for_request(
        self: FakeDiscord,
        predicate: Callable[[RecordedRequest], bool],
        *,
        timeout: float = 5.0,
        include_past: bool = True,
    ) -> RecordedRequest:
        """Wait for an answered request matching ``predicate`` (already recorded ones count
        unless ``include_past=False``)."""
        start = 0 if include_past else len(self.requests)

        def check() -> RecordedRequest | None:
            return next((r for r in self.requests[start:] if r.done and predicate(r)), None)

        return await self.wait_until(check, timeout=timeout, what="a matching request")

    async def wait_for_message(
        self: FakeDiscord,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        *,
        channel_id: IdLike | None = None,
        from_bot: bool = True,
        timeout: float = 5.0,
    ) -> dict[str, Any]:
        """Wait for a (bot-authored, by default) message matching ``predicate``; returns its
        latest state."""
        cid = to_id(channel_id)

        def check() -> dict[str, Any] | None:
            for msg in self.world.messages.values():
                if from_bot and msg["author"]["id"] != self.world.bot_id:
                    continue
                if cid is not None and msg["channel_id"] != cid:
                    continue
                if predicate is None or predicate(msg):
                    return copy.deepcopy(msg)
            return None

        return await self.wait_until(check, timeout=timeout, what="a matching message")

    async def wait_for_reply_to(
        self: FakeDiscord, message: IdLike, *, timeout: float = 5.0
    ) -> dict[str, Any]:
        """Wait for the bot's reply (``message_reference``) to ``message``."""
        mid = to_id(message)
        return await self.wait_for_message(
            lambda m: (m.get("message_reference") or {}).get("message_id") == mid, timeout=timeout
        )

    async def wait_for_interaction_callback(
        self, interaction: IdLike, *, timeout: float = 5.0
    ) -> InteractionRecord:
        """Wait until the bot called ``/interactions/{id}/{token}/callback``."""
        record = self.interaction(interaction)
        return await self.wait_until(
            lambda: record if record.callback is not None else None,
            timeout=timeout,
            what=f"the callback of interaction {record.id}",
        )

    async def wait_for_interaction_reply(
        self, interaction: IdLike, *, timeout: float = 10.0
    ) -> dict[str, Any]:
        """Wait for the bot's visible answer to an interaction and return that message.

        Type 4/7 callbacks answer at once; after a defer (5/6) this waits for the edit of
        ``@original`` (or the first follow-up, which Discord turns into that edit). The dict
        is the message's latest state, plus ``allowed_mentions`` as last sent.
        """
        record = self.interaction(interaction)

        def check() -> dict[str, Any] | None:
            answered = record.callback_type in (4, 7) or (
                record.callback_type in (5, 6) and record.original_edited
            )
            if answered and record.original_message_id is not None:
                return copy.deepcopy(self.world.messages[record.original_message_id])
            return None

        return await self.wait_until(
            check, timeout=timeout, what=f"the reply to interaction {record.id}"
        )

    async def wait_for_followup(
        self, interaction: IdLike, *, index: int = 0, timeout: float = 10.0
    ) -> dict[str, Any]:
        """Wait for follow-up message number ``index`` (a new message, not the follow-up
        that replaced a deferred response)."""
        record = self.interaction(interaction)

        def check() -> dict[str, Any] | None:
            if len(record.followup_ids) > index:
                return copy.deepcopy(self.world.messages[record.followup_ids[index]])
            return None

        return await self.wait_until(
            check, timeout=timeout, what=f"follow-up #{index} of interaction {record.id}"
        )

    async def wait_for_autocomplete(
        self, interaction: IdLike, *, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Wait for the autocomplete result (type 8) and return its ``choices``."""
        record = await self.wait_for_interaction_callback(interaction, timeout=timeout)
        if record.callback_type != 8:
            raise FakeDiscordError(f"expected an autocomplete result, got {record.callback}")
        return list((record.callback or {}).get("data", {}).get("choices", []))

    async def wait_for_gateway(
        self, predicate: Callable[[GatewayFrame], bool], *, timeout: float = 5.0
    ) -> GatewayFrame:
        """Wait for a gateway frame (sent or received) matching ``predicate``."""
        frames = self.gateway.frames
        return await self.wait_until(
            lambda: next((f for f in frames if predicate(f)), None),
            timeout=timeout,
            what="a matching gateway frame",
        )

    async def wait_for_identify(
        self: FakeDiscord, count: int = 1, *, timeout: float = 5.0
    ) -> dict[str, Any]:
        """Wait until ``count`` IDENTIFYs succeeded (READY was sent); returns the last one."""
        return await self.wait_until(
            lambda: (
                self.gateway.identifies[count - 1]
                if len(self.gateway.identifies) >= count
                else None
            ),
            timeout=timeout,
            what=f"{count} IDENTIFY(s)",
        )

    async def wait_for_resume(
        self: FakeDiscord, count: int = 1, *, timeout: float = 5.0
    ) -> dict[str, Any]:
        """Wait until ``count`` RESUMEs succeeded; returns the last resume record
        (``session_id``, ``seq``, ``result``, ``replayed``)."""

        def check() -> dict[str, Any] | None:
            ok = [r for r in self.gateway.resumes if r.get("result") == "resumed"]
            return ok[count - 1] if len(ok) >= count else None

        return await self.wait_until(check, timeout=timeout, what=f"{count} successful RESUME(s)")

    async def wait_for_commands(
        self, names: list[str], *, guild_id: IdLike | None = None, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Wait until commands ``names`` are synced (globally or to ``guild_id``)."""

        def check() -> list[dict[str, Any]] | None:
            commands = self.world.commands_for(guild_id)
            have = {c["name"] for c in commands}
            return copy.deepcopy(commands) if set(names) <= have else None

        return await self.wait_until(check, timeout=timeout, what=f"commands {names} to be synced")
