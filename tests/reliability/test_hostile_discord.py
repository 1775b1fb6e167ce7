"""Hostile questions through /ask and mentions: a sensible reply within Discord's limits that
pings nobody and never shows the user's markdown or mentions as formatting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from fakecord import FakeDiscord
from tests.reliability.helpers import (
    EPHEMERAL,
    TIMEOUT,
    answer_text,
    bot_on_fake,
    mention,
    pings_nobody,
    rendered_text,
    replies_to,
    within_discord_limits,
)
from tests.reliability.hostile import CASES, Hostile, shows_unescaped

pytestmark = pytest.mark.asyncio(loop_scope="module")

# Footers are never formatted, but mention syntax echoed there still reads as a ping.
_NEVER_IN_FOOTERS = ("@everyone", "@here", "<@", "\x00")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hostile_bot(retriever) -> AsyncIterator[tuple[FakeDiscord, Any]]:
    """One bot for the whole table; limits raised so the table itself is never rate-limited."""
    async with bot_on_fake(
        retriever, cooldown_questions=1000, channel_cooldown_questions=1000
    ) as pair:
        yield pair


def _fill(fake: FakeDiscord, text: str) -> str:
    return text.replace("{role}", str(fake.guild["id"])).replace("{user}", fake.other_user["id"])


def _problems(case: Hostile, fake: FakeDiscord, reply: dict[str, Any]) -> list[str]:
    """What is wrong with a reply to a hostile question (empty when it is sensible)."""
    problems = []
    if not within_discord_limits(reply):
        problems.append("over a Discord limit")
    if not pings_nobody(reply):
        problems.append(f"may ping: allowed_mentions={reply.get('allowed_mentions')}")
    if case.expect == "answer" and not reply.get("embeds"):
        problems.append(f"expected an answer, got {reply.get('content')!r}")
    if case.expect == "refusal" and (reply.get("embeds") or not reply.get("content")):
        problems.append("expected a short refusal saying what to ask")
    if case.gold and case.gold not in answer_text(reply):
        problems.append(f"the answer does not quote {case.gold!r}")
    shown = rendered_text(reply)
    for fragment in case.hidden:
        if shows_unescaped(shown, _fill(fake, fragment)):
            problems.append(f"shows {fragment!r} unescaped")
    for embed in reply.get("embeds") or []:
        footer = (embed.get("footer") or {}).get("text") or ""
        problems += [f"footer shows {f!r}" for f in _NEVER_IN_FOOTERS if f in footer]
    return problems


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
async def test_hostile_question_by_mention(hostile_bot, case: Hostile):
    """`@Quotebot <hostile text>` gets exactly one sensible, harmless reply."""
    fake, _ = hostile_bot
    message = await fake.send_user_message(content=mention(fake, _fill(fake, case.text)))
    reply = await fake.wait_for_reply_to(message["id"], timeout=TIMEOUT)
    assert _problems(case, fake, reply) == []
    assert len(replies_to(fake, message["id"])) == 1


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.slash_text is not None], ids=lambda case: case.id
)
async def test_hostile_question_by_slash_command(hostile_bot, case: Hostile):
    """`/ask question:<hostile text>` gets one sensible, harmless reply; refusals are private."""
    fake, _ = hostile_bot
    assert case.slash_text is not None
    sent = await fake.invoke_slash("ask", {"question": _fill(fake, case.slash_text)})
    reply = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
    assert _problems(case, fake, reply) == []
    if case.expect == "refusal":
        assert reply["flags"] & EPHEMERAL
    record = fake.interaction(sent["id"])
    assert record.followup_ids == []  # one reply, not a reply plus extra messages


async def test_hostile_source_option_is_not_echoed_as_formatting(hostile_bot):
    """An unknown `source:` full of markdown and pings is refused privately, shown escaped, pinging nobody."""
    fake, _ = hostile_bot
    source = "**@everyone** [x](https://evil.example) <@&{role}>"
    sent = await fake.invoke_slash("ask", {"question": "Why?", "source": _fill(fake, source)})
    reply = await fake.wait_for_interaction_reply(sent["id"], timeout=TIMEOUT)
    assert reply["flags"] & EPHEMERAL and pings_nobody(reply)
    shown = rendered_text(reply)
    for fragment in ("**@everyone**", "@everyone", "[x](https://evil", "<@&"):
        assert not shows_unescaped(shown, _fill(fake, fragment)), shown
