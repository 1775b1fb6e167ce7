"""The same storage on PostgreSQL (asyncpg), for deployments with several bot processes.

Runs when QUOTEBOT_TEST_POSTGRES_URL names a server whose user may create databases; `.ci/run`
starts one with `.ci/postgres start` (and stops it after).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.storage import Database
from index.search.followups import Context

ADMIN_URL = os.environ.get("QUOTEBOT_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not ADMIN_URL, reason="QUOTEBOT_TEST_POSTGRES_URL is not set")


@pytest_asyncio.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh database for one test, dropped afterwards."""
    import asyncpg

    assert ADMIN_URL is not None
    plain = ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")
    name = f"quotebot_test_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(plain)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    admin = await asyncpg.connect(plain)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


async def test_postgres_votes_settings_and_stats(pg_url):
    """On PostgreSQL: migration, concurrent votes, changeable votes, settings and stats all work."""
    db = await Database.open(pg_url)
    answer = await db.record_answer(
        guild_id=7, channel_id=8, user_id=9, question="Why?", abstained=False, passage_ids=["p1"]
    )
    await db.record_answer(
        guild_id=7, channel_id=8, user_id=9, question="Pancakes?", abstained=True, passage_ids=[]
    )
    await asyncio.gather(*(db.vote(answer, user, 1) for user in range(50)))
    await db.vote(answer, 0, -1)
    assert await db.vote_counts(answer) == (49, 1)
    await db.update_guild_config(7, k=4, private_by_default=True)
    assert await db.add_answer_channel(7, 70, 9)
    await db.close()
    # A second process (here: a second connection pool) sees the same state.
    other = await Database.open(pg_url)
    assert (await other.guild_config(7)).k == 4
    assert other.is_answer_channel(7, 70)
    stats = await other.stats(7)
    assert (stats.questions, stats.answered, stats.abstained, stats.up, stats.down) == (
        2,
        1,
        1,
        49,
        1,
    )
    assert stats.top_abstained == [("pancakes?", 1)]
    await other.close()


async def test_postgres_conversation_turns_are_shared(pg_url):
    """On PostgreSQL: a turn stored with an answer by one process is the next one's context."""
    turn = Context("Who is Barbara Keleman?", "Who is Barbara Keleman?", "Barbara Keleman")
    db = await Database.open(pg_url)
    await db.record_answer(
        guild_id=7,
        channel_id=8,
        user_id=9,
        question=turn.question,
        abstained=False,
        passage_ids=[],
        shown={"question": turn.question},
        turn=turn,
        turn_keys=["question:1", "channel:2"],
    )
    await db.conversations.remember(["channel:2"], Context("and?", "Who is ... and?"))
    await db.close()
    other = await Database.open(pg_url)
    assert await other.conversations.recall("question:1") == turn
    assert (await other.conversations.recall("channel:2")) == Context("and?", "Who is ... and?")
    await other.close()
