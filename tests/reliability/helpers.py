"""Shared set-up for the reliability tests: a real Quotebot on the fake Discord, and checks on
what it sends back (limits, pings, the quoted answer)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from bot.bot import Quotebot
from fakecord import FakeDiscord, running_bot
from index.ingest.text import normalise_for_match
from index.retriever import Retriever
from tests.bot.conftest import make_bot_settings

log = logging.getLogger(__name__)

# Generous: two busy cores, a real model. Waits end as soon as the awaited thing happens.
TIMEOUT = 60.0
EPHEMERAL = 1 << 6

# Questions the retriever answers with a known paragraph (see tests/bot/test_e2e.py).
DRONES = ("Which country supplies Russia with drones?", "banking on iran")
WAR = ("Why did Putin start the war?", "the reasons why he started the war")
TRADE = (
    "Does Russia still trade with non-European countries?",
    "trade with other non-european countries does continue",
)


@asynccontextmanager
async def bot_on_fake(
    retriever: Retriever,
    *,
    fake_options: dict[str, Any] | None = None,
    prepare: Callable[[FakeDiscord], None] | None = None,
    **bot_options: Any,
) -> AsyncIterator[tuple[FakeDiscord, Quotebot]]:
    """A fake Discord (shaped by `prepare` before the bot connects) and a Quotebot logged in."""
    async with FakeDiscord(**(fake_options or {})) as fake:
        if prepare is not None:
            prepare(fake)
        quotebot = Quotebot(make_bot_settings(retriever, **bot_options), retriever)
        async with running_bot(quotebot, fake.token, ready_timeout=TIMEOUT):
            await fake.wait_for_commands(["ask"], timeout=TIMEOUT)
            yield fake, quotebot


def mention(fake: FakeDiscord, text: str) -> str:
    """`text` addressed to the bot with a mention."""
    return f"<@{fake.bot_user['id']}> {text}"


def rendered_text(message: dict[str, Any]) -> str:
    """Everything of a message Discord formats as markdown: content, titles, descriptions, fields."""
    parts = [message.get("content") or ""]
    for embed in message.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        for field in embed.get("fields") or []:
            parts += [field.get("name") or "", field.get("value") or ""]
    return "\n".join(parts)


def answer_text(message: dict[str, Any]) -> str:
    """The words of an answer with markdown and escapes taken off, for finding a gold phrase."""
    text = rendered_text(message).replace("**", "").replace("\\", "").replace("> ", "")
    return normalise_for_match(text)


def assert_quotes(message: dict[str, Any], gold: str) -> None:
    """The reply is an answer quoting the paragraph that holds `gold`."""
    assert message.get("embeds"), f"expected an answer, got {message.get('content')!r}"
    assert gold in answer_text(message), rendered_text(message)[:500]


def pings_nobody(message: dict[str, Any]) -> bool:
    """The bot told Discord to ping no one: no parse types, no replied user."""
    allowed = message.get("allowed_mentions")
    return allowed is not None and allowed.get("parse") == [] and not allowed.get("replied_user")


def within_discord_limits(message: dict[str, Any]) -> bool:
    """Content, embed parts and the embed total within Discord's documented limits."""
    if len(message.get("content") or "") > 2000 or len(message.get("embeds") or []) > 10:
        return False
    total = 0
    for embed in message.get("embeds") or []:
        fields = embed.get("fields") or []
        footer = (embed.get("footer") or {}).get("text") or ""
        if (
            len(embed.get("title") or "") > 256
            or len(embed.get("description") or "") > 4096
            or len(fields) > 25
            or len(footer) > 2048
            or any(len(f["name"]) > 256 or len(f["value"]) > 1024 for f in fields)
        ):
            return False
        total += len(embed.get("title") or "") + len(embed.get("description") or "")
        total += sum(len(f["name"]) + len(f["value"]) for f in fields) + len(footer)
    return total <= 6000


def replies_to(fake: FakeDiscord, message_id: str) -> list[dict[str, Any]]:
    """Every message the bot sent as a reply to `message_id`."""
    return [
        m
        for m in fake.sent_messages(include_interactions=False)
        if (m.get("message_reference") or {}).get("message_id") == message_id
    ]


async def ask_by_mention(fake: FakeDiscord, question: str, **kwargs: Any) -> dict[str, Any]:
    """Post `@Quotebot question` and return the bot's reply to it."""
    message = await fake.send_user_message(content=mention(fake, question), **kwargs)
    return await fake.wait_for_reply_to(message["id"], timeout=TIMEOUT)
