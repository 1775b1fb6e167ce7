"""Proof that the real discord.py client works end to end against the fake Discord server.

A throwaway ``commands.Bot`` (not the product bot) logs in over HTTP, connects to the fake
gateway (zlib-stream), syncs a slash command and a message context menu, answers them,
replies to mentions, and survives the failures the fake can inject.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import discord
import pytest
import pytest_asyncio
from discord import app_commands
from discord.ext import commands

from fakecord import (
    CommandNotSyncedError,
    FakeDiscord,
    FakeDiscordError,
    Intent,
    running_bot,
)

logger = logging.getLogger(__name__)

TIMEOUT = 5.0


class EchoBot(commands.Bot):
    """Minimal bot: ``/echo`` (defer + embed follow-up), a "Quote this" message command, and
    a reply to every message that mentions it. Every message it sees lands in ``seen``."""

    def __init__(self, *, message_content: bool = True) -> None:
        intents = discord.Intents.default()
        intents.message_content = message_content
        super().__init__(
            command_prefix="!", intents=intents, help_command=None, guild_ready_timeout=0.05
        )
        self.seen: list[discord.Message] = []
        self.seen_event = asyncio.Event()

        @self.tree.command(name="echo", description="Echo the text back in an embed")
        @app_commands.describe(text="What to echo")
        async def echo(interaction: discord.Interaction, text: str) -> None:
            await interaction.response.defer(thinking=True)
            embed = discord.Embed(title="Echo", description=text)
            await interaction.followup.send(
                embed=embed, allowed_mentions=discord.AllowedMentions.none()
            )

        @self.tree.context_menu(name="Quote this")
        async def quote_this(interaction: discord.Interaction, message: discord.Message) -> None:
            await interaction.response.send_message(f"> {message.content}", ephemeral=True)

    async def setup_hook(self) -> None:
        """Sync the command tree globally, like a real bot at start-up."""
        await self.tree.sync()

    async def on_message(self, message: discord.Message) -> None:
        """Record the message; reply to mentions without pinging the author back."""
        self.seen.append(message)
        self.seen_event.set()
        if message.author.bot or self.user is None:
            return
        if self.user in message.mentions:
            await message.reply(f"pong: {message.content}", mention_author=False)

    async def wait_seen(self, count: int, timeout: float = TIMEOUT) -> list[discord.Message]:
        """Wait until the bot has seen ``count`` messages."""
        async with asyncio.timeout(timeout):
            while len(self.seen) < count:
                self.seen_event.clear()
                await self.seen_event.wait()
        return self.seen


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    """A started fake Discord with discord.py pointed at it."""
    async with FakeDiscord() as server:
        yield server


@pytest_asyncio.fixture
async def bot(fake: FakeDiscord) -> AsyncIterator[EchoBot]:
    """The echo bot, logged in and ready against ``fake``."""
    async with running_bot(EchoBot(), fake.token, ready_timeout=TIMEOUT) as running:
        yield running


async def test_bot_logs_in_and_sees_the_guild(fake: FakeDiscord, bot: EchoBot) -> None:
    """The bot comes online in the test guild with its channels and its commands registered."""
    assert bot.user is not None and str(bot.user.id) == fake.bot_user["id"]
    guild = bot.get_guild(int(fake.guild["id"]))
    assert guild is not None and guild.name == "Test Guild"
    assert {c.name for c in guild.text_channels} == {"general", "random"}
    assert guild.me is not None
    identify = fake.gateway.identifies[0]
    assert identify["intents"] & Intent.MESSAGE_CONTENT
    # zlib-stream, or zstd-stream when the zstandard module is importable.
    assert fake.gateway.connections[0].info.query["compress"] in ("zlib-stream", "zstd-stream")
    commands_synced = {(c["name"], c["type"]) for c in fake.synced_commands()}
    assert commands_synced == {("echo", 1), ("Quote this", 3)}


async def test_discord_urls_restored_after_stop() -> None:
    """After the fake stops, discord.py points at the real Discord again."""
    original = discord.http.Route.BASE
    async with FakeDiscord() as server:
        assert server.api_base == discord.http.Route.BASE
    assert original == discord.http.Route.BASE
    assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY).startswith("wss://gateway")


async def test_slash_command_defers_then_answers_with_embed(
    fake: FakeDiscord, bot: EchoBot
) -> None:
    """/echo shows "thinking…" and then an embed with the text, pinging nobody."""
    sent = await fake.invoke_slash("echo", {"text": "hello <@123>"})
    reply = await fake.wait_for_interaction_reply(sent, timeout=TIMEOUT)
    record = fake.interaction(sent)
    assert record.callback_type == 5
    assert reply["embeds"][0]["title"] == "Echo"
    assert reply["embeds"][0]["description"] == "hello <@123>"
    assert reply["allowed_mentions"] == {"parse": []}
    assert reply["flags"] == 0
    assert reply["interaction_metadata"]["name"] == "echo"
    routes = [r.route for r in fake.interaction_responses(sent)]
    assert routes == [
        "/interactions/{interaction_id}/{token}/callback",
        "/webhooks/{application_id}/{token}",
    ]


async def test_message_context_menu_quotes_ephemerally(fake: FakeDiscord, bot: EchoBot) -> None:
    """Right-click > Apps > "Quote this" answers only to the clicking user with the quote."""
    original = await fake.send_user_message(content="a line worth quoting")
    sent = await fake.invoke_message_command("Quote this", original)
    reply = await fake.wait_for_interaction_reply(sent, timeout=TIMEOUT)
    assert reply["content"] == "> a line worth quoting"
    assert reply["flags"] & discord.MessageFlags(ephemeral=True).value


async def test_mention_gets_a_reply(fake: FakeDiscord, bot: EchoBot) -> None:
    """Mentioning the bot gets a threaded reply that does not ping the user back."""
    msg = await fake.send_user_message(content=f"<@{fake.bot_user['id']}> ping")
    reply = await fake.wait_for_reply_to(msg, timeout=TIMEOUT)
    assert reply["message_reference"]["message_id"] == msg["id"]
    assert reply["type"] == 19
    assert reply["content"] == f"pong: <@{fake.bot_user['id']}> ping"
    assert reply["allowed_mentions"]["replied_user"] is False
    assert fake.user["id"] not in {u["id"] for u in reply["mentions"]}


async def test_unsynced_command_is_refused(fake: FakeDiscord, bot: EchoBot) -> None:
    """A command the bot never registered cannot be invoked at all."""
    with pytest.raises(CommandNotSyncedError, match="'nope'"):
        await fake.invoke_slash("nope")
    with pytest.raises(FakeDiscordError, match="required option 'text'"):
        await fake.invoke_slash("echo", {})
    assert fake.interactions == {}


async def test_content_blank_without_message_content_intent(fake: FakeDiscord) -> None:
    """Without the message-content intent the bot sees only mentions and DMs, not chatter."""
    async with running_bot(EchoBot(message_content=False), fake.token) as bot:
        await fake.send_user_message(content="just chatting")
        mention = await fake.send_user_message(content=f"<@{fake.bot_user['id']}> hi")
        await fake.send_dm(content="private words")
        await fake.wait_for_reply_to(mention, timeout=TIMEOUT)
        seen = [m for m in await bot.wait_seen(4) if not m.author.bot]
        by_channel = [(m.guild is not None, m.content) for m in seen[:3]]
    assert by_channel == [
        (True, ""),
        (True, f"<@{fake.bot_user['id']}> hi"),
        (False, "private words"),
    ]


async def test_bad_token_fails_login(fake: FakeDiscord) -> None:
    """A wrong token stops the bot at login with discord.LoginFailure."""
    with pytest.raises(discord.LoginFailure):
        async with running_bot(EchoBot(), "not-the-token", ready_timeout=TIMEOUT):
            pass
    assert fake.requests[0].path == "/users/@me" and fake.requests[0].status == 401
    assert fake.gateway.connections == []


async def test_privileged_intent_not_enabled() -> None:
    """If message content is not enabled in the portal, start-up fails with a clear error."""
    async with FakeDiscord(privileged_intents_enabled=False) as server:
        with pytest.raises(discord.PrivilegedIntentsRequired):
            async with running_bot(EchoBot(), server.token, ready_timeout=TIMEOUT):
                pass
        assert server.gateway.connections[0].info.close_code == 4014


async def test_resumes_after_gateway_close(fake: FakeDiscord, bot: EchoBot) -> None:
    """After Discord drops the connection (4000) the bot resumes and misses nothing."""
    await fake.close_gateway(4000)
    missed = await fake.send_user_message(content=f"<@{fake.bot_user['id']}> still there?")
    resume = await fake.wait_for_resume(timeout=TIMEOUT)
    assert resume["session_id"] == fake.gateway.connections[0].info.session_id
    assert fake.gateway.connections[-1].info.path == "/resume"
    assert len(fake.gateway.identifies) == 1
    reply = await fake.wait_for_reply_to(missed, timeout=TIMEOUT)
    assert reply["content"].startswith("pong:")
    after = await fake.send_user_message(content=f"<@{fake.bot_user['id']}> and now?")
    await fake.wait_for_reply_to(after, timeout=TIMEOUT)


async def test_rate_limited_send_is_retried_once(fake: FakeDiscord, bot: EchoBot) -> None:
    """A 429 on sending delays the reply a little but it is delivered exactly once."""
    fault = fake.rate_limit("POST", "/channels/{channel_id}/messages", retry_after=0.2)
    msg = await fake.send_user_message(content=f"<@{fake.bot_user['id']}> hi")
    await fake.wait_for_reply_to(msg, timeout=TIMEOUT)
    posts = fake.requests_to("POST", "/channels/*/messages")
    assert [r.status for r in posts] == [429, 200]
    assert posts[1].monotonic - posts[0].monotonic >= 0.19
    assert fault.hits == 1
    assert len(fake.sent_messages(fake.channel["id"], include_interactions=False)) == 1
