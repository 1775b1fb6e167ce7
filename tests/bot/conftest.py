"""A real Quotebot connected to the loopback fake Discord, over the shared real retriever."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url

from bot.bot import Quotebot
from bot.settings import BotSettings, Settings
from fakecord import FakeDiscord, running_bot
from index.retriever import Retriever

TIMEOUT = 30.0
# Every test bot's database lives under this folder, removed when the test run ends.
_DATABASES = tempfile.TemporaryDirectory(prefix="quotebot-test-databases-")


def make_bot_settings(retriever: Retriever, **bot: Any) -> Settings:
    """Settings for a test bot: fast guild start-up, a fresh database, the shared index."""
    folder = tempfile.mkdtemp(dir=_DATABASES.name)
    bot.setdefault("database_url", f"sqlite+aiosqlite:///{folder}/quotebot.db")
    return Settings(
        discord_token="fake-bot-token",
        bot=BotSettings(guild_ready_timeout=0.05, **bot),
        index=retriever.settings,
    )


@asynccontextmanager
async def connected(
    retriever: Retriever, fake_options: dict[str, Any] | None = None, **bot: Any
) -> AsyncIterator[tuple[FakeDiscord, Quotebot]]:
    """A fake Discord and a Quotebot logged in to it; both closed on exit."""
    dev_guild = bot.pop("dev_guild_id", None)
    async with FakeDiscord(**(fake_options or {})) as fake:
        settings = make_bot_settings(retriever, **bot)
        if dev_guild == "default":
            settings.dev_guild_id = int(fake.guild["id"])
        quotebot = Quotebot(settings, retriever)
        async with running_bot(quotebot, fake.token, ready_timeout=15):
            await fake.wait_for_commands(["ask"], guild_id=settings.dev_guild_id, timeout=TIMEOUT)
            yield fake, quotebot


@asynccontextmanager
async def database_locked(quotebot: Quotebot) -> AsyncIterator[None]:
    """Another process holds the bot's SQLite file locked: the bot's reads wait in SQLite's busy
    handler (10 s) until the block ends."""
    # The bot's idle pooled connections would keep the holder from locking the file; closed, as
    # after a restart, the bot's next read opens a connection that waits for the lock.
    await quotebot.database.engine.dispose()
    holder = sqlite3.connect(
        str(make_url(quotebot.settings.bot.database_url).database), isolation_level=None
    )
    try:
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        holder.close()


@pytest.fixture
def bot_factory(retriever: Retriever) -> Callable[..., Any]:
    """`async with bot_factory(**bot_options) as (fake, bot):` for tests that need options."""
    return lambda fake_options=None, **bot: connected(retriever, fake_options, **bot)


@pytest_asyncio.fixture
async def discord_bot(retriever: Retriever) -> AsyncIterator[tuple[FakeDiscord, Quotebot]]:
    """The default set-up: commands synced globally, message content intent on."""
    async with connected(retriever) as pair:
        yield pair
