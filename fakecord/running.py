"""Running a discord.py client against the fake: :func:`running_bot` starts it and waits for
READY; :func:`point_discord_at` points discord.py's URLs at a server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

from bot import endpoints

from .records import (
    FakeDiscordError,
    FakeDiscordTimeoutError,
)


@contextlib.contextmanager
def point_discord_at(api_base: str, gateway_url: str) -> Iterator[None]:
    """Point discord.py's REST base URL and default gateway elsewhere; restore on exit.

    Sets ``discord.http.Route.BASE`` (read whenever a ``Route`` is built, also by interaction
    webhooks) and ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` (discord.py 2.x
    connects there and appends ``?v=10&encoding=json&compress=zlib-stream``).
    """
    old_base, old_gateway = endpoints.point_discord_at(api_base, gateway_url)
    try:
        yield
    finally:
        endpoints.point_discord_at(old_base, old_gateway)


async def _wait_ready(bot: Any, task: asyncio.Task[Any], timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not bot.is_ready():
        if task.done():
            task.result()
            raise FakeDiscordError("bot.start() returned before the bot became ready")
        if loop.time() > deadline:
            raise FakeDiscordTimeoutError(f"bot not ready after {timeout}s")
        await asyncio.sleep(0.01)


async def _shut_down(bot: Any, task: asyncio.Task[Any], timeout: float) -> None:
    if not bot.is_closed():
        await asyncio.wait_for(bot.close(), timeout=timeout)
    if not task.done():
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=timeout)
        except TimeoutError:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


@contextlib.asynccontextmanager
async def running_bot(
    bot: Any, token: str, *, ready_timeout: float = 10.0, close_timeout: float = 10.0
) -> AsyncIterator[Any]:
    """Run ``bot.start(token)`` in a task, wait until it is ready, yield it, then close it.

    Works for any ``discord.Client`` (``commands.Bot`` included). If ``start`` fails before
    READY (e.g. ``discord.LoginFailure``, ``discord.PrivilegedIntentsRequired``) that
    exception is raised here, after the bot was closed. On a normal exit the bot is closed,
    its task awaited, and an exception the task died with while the body ran is re-raised.
    """
    task = asyncio.create_task(bot.start(token), name="fake-discord-bot")
    try:
        await _wait_ready(bot, task, ready_timeout)
        yield bot
    finally:
        await _shut_down(bot, task, close_timeout)
    if task.done() and not task.cancelled() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]
