"""A real Quotebot connected to the loopback fake Discord, over the shared real retriever."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import pytest_asyncio

from bot.bot import Quotebot
from bot.settings import BotSettings, Settings
from fakecord import FakeDiscord, running_bot
from index.retriever import Retriever

TIMEOUT = 30.0


def make_bot_settings(retriever: Retriever, **bot: Any) -> Settings:
    """Settings for a test bot: fast guild start-up, a fresh database, the shared index."""
    bot.setdefault("database_url", f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/quotebot.db")
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


@pytest.fixture
def bot_factory(retriever: Retriever) -> Callable[..., Any]:
    """`async with bot_factory(**bot_options) as (fake, bot):` for tests that need options."""
    return lambda fake_options=None, **bot: connected(retriever, fake_options, **bot)


@pytest_asyncio.fixture
async def discord_bot(retriever: Retriever) -> AsyncIterator[tuple[FakeDiscord, Quotebot]]:
    """The default set-up: commands synced globally, message content intent on."""
    async with connected(retriever) as pair:
        yield pair
