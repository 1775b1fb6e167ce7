"""A flood of questions: every one gets exactly one reply, the gateway stays healthy, and
memory stays flat from one flood to the next."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import json
import logging
import os
from collections import Counter
from typing import Any

import discord
import pytest
from sqlalchemy import event

from fakecord import FakeDiscord
from tests.conftest import EVAL
from tests.reliability.helpers import bot_on_fake, mention, within_discord_limits

log = logging.getLogger(__name__)

QUESTIONS_PER_FLOOD = 500
USERS_PER_FLOOD = 50
CHANNELS_PER_FLOOD = 10
FLOOD_SECONDS = 10.0  # the pace: 500 questions in 10 s, or as fast as the fake can send them
REPLY_TIMEOUT = 300.0  # generous: two busy cores answer hundreds of questions
IDLE_CONNECTIONS_TIMEOUT = 60.0  # aiohttp drops an idle connection 15 to 30 s after its last use
# Cooldown windows far longer than any flood: which questions get an answer and which a cooldown
# notice then depends on their order only, not on how fast a busy machine gets through them, so
# both floods leave the same mix behind (answers keep more objects in discord.py's message cache
# than notices) and the growth between them measures leaks, not scheduling.
COOLDOWN_WINDOW_SECONDS = 3600.0
# Flat memory: after the second flood the process may hold no more than this over the first
# (new users and channels cost a few hundred objects; a leak of two objects per question fails).
MAX_RSS_GROWTH_MIB = 16.0
MAX_OBJECT_GROWTH = 2 * QUESTIONS_PER_FLOOD
DISCORD_PY_DISTRESS = ("heartbeat blocked", "Can't keep up", "is ratelimited")


def _questions() -> list[str]:
    lines = (EVAL / "dev-questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["q"] for line in lines if line.strip()]


def _rss_mib() -> float:
    """Resident memory of this process (the bot runs in it), after a full collection."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # hand freed arenas back, so RSS means live memory
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _live_views() -> int:
    """Button views still in memory: none, since answers' buttons live in their custom_ids."""
    gc.collect()
    return sum(issubclass(type(o), discord.ui.View) for o in gc.get_objects())


def _forget_history(fake: FakeDiscord) -> None:
    """Drop what the fake records (messages, requests, frames, replay buffers): test-side
    memory that would otherwise hide the bot's own."""
    fake.world.messages.clear()
    fake.world.message_versions.clear()
    fake.requests.clear()
    fake.gateway.frames.clear()
    for session in fake.gateway.sessions.values():
        session.buffer.clear()


async def _flood(
    fake: FakeDiscord, users: list[dict], channels: list[dict], questions: list[str]
) -> list[str]:
    """Send the flood at the pace of FLOOD_SECONDS (or as fast as the fake can); message ids."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    ids = []
    for i in range(QUESTIONS_PER_FLOOD):
        user = users[i % USERS_PER_FLOOD]
        channel = channels[(i % USERS_PER_FLOOD) % CHANNELS_PER_FLOOD]
        message = await fake.send_user_message(
            channel["id"], user, mention(fake, questions[i % len(questions)])
        )
        ids.append(message["id"])
        ahead = start + (i + 1) * FLOOD_SECONDS / QUESTIONS_PER_FLOOD - loop.time()
        if ahead > 0:
            await asyncio.sleep(ahead)
    return ids


def _replies(fake: FakeDiscord, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The bot's replies to each of `ids` (only those that have one)."""
    wanted = set(ids)
    found: dict[str, list[dict[str, Any]]] = {}
    for message in fake.world.messages.values():
        ref = (message.get("message_reference") or {}).get("message_id")
        if ref in wanted and message["author"]["id"] == fake.bot_user["id"]:
            found.setdefault(ref, []).append(message)
    return found


