"""Fault injection (mixed into ``FakeDiscord``): scripted REST errors and rate limits, expired
interactions, gateway closes, reconnects, invalid sessions, missing heartbeat ACKs."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import gateway as gw
from .records import (
    Fault,
    PathMatcher,
)
from .wire import IdLike

if TYPE_CHECKING:
    from .server import FakeDiscord


RATE_LIMITED_MESSAGE = "You are being rate limited."


class FaultInjection:
    """Makes the fake misbehave the ways Discord does."""

    def add_fault(
        self: FakeDiscord,
        method: str | None,
        path: PathMatcher,
        *,
        status: int | None = 500,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
        delay: float = 0.0,
        after_handler: bool = False,
    ) -> Fault:
        """Make the next ``times`` requests matching ``method``/``path`` fail (see
        :class:`~fakecord.records.Fault`). Returns the fault (``.hits`` counts uses)."""
        fault = Fault(
            method=method.upper() if method else None,
            path=path,
            status=status,
            body=body,
            headers=dict(headers or {}),
            times=times,
            delay=delay,
            after_handler=after_handler,
        )
        self.faults.append(fault)
        return fault

    def rate_limit(
        self: FakeDiscord,
        method: str | None,
        path: PathMatcher,
        *,
        retry_after: float = 0.1,
        times: int = 1,
        is_global: bool = False,
    ) -> Fault:
        """Answer the next ``times`` matching requests with a Discord 429 (JSON body with
        ``retry_after``/``global`` and the ``Retry-After``, ``X-RateLimit-*`` and ``Via``
        headers discord.py needs to treat it as a real rate limit and retry)."""
        headers = {
            "Retry-After": str(max(1, int(retry_after + 0.999))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Bucket": "fakebucket",
            "X-RateLimit-Scope": "global" if is_global else "user",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        body = {"message": RATE_LIMITED_MESSAGE, "retry_after": retry_after, "global": is_global}
        return self.add_fault(method, path, status=429, body=body, headers=headers, times=times)

    def fail(
        self: FakeDiscord,
        method: str | None,
        path: PathMatcher,
        status: int = 500,
        *,
        times: int = 1,
        **kwargs: Any,
    ) -> Fault:
        """Shortcut for :meth:`add_fault` with a status (500/502/503 retry in discord.py)."""
        return self.add_fault(method, path, status=status, times=times, **kwargs)

    def expire_interaction(self: FakeDiscord, interaction: IdLike) -> None:
        """Invalidate an interaction token: callbacks get 404 ``Unknown interaction``
        (10062), webhook calls 404 ``Unknown Webhook`` (10015)."""
        self.interaction(interaction).expired = True

    def clear_faults(self: FakeDiscord) -> None:
        """Remove all REST faults."""
        self.faults.clear()

    async def close_gateway(self: FakeDiscord, code: int = 4000, reason: str = "") -> int:
        """Close the bot's websocket(s) with ``code`` (4000 resumable; 4004 auth failed, 4014
        disallowed intents... end the session). Returns how many sockets were closed."""
        return await self.gateway.close_all(code, reason)

    def drop_gateway(self: FakeDiscord) -> int:
        """Abort the bot's TCP connection(s) without a close frame (network failure)."""
        conns = self.gateway.open_connections
        for conn in conns:
            conn.abort()
        return len(conns)

    async def send_reconnect(self: FakeDiscord) -> int:
        """Send op 7 RECONNECT (the bot should reconnect and RESUME)."""
        return await self.gateway.send_op(gw.RECONNECT, None)

    async def send_invalid_session(self: FakeDiscord, resumable: bool = False) -> int:
        """Send op 9 INVALID_SESSION (``d=resumable``); non-resumable ends the sessions."""
        if not resumable:
            for conn in self.gateway.open_connections:
                if conn.session is not None:
                    conn.session.invalidated = True
        return await self.gateway.send_op(gw.INVALID_SESSION, resumable)

    def set_heartbeat_ack(self: FakeDiscord, enabled: bool) -> None:
        """Stop (``False``) or resume ACKing heartbeats (op 11)."""
        self.gateway.ack_heartbeats = enabled
