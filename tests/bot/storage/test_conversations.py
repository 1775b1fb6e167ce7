"""Conversation turns in the database: the latest per conversation, within the window only."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import UTC, datetime, timedelta

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine

from bot.storage import Database
from bot.storage.migrate import MIGRATIONS
from index.search.followups import Context
from tests.bot.storage.test_database import _answer

FIRST = Context("Who is Barbara Keleman?", "Who is Barbara Keleman?", "Barbara Keleman")
SECOND = Context("what did she say?", "what did Barbara Keleman say? Who is...", None)


def url(tmp_path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/quotebot.db"


async def test_latest_turn_per_conversation_survives_a_restart(tmp_path):
    """A turn is found under each of its keys, replaced by the next one, kept across reopening."""
    db = await Database.open(url(tmp_path))
    await db.conversations.remember(["answer:1", "channel:9"], FIRST)
    await db.conversations.remember(["channel:9"], SECOND)
    await db.close()
    db = await Database.open(url(tmp_path))
    assert await db.conversations.recall("answer:1") == FIRST
    assert await db.conversations.recall("channel:9") == SECOND
    assert await db.conversations.recall("answer:2") is None
    await db.close()


async def test_turns_expire_and_are_cleared(tmp_path):
    """Past the window a turn is not returned, and the next write deletes it."""
    db = await Database.open(url(tmp_path), followup_window=timedelta(minutes=10))
    long_ago = datetime.now(UTC) - timedelta(minutes=11)
    await db.conversations.remember(["answer:1"], FIRST, now=long_ago)
    assert await db.conversations.recall("answer:1") is None
    assert await db.conversations.recall("answer:1", now=long_ago) == FIRST
    await db.conversations.remember(["answer:2"], SECOND)
    await db.close()
    with sqlite3.connect(tmp_path / "quotebot.db") as raw:
        keys = [r[0] for r in raw.execute("select key from conversation_turns")]
    assert keys == ["answer:2"]


async def test_answers_are_stored_when_their_turns_cannot_be(tmp_path, caplog):
    """The database refuses the turns (their table is gone): three answers recorded together
    are still stored with their ids (their buttons and /stats need them), and each turn that
    could not be stored is one WARNING line."""
    db = await Database.open(url(tmp_path))
    with sqlite3.connect(tmp_path / "quotebot.db") as raw:
        raw.execute("ALTER TABLE conversation_turns RENAME TO conversation_turns_elsewhere")
    try:
        with caplog.at_level(logging.WARNING):
            ids = await asyncio.gather(
                *(
                    _answer(db, f"question {n}", turn=FIRST, turn_keys=[f"question:{n}"])
                    for n in range(3)
                )
            )
    finally:
        await db.close()
    with sqlite3.connect(tmp_path / "quotebot.db") as raw:
        stored = dict(raw.execute("select id, question from answers"))
    assert stored == {answer: f"question {n}" for n, answer in enumerate(ids)}
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 3, warnings
    assert all("could not store the conversation turn" in w for w in warnings)
    assert all("no such table: conversation_turns" in w and "\n" not in w for w in warnings)


async def test_answers_stored_before_the_upgrade_are_kept(tmp_path):
    """A database at the first revision upgrades in place; its answers and votes stay."""
    path = tmp_path / "quotebot.db"
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    with create_engine(f"sqlite:///{path}").begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.exec_driver_sql(
            "insert into answers (id, created_at, user_id, question, abstained, passage_ids) "
            "values (1, '2026-11-30 10:00:00', 3, 'Why?', 0, '[]')"
        )
    db = await Database.open(url(tmp_path))
    record = await db.answer(1)
    assert record is not None and record.question == "Why?" and record.shown is None
    await db.close()