async def _all_replies(fake: FakeDiscord, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Wait until every one of `ids` has a reply; the replies."""

    def complete() -> dict[str, list[dict[str, Any]]] | None:
        found = _replies(fake, ids)
        return found if len(found) == len(ids) else None

    return await fake.wait_until(complete, timeout=REPLY_TIMEOUT, what="a reply to every question")


def _kind(reply: dict[str, Any]) -> str:
    if reply.get("embeds"):
        return "answer"
    if "try again in" in (reply.get("content") or ""):
        return "cooldown notice"
    return f"unexpected: {reply.get('content')!r}"


@pytest.mark.timeout(900)
async def test_two_floods_of_500_questions(retriever, caplog):
    """Two floods of 500 questions: one reply each, no error, a healthy gateway, flat memory."""
    users: list[dict] = []
    channels: list[dict] = []

    def prepare(fake: FakeDiscord) -> None:
        channels.extend(
            fake.add_text_channel(fake.guild["id"], f"flood-{n}")
            for n in range(2 * CHANNELS_PER_FLOOD)
        )
        users.extend(fake.add_user(f"user{n}") for n in range(2 * USERS_PER_FLOOD))

    questions = _questions()
    figures: dict[str, float] = {}
    kinds: list[Counter[str]] = []
    with caplog.at_level(logging.WARNING):
        async with bot_on_fake(
            retriever,
            fake_options={"heartbeat_interval_ms": 1000},
            prepare=prepare,
            cooldown_seconds=COOLDOWN_WINDOW_SECONDS,
            channel_cooldown_seconds=COOLDOWN_WINDOW_SECONDS,
        ) as (fake, bot):
            connections = len(fake.gateway.connections)
            commits: list[None] = []  # each an fsync on SQLite: what sets the pace of a flood
            event.listen(bot.database.engine.sync_engine, "commit", lambda _: commits.append(None))
            all_ids: list[str] = []
            for round_ in (0, 1):
                heartbeats = fake.gateway.heartbeats
                started = asyncio.get_running_loop().time()
                commits.clear()
                ids = await _flood(
                    fake,
                    users[round_ * USERS_PER_FLOOD : (round_ + 1) * USERS_PER_FLOOD],
                    channels[round_ * CHANNELS_PER_FLOOD : (round_ + 1) * CHANNELS_PER_FLOOD],
                    questions,
                )
                replies = await _all_replies(fake, ids)
                figures[f"replies_to_flood_{round_ + 1}_s"] = round(
                    asyncio.get_running_loop().time() - started, 1
                )
                figures[f"commits_for_flood_{round_ + 1}"] = len(commits)
                assert fake.gateway.heartbeats > heartbeats  # the bot kept heartbeating meanwhile
                kinds.append(Counter(_kind(r[0]) for r in replies.values()))
                assert all(within_discord_limits(r[0]) for r in replies.values())
                all_ids += ids
                await asyncio.sleep(2.0)
                # Hundreds of answers still clickable, and at most the last one's buttons in
                # memory (a reference on its way out), not one view per answer.
                assert _live_views() <= 1
                # Seconds later still exactly one reply each: no retry or replay duplicated one.
                assert {len(r) for r in _replies(fake, ids).values()} == {1}
                # The bot's idle keep-alive connections (some 65 objects each) number its most
                # requests in flight at once: how busy the machine was, not a leak. Sample once
                # the client let them go (aiohttp: 15 s idle), so both floods count none.
                await fake.wait_until(
                    lambda: fake.rest_connections == 0,
                    timeout=IDLE_CONNECTIONS_TIMEOUT,
                    what="the bot to close its idle REST connections",
                )
                _forget_history(fake)
                figures[f"rss_after_flood_{round_ + 1}_mib"] = _rss_mib()
                figures[f"objects_after_flood_{round_ + 1}"] = len(gc.get_objects())
            assert _replies(fake, all_ids) == {}  # and nothing late for either flood
            assert len(fake.gateway.connections) == connections and fake.gateway.resumes == []
            assert not bot.is_closed()
    growth = figures["rss_after_flood_2_mib"] - figures["rss_after_flood_1_mib"]
    objects = figures["objects_after_flood_2"] - figures["objects_after_flood_1"]
    # Shown with: pytest tests/reliability/test_load.py -o log_cli=true --log-cli-level=INFO
    log.info("flood memory: %s; growth %.1f MiB, %d objects", figures, growth, objects)
    assert set(kinds[0]) <= {"answer", "cooldown notice"}, kinds
    assert kinds[0]["answer"] > 0 and kinds[0]["cooldown notice"] > 0
    assert kinds[0] == kinds[1]  # the same workload twice: any growth between them is a leak
    problems = [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR
        or r.exc_info
        or any(text in r.getMessage() for text in DISCORD_PY_DISTRESS)
    ]
    assert problems == []
    assert growth <= MAX_RSS_GROWTH_MIB and objects <= MAX_OBJECT_GROWTH, figures
