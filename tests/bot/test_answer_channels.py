"""Answer-channels shared by bot processes through one database: a channel added or removed through
one process applies in the others by their next refresh, and `channel list`/`add`/`remove` go by
the database. Each `Database` on the same SQLite file stands for another process."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable

from sqlalchemy.engine import make_url

from bot.storage import Database
from bot.storage import answer_channels as answer_channels_module
from tests.bot.conftest import TIMEOUT
from tests.bot.test_admin import admin, assert_not_answered

# Short enough for a test to wait a few refreshes without noticing.
REFRESH = 0.05
WHAT = "Which country supplies Russia with drones?"


async def until(check: Callable[[], object], what: str) -> None:
    """Until `check()` is truthy (a background refresh ends it); fails after TIMEOUT."""
    async with asyncio.timeout(TIMEOUT):
        while not check():
            await asyncio.sleep(REFRESH / 2)


def refreshes_told(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == answer_channels_module.__name__]


def warnings_of(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("bot")
    ]


async def test_a_channel_added_or_removed_through_another_process_applies_after_a_refresh(
    bot_factory,
):
    """An admin adds the channel through another process: this bot answers a message there
    once it has refreshed; removed there, this bot ignores the next message."""
    async with bot_factory(answer_channels_refresh_seconds=REFRESH) as (fake, quotebot):
        guild, channel = int(fake.guild["id"]), int(fake.channel["id"])
        other = await Database.open(quotebot.settings.bot.database_url)
        try:
            await other.add_answer_channel(guild, channel, 1)
            await until(lambda: quotebot.database.is_answer_channel(guild, channel), "added")
            question = await fake.send_user_message(content=WHAT)
            reply = await fake.wait_for_reply_to(question["id"], timeout=TIMEOUT)
            assert "banking on Iran" in reply["embeds"][0]["description"]

            await other.remove_answer_channel(guild, channel)
            await until(lambda: not quotebot.database.is_answer_channel(guild, channel), "gone")
        finally:
            await other.close()
        await assert_not_answered(fake, "Why did Putin start the war?")


async def test_channel_commands_go_by_the_database_whichever_process_changed_it(bot_factory):
    """Between refreshes (the default 30 s), `channel list` shows a channel another process
    added, `channel add` says it already is one (and answers there from then on), and once the
    other process removed it, `channel add` adds it again instead of saying it already is one."""
    async with bot_factory() as (fake, quotebot):
        guild, channel = int(fake.guild["id"]), int(fake.channel["id"])
        other = await Database.open(quotebot.settings.bot.database_url)
        try:
            await other.add_answer_channel(guild, channel, 1)
            listed = await admin(fake, "quotebot channel list")
            again = await admin(fake, "quotebot channel add")
            question = await fake.send_user_message(content=WHAT)
            reply = await fake.wait_for_reply_to(question["id"], timeout=TIMEOUT)
            await other.remove_answer_channel(guild, channel)
            added = await admin(fake, "quotebot channel add")
            with sqlite3.connect(make_url(quotebot.settings.bot.database_url).database) as raw:
                stored = raw.execute("SELECT channel_id FROM answer_channels").fetchall()
        finally:
            await other.close()
    assert f"<#{channel}>" in listed["content"]
    assert "already is an answer-channel" in again["content"]
    assert "banking on Iran" in reply["embeds"][0]["description"]
    assert "is now an answer-channel" in added["content"] and stored == [(channel,)]


async def test_a_refresh_the_database_refuses_keeps_the_channels_with_one_warning(
    bot_factory, caplog
):
    """The answer-channels cannot be read (their table is gone): refresh after refresh fails,
    one WARNING says so, and a question in an answer-channel is still answered; once they can
    be read again, a removal through another process applies."""
    async with bot_factory(answer_channels_refresh_seconds=REFRESH) as (fake, quotebot):
        guild, channel = int(fake.guild["id"]), int(fake.channel["id"])
        await admin(fake, "quotebot channel add")
        path = str(make_url(quotebot.settings.bot.database_url).database)
        with caplog.at_level(logging.DEBUG, logger=answer_channels_module.__name__):
            with sqlite3.connect(path) as raw:
                raw.execute("ALTER TABLE answer_channels RENAME TO answer_channels_elsewhere")
            # The WARNING, then two more refreshes that failed as well (DEBUG).
            await until(lambda: len(refreshes_told(caplog)) >= 3, "three failed refreshes")
            question = await fake.send_user_message(content=WHAT)
            reply = await fake.wait_for_reply_to(question["id"], timeout=TIMEOUT)
            with sqlite3.connect(path) as raw:
                raw.execute("ALTER TABLE answer_channels_elsewhere RENAME TO answer_channels")
                raw.execute("DELETE FROM answer_channels")
            await until(lambda: not quotebot.database.is_answer_channel(guild, channel), "gone")
    assert "banking on Iran" in reply["embeds"][0]["description"]
    warnings = warnings_of(caplog)
    assert len(warnings) == 1, warnings
    assert "no such table: answer_channels" in warnings[0] and "keeping the 1 known" in warnings[0]


async def test_a_refresh_that_hangs_keeps_the_channels_with_one_warning(
    tmp_path, monkeypatch, caplog
):
    """Another process holds the SQLite file locked past the refresh's bound: the refresh is
    abandoned, one WARNING says what to check, the channel stays an answer-channel, and once the
    lock is gone the next refresh applies a change made elsewhere."""
    monkeypatch.setattr(answer_channels_module, "REFRESH_WAIT_SECONDS", 0.2)
    url = f"sqlite+aiosqlite:///{tmp_path / 'quotebot.db'}"
    this, other = await Database.open(url), await Database.open(url)
    try:
        await other.add_answer_channel(1, 10, 1)
        await this.refresh_answer_channels()
        for database in (this, other):
            await database.engine.dispose()  # idle pooled connections would keep the lock out
        holder = sqlite3.connect(tmp_path / "quotebot.db", isolation_level=None)
        try:
            holder.execute("PRAGMA locking_mode=EXCLUSIVE")
            holder.execute("BEGIN EXCLUSIVE")
            with caplog.at_level(logging.WARNING):
                this.keep_answer_channels_fresh(REFRESH)
                await until(lambda: warnings_of(caplog), "the warning")
                assert this.is_answer_channel(1, 10)
        finally:
            holder.close()
        await other.add_answer_channel(1, 11, 1)
        await until(lambda: this.answer_channels(1) == [10, 11], "the added channel")
    finally:
        await this.close()
        await other.close()
    warnings = warnings_of(caplog)
    assert len(warnings) == 1, warnings
    assert "took over 0.2 s" in warnings[0] and answer_channels_module.SLOW_DATABASE in warnings[0]
