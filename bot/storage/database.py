"""`Database`: async access to answers, votes and per-server settings.

SQLite (aiosqlite) in the data folder by default, PostgreSQL (asyncpg) by URL for deployments
that run several bot processes. The schema is migrated with Alembic at open. SQLite runs in WAL
mode with synchronous=FULL: every committed write survives the process being killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from alembic import command
from sqlalchemy import event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.models import StatsSummary
from bot.storage.answer_channels import AnswerChannels, read_all
from bot.storage.conversations import Conversations
from bot.storage.failures import failure
from bot.storage.group_commit import GroupCommit
from bot.storage.migrate import (
    DatabaseCorruptError,
    StorageError,
    alembic_config,
    lost_tables,
    lost_tables_error,
    prepare_sqlite_folder,
)
from bot.storage.models import AnswerRecord, GuildSettings, Vote, utc_now
from index.search.followups import Context

log = logging.getLogger(__name__)

FOLLOWUP_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class GuildConfig:
    """A server's settings; None means the bot's default applies."""

    k: int | None = None
    private_by_default: bool = False
    threads: bool = False
    cooldown_questions: int | None = None
    cooldown_seconds: float | None = None


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection=connection), "head")


class Database:
    """Open with `await Database.open(url)`; every method is one short transaction."""

    def __init__(
        self,
        engine: AsyncEngine,
        answer_channels: frozenset[tuple[int, int]],
        followup_window: timedelta = FOLLOWUP_WINDOW,
    ) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        # SQLite has one writer at a time, and a transaction keeps the lock across the event
        # loop's turns: on a busy loop (a flood of questions) writers queued in SQLite's busy
        # handler outwait its timeout ("database is locked"). They queue here instead, on the
        # loop, without a timeout. PostgreSQL writes rows side by side.
        sqlite = engine.dialect.name == "sqlite"
        self._write_turn: contextlib.AbstractAsyncContextManager[Any] = (
            asyncio.Lock() if sqlite else contextlib.nullcontext()
        )
        self._answers = GroupCommit[int](self._write_turn, self._sessions.begin)
        # Read at open (a failure is one line at start), then kept in memory and refreshed by
        # `keep_answer_channels_fresh`: every message in a server asks about them.
        self._answer_channels = AnswerChannels(
            self._sessions, self.transaction, self._insert, answer_channels
        )
        self.conversations = Conversations(
            self._sessions, self.transaction, self._insert, followup_window
        )

    @classmethod
    async def open(cls, url: str, followup_window: timedelta = FOLLOWUP_WINDOW) -> Database:
        """Connect, create the SQLite folder if needed, migrate the schema to the latest and read
        the answer-channels."""
        prepare_sqlite_folder(url)
        try:
            engine = create_async_engine(url)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StorageError(
                f"database URL {url.split('@')[-1]!r} is not usable ({exc}); use "
                "sqlite+aiosqlite:///path.db or postgresql+asyncpg://user:pass@host/db"
            ) from None
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
            await _check_sqlite_integrity(engine, url)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(_upgrade)
                missing = await connection.run_sync(lost_tables)
                answer_channels = frozenset() if missing else await read_all(connection)
        except (SQLAlchemyError, OSError) as exc:
            await engine.dispose()
            raise StorageError(
                f"cannot open the database ({failure(exc)}); check bot.database_url "
                "and that its folder is writable"
            ) from None
        if missing:
            await engine.dispose()
            where = engine.url.render_as_string(hide_password=True)
            # Found now, not as each answer, vote or setting failing later. The migrations cannot
            # add it back: the database already is at their latest revision.
            raise lost_tables_error(where, missing)
        log.info("database ready (%s)", engine.dialect.name)
        return cls(engine, answer_channels, followup_window)

    async def close(self) -> None:
        await self._answer_channels.stop_refreshing()
        await self.engine.dispose()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in a write transaction, committed at the end (one writer at a time on SQLite)."""
        async with self._write_turn, self._sessions.begin() as session:
            yield session

    def _insert(self, table: Any) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    # -- answers and votes ---------------------------------------------------------------------

    async def record_answer(
        self,
        *,
        guild_id: int | None,
        channel_id: int | None,
        user_id: int,
        question: str,
        abstained: bool,
        passage_ids: list[str],
        source: str | None = None,
        shown: dict[str, Any] | None = None,
        turn: Context | None = None,
        turn_keys: Sequence[str] = (),
    ) -> int:
        """Store an answer as posted, and the conversation `turn` it adds under `turn_keys`, in
        one transaction (shared with the answers queued at the same time); returns its id
        (votes and buttons refer to it) once committed."""
        created_at = utc_now()

        async def write(session: AsyncSession) -> int:
            # A new record each time: a batch that failed may try this row again on its own.
            record = AnswerRecord(
                created_at=created_at,
                guild_id=guild_id,
                channel_id=channel_id,
                user_id=user_id,
                question=question,
                abstained=abstained,
                passage_ids=passage_ids,
                source=source,
                shown=shown,
            )
            session.add(record)
            await session.flush()
            if turn is not None:
                await self._remember_turn(session, record.id, turn_keys, turn)
            return record.id

        return await self._answers.write(write)

    async def _remember_turn(
        self, session: AsyncSession, answer_id: int, keys: Sequence[str], turn: Context
    ) -> None:
        """The turn in a savepoint after its answer's row: the turn only serves follow-ups, and
        failing it must not take the answer's record (its buttons, its place in /stats) along.
        After the row, too, because SQLite's driver begins the transaction at the first write:
        a savepoint before it would be the transaction, and releasing it would commit."""
        try:
            async with session.begin_nested():
                await self.conversations.write(session, keys, turn)
        except (SQLAlchemyError, OSError) as exc:
            log.warning(
                "could not store the conversation turn of answer %s (%s); a follow-up to it is "
                "answered as a new question: check the database (the bot checks it at start)",
                answer_id,
                failure(exc),
            )

    async def answer(self, answer_id: int) -> AnswerRecord | None:
        async with self._sessions() as session:
            return await session.get(AnswerRecord, answer_id)

    async def vote(self, answer_id: int, user_id: int, value: int) -> tuple[int, int]:
        """Set this user's vote on an answer (+1 or -1, replacing any earlier one); new counts."""
        if value not in (1, -1):
            raise ValueError(f"a vote is +1 or -1, not {value}")
        statement = self._insert(Vote).values(
            answer_id=answer_id, user_id=user_id, value=value, voted_at=utc_now()
        )
        statement = statement.on_conflict_do_update(
            index_elements=[Vote.answer_id, Vote.user_id],
            set_={"value": value, "voted_at": utc_now()},
        )
        async with self.transaction() as session:
            await session.execute(statement)
        return await self.vote_counts(answer_id)

    async def vote_counts(self, answer_id: int) -> tuple[int, int]:
        """(👍, 👎) for an answer."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(Vote.value, func.count())
                .where(Vote.answer_id == answer_id)
                .group_by(Vote.value)
            )
            counts = dict(rows.all())
        return counts.get(1, 0), counts.get(-1, 0)

    # -- per-server settings ---------------------------------------------------------------------

    async def guild_config(self, guild_id: int) -> GuildConfig:
        async with self._sessions() as session:
            row = await session.get(GuildSettings, guild_id)
        if row is None:
            return GuildConfig()
        return GuildConfig(
            k=row.k,
            private_by_default=row.private_by_default,
            threads=row.threads,
            cooldown_questions=row.cooldown_questions,
            cooldown_seconds=row.cooldown_seconds,
        )

    async def update_guild_config(self, guild_id: int, **changes: Any) -> GuildConfig:
        """Change some of a server's settings (keys of GuildConfig); returns the result."""
        unknown = set(changes) - set(GuildConfig.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown server settings: {', '.join(sorted(unknown))}")
        async with self.transaction() as session:
            row = await session.get(GuildSettings, guild_id)
            if row is None:
                row = GuildSettings(guild_id=guild_id, private_by_default=False, threads=False)
                session.add(row)
            for key, value in changes.items():
                setattr(row, key, value)
        return await self.guild_config(guild_id)

    # -- answer-channels (bot/storage/answer_channels.py) ----------------------------------------

    async def add_answer_channel(self, guild_id: int, channel_id: int, user_id: int) -> bool:
        """True when added, False when it already was one."""
        return await self._answer_channels.add(guild_id, channel_id, user_id)

    async def remove_answer_channel(self, guild_id: int, channel_id: int) -> bool:
        """True when removed, False when it was not one."""
        return await self._answer_channels.remove(guild_id, channel_id)

    def answer_channels(self, guild_id: int) -> list[int]:
        """As last read or changed here (no database access)."""
        return self._answer_channels.of(guild_id)

    async def read_answer_channels(self, guild_id: int) -> list[int]:
        """As the database has them now, whichever process changed them."""
        return await self._answer_channels.read(guild_id)

    def is_answer_channel(self, guild_id: int, channel_id: int) -> bool:
        """From memory: cheap enough for every message, and never fails."""
        return self._answer_channels.contains(guild_id, channel_id)

    async def refresh_answer_channels(self) -> None:
        await self._answer_channels.refresh()

    def keep_answer_channels_fresh(self, interval: float) -> None:
        """Re-read the answer-channels every `interval` seconds in the background, until `close`:
        other bot processes sharing the database change them too."""
        self._answer_channels.start_refreshing(interval)

    # -- stats -----------------------------------------------------------------------------------

    async def stats(
        self, guild_id: int, days: int = 7, now: datetime | None = None
    ) -> StatsSummary:
        """Questions, answered vs abstained, votes and the most frequent abstained questions."""
        now = now or utc_now()
        since = now - timedelta(days=days)
        async with self._sessions() as session:
            answers = (
                await session.execute(
                    select(
                        AnswerRecord.created_at, AnswerRecord.abstained, AnswerRecord.question
                    ).where(AnswerRecord.guild_id == guild_id, AnswerRecord.created_at >= since)
                )
            ).all()
            votes = dict(
                (
                    await session.execute(
                        select(Vote.value, func.count())
                        .join(AnswerRecord, AnswerRecord.id == Vote.answer_id)
                        .where(AnswerRecord.guild_id == guild_id, AnswerRecord.created_at >= since)
                        .group_by(Vote.value)
                    )
                ).all()
            )
        first_day = (now - timedelta(days=days - 1)).date()
        per_day = {first_day + timedelta(days=i): [0, 0] for i in range(days)}
        abstained_questions: Counter[str] = Counter()
        for created_at, abstained, question in answers:
            day = created_at.date()
            if day in per_day:
                per_day[day][1 if abstained else 0] += 1
            if abstained:
                abstained_questions[" ".join(question.lower().split())] += 1
        abstained_count = sum(1 for _, a, _ in answers if a)
        return StatsSummary(
            days=days,
            questions=len(answers),
            answered=len(answers) - abstained_count,
            abstained=abstained_count,
            up=votes.get(1, 0),
            down=votes.get(-1, 0),
            top_abstained=abstained_questions.most_common(5),
            per_day=[(day, a, b) for day, (a, b) in sorted(per_day.items())],
        )


async def _check_sqlite_integrity(engine: AsyncEngine, url: str) -> None:
    """`PRAGMA quick_check` at start: a damaged page would otherwise surface as a lost answer."""
    path = url.split(":///", 1)[-1] or url
    try:
        async with engine.connect() as connection:
            problems = [row[0] for row in await connection.exec_driver_sql("PRAGMA quick_check")]
    except OperationalError:
        return  # cannot be opened at all: the migration that follows says so, with its fix
    except SQLAlchemyError as exc:  # "file is not a database", "disk image is malformed"
        problems = [str(getattr(exc, "orig", exc))]
    if problems != ["ok"]:
        await engine.dispose()
        raise DatabaseCorruptError(
            f"the database {path} is damaged ({problems[0].splitlines()[0]}): stop the bot, move the file aside "
            "(with its -wal and -shm files) and restore a backup, or start without it to begin "
            "an empty one; `sqlite3 FILE .recover` can salvage rows"
        )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
