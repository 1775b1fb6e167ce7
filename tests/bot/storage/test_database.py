"""The database: migrations, votes that survive restarts, concurrency, and a kill mid-write."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError

from bot.storage import Database
from index.search.followups import Context


def url(tmp_path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/data/quotebot.db"


async def _answer(db: Database, question: str = "q", abstained: bool = False, **more) -> int:
    return await db.record_answer(
        guild_id=1,
        channel_id=2,
        user_id=3,
        question=question,
        abstained=abstained,
        passage_ids=["a"],
        **more,
    )


async def test_schema_is_created_by_the_migration(tmp_path):
    """Opening a new database creates its folder and migrates it to the latest revision."""
    db = await Database.open(url(tmp_path))
    await db.close()
    with sqlite3.connect(tmp_path / "data" / "quotebot.db") as raw:
        tables = {r[0] for r in raw.execute("select name from sqlite_master where type='table'")}
        version = raw.execute("select version_num from alembic_version").fetchone()[0]
    assert {"answers", "votes", "guild_settings", "answer_channels", "conversation_turns"} <= tables
    assert version == "0002"
    reopened = await Database.open(url(tmp_path))  # migrating again is a no-op
    await reopened.close()


async def test_votes_persist_across_a_restart(tmp_path):
    """Votes and server settings are still there after the bot restarts."""
    db = await Database.open(url(tmp_path))
    answer = await _answer(db)
    await db.vote(answer, 10, 1)
    await db.vote(answer, 11, -1)
    await db.vote(answer, 10, -1)  # changed mind
    await db.update_guild_config(1, k=2, threads=True)
    await db.add_answer_channel(1, 99, 10)
    await db.close()
    db = await Database.open(url(tmp_path))
    assert await db.vote_counts(answer) == (0, 2)
    config = await db.guild_config(1)
    assert (config.k, config.threads, config.private_by_default) == (2, True, False)
    assert db.is_answer_channel(1, 99)
    await db.close()


async def test_fifty_concurrent_votes_are_all_stored(tmp_path):
    """50 users voting at the same moment: every vote is stored exactly once."""
    db = await Database.open(url(tmp_path))
    answer = await _answer(db)
    await asyncio.gather(*(db.vote(answer, user, 1 if user % 3 else -1) for user in range(50)))
    up, down = await db.vote_counts(answer)
    assert (up, down) == (33, 17)
    await db.close()


def _rows(tmp_path) -> dict[int, str]:
    """Answers as another process sees them: committed ones only."""
    with sqlite3.connect(tmp_path / "data" / "quotebot.db") as raw:
        return dict(raw.execute("select id, question from answers"))


async def test_answers_recorded_at_once_share_commits_and_each_gets_its_own_id(tmp_path):
    """50 answers recorded at the same moment: 50 rows, each caller its own id and its own
    conversation turn, each committed when its call returns, in fewer than 50 commits (each
    is an fsync)."""
    db = await Database.open(url(tmp_path))
    commits = []
    event.listen(db.engine.sync_engine, "commit", lambda connection: commits.append(1))

    async def record(n: int) -> int:
        answer = await db.record_answer(
            guild_id=1,
            channel_id=2,
            user_id=n,
            question=f"question {n}",
            abstained=False,
            passage_ids=["a"],
            turn=Context(question=f"question {n}", query=f"query {n}"),
            turn_keys=[f"user:{n}"],
        )
        assert _rows(tmp_path).get(answer) == f"question {n}"  # durable before it returns
        return answer

    ids = await asyncio.gather(*(record(n) for n in range(50)))
    try:
        assert len(set(ids)) == 50
        assert _rows(tmp_path) == {answer: f"question {n}" for n, answer in enumerate(ids)}
        assert len(commits) < 50
        for n in (0, 49):
            turn = await db.conversations.recall(f"user:{n}")
            assert turn is not None and turn.query == f"query {n}"
    finally:
        await db.close()


async def test_an_answer_that_cannot_be_stored_does_not_lose_the_others_of_its_commit(tmp_path):
    """One of 20 answers recorded together is refused by the database: its caller gets the
    error, the 19 others are stored with their ids."""
    db = await Database.open(url(tmp_path))
    with sqlite3.connect(tmp_path / "data" / "quotebot.db") as raw:
        raw.execute(
            "create trigger refuse before insert on answers when new.question = 'refused' "
            "begin select raise(abort, 'refused by the test'); end"
        )
    questions = [f"question {n}" for n in range(20)]
    questions[7] = "refused"
    try:
        results = await asyncio.gather(
            *(_answer(db, question=question) for question in questions), return_exceptions=True
        )
        assert isinstance(results[7], SQLAlchemyError) and "refused" in str(results[7])
        stored = {answer: questions[n] for n, answer in enumerate(results) if n != 7}
        assert _rows(tmp_path) == stored and len(stored) == 19
        assert await _answer(db, question="after") not in stored  # the writer still works
    finally:
        await db.close()


async def test_an_answer_whose_caller_is_cancelled_while_queued_is_not_stored(tmp_path):
    """Three answers wait for the write turn and the caller of the second is cancelled (its
    question's handler stopped): the first and third are stored with their ids, the second,
    never begun, is not."""
    db = await Database.open(url(tmp_path))
    try:
        async with db.transaction():  # holds the write turn while the answers queue behind it
            first, second, third = (
                asyncio.create_task(_answer(db, question=q)) for q in ("first", "second", "third")
            )
            await asyncio.sleep(0)  # each queues its row and waits for the turn
            second.cancel()
            with pytest.raises(asyncio.CancelledError):
                await second
        ids = await asyncio.gather(first, third)
        assert _rows(tmp_path) == dict(zip(ids, ("first", "third"), strict=True))
    finally:
        await db.close()


async def test_a_cancelled_answer_that_fails_in_its_batch_leaves_no_unread_error(tmp_path, caplog):
    """A caller is cancelled while its row is being written in a batch, and the database then
    refuses that row: the other answer is stored, the refused one is not, and no error is left
    for asyncio to report as "never retrieved"."""
    db = await Database.open(url(tmp_path))
    with sqlite3.connect(tmp_path / "data" / "quotebot.db") as raw:
        raw.execute(
            "create trigger refuse before insert on answers when new.question = 'refused' "
            "begin select raise(abort, 'refused by the test'); end"
        )
    # A captured log record of the batch's failure would keep its error alive past gc.collect().
    caplog.set_level(logging.ERROR, logger="bot.storage.group_commit")
    loop = asyncio.get_running_loop()
    reported: list[dict] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        answer = await _two_answers_one_cancelled_mid_batch(db, "stored", "refused")
        gc.collect()  # an error nobody read is reported when its future is collected
        await asyncio.sleep(0)  # a report is made through the loop
        assert _rows(tmp_path) == {answer: "stored"}
        assert not reported, reported
    finally:
        loop.set_exception_handler(None)
        await db.close()


async def test_an_answer_cancelled_once_its_commit_began_is_stored(tmp_path):
    """A caller is cancelled while its row is being written in a batch that succeeds: the row
    is stored (its transaction had begun) and the other caller of the batch still gets its id."""
    db = await Database.open(url(tmp_path))
    try:
        answer = await _two_answers_one_cancelled_mid_batch(db, "stayed", "left")
        rows = _rows(tmp_path)
        assert rows.pop(answer) == "stayed" and list(rows.values()) == ["left"]
    finally:
        await db.close()


async def _two_answers_one_cancelled_mid_batch(db: Database, kept: str, leaving: str) -> int:
    """`kept` and `leaving` recorded in one batch, the caller of `leaving` cancelled as its row
    is written; `kept`'s id."""
    tasks: dict[str, asyncio.Task[int]] = {}

    def cancel_when_written(_conn, _cursor, _statement, parameters, *_args) -> None:
        if leaving in (parameters or ()):
            tasks[leaving].cancel()

    event.listen(db.engine.sync_engine, "before_cursor_execute", cancel_when_written)
    try:
        async with db.transaction():  # holds the write turn: both rows queue into one batch
            for question in (kept, leaving):
                tasks[question] = asyncio.create_task(_answer(db, question=question))
            await asyncio.sleep(0)
        answer = await tasks[kept]
        with pytest.raises(asyncio.CancelledError):
            await tasks[leaving]
        return answer
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", cancel_when_written)
        tasks.clear()  # a cancelled task's traceback holds its row's future


async def test_unknown_setting_is_refused(tmp_path):
    """A typo in a setting name is an error, not a silent no-op."""
    db = await Database.open(url(tmp_path))
    with pytest.raises(ValueError, match="colour"):
        await db.update_guild_config(1, colour="red")
    await db.close()


async def test_unusable_database_url_is_one_clear_error(tmp_path):
    """A bad URL or an unwritable folder is a clear StorageError."""
    from bot.storage.database import StorageError

    with pytest.raises(StorageError, match="database"):
        await Database.open("nosuchdriver://x")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError):
        await Database.open(f"sqlite+aiosqlite:///{blocker}/sub/q.db")


WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from bot.storage import Database

    async def main():
        db = await Database.open(sys.argv[1])
        answer = await db.record_answer(guild_id=1, channel_id=2, user_id=3, question="q",
                                        abstained=False, passage_ids=["a"])
        user = 0
        while True:
            await db.vote(answer, user, 1)
            print(answer, user, flush=True)  # acknowledged: committed
            user += 1

    asyncio.run(main())
    """
)


async def test_nothing_acknowledged_is_lost_when_killed_mid_write(tmp_path):
    """SIGKILL while votes are being written: every vote acknowledged before is there, the file is sound."""
    acknowledged = []
    # The with block closes the pipe once the writer is dead (and reaps it, whatever happens).
    with subprocess.Popen(
        [sys.executable, "-c", WRITER, url(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.getcwd(),
    ) as process:
        assert process.stdout is not None
        try:
            for line in process.stdout:
                acknowledged.append(tuple(int(x) for x in line.split()))
                if len(acknowledged) >= 60:
                    break
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
    with sqlite3.connect(tmp_path / "data" / "quotebot.db") as raw:
        assert raw.execute("pragma integrity_check").fetchone()[0] == "ok"
    db = await Database.open(url(tmp_path))
    answer = acknowledged[0][0]
    up, _ = await db.vote_counts(answer)
    assert up >= len(acknowledged)
    await db.close()


async def test_sqlite_durability_settings_on_a_live_connection(tmp_path):
    """Every connection the bot writes through runs in WAL mode with synchronous=FULL (2): a
    commit is on disk when it returns, whatever the OS does afterwards."""
    db = await Database.open(url(tmp_path))
    try:
        async with db.engine.connect() as connection:
            journal = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
            synchronous = (await connection.exec_driver_sql("PRAGMA synchronous")).scalar()
        assert (journal, synchronous) == ("wal", 2)
    finally:
        await db.close()


def _damage_a_table_page(path) -> None:
    """Garbage in the second half of the file: the answers written last, not the schema or the
    migration bookkeeping (so the bot would start and then fail on the next answer)."""
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = raw.execute("PRAGMA page_size").fetchone()[0]
        pages = raw.execute("PRAGMA page_count").fetchone()[0]
    with open(path, "r+b") as handle:
        for page in range(pages // 2, pages):
            handle.seek(page * page_size + 8)
            handle.write(os.urandom(page_size - 16))


async def test_a_damaged_database_is_refused_at_start_with_how_to_recover(tmp_path):
    """Garbage inside a table page: `open` refuses with the file and how to recover, instead of
    starting and then losing answers to `database disk image is malformed`."""
    from bot.storage.database import DatabaseCorruptError

    db = await Database.open(url(tmp_path))
    for n in range(200):
        await _answer(db, question=f"question {n} " * 20)
    await db.close()
    path = tmp_path / "data" / "quotebot.db"
    _damage_a_table_page(path)
    with pytest.raises(DatabaseCorruptError, match="damaged") as refused:
        await Database.open(url(tmp_path))
    assert str(path) in str(refused.value) and "backup" in str(refused.value)
