"""Answer-channels: kept in memory for the message listener, refreshed from the database.

Every message in a server asks whether its channel is one, so the listener reads a set in memory:
a database read there would cost each message a query, and a failing read would drop its question.
Several bot processes share one database (docs/scaling.md), so the set is read again every
`bot.answer_channels_refresh_seconds`: a channel added or removed through another process applies
here by the next refresh. A refresh that fails or hangs keeps the last set, with one WARNING.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, cast

from sqlalchemy import delete, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from bot.storage.failures import SLOW_DATABASE, failure
from bot.storage.models import AnswerChannel, utc_now

log = logging.getLogger(__name__)

# How long a background refresh may take before it is abandoned (the set kept, one WARNING).
# Longer than SQLite's busy timeout (10 s), so a locked SQLite file ends the read itself with
# "database is locked"; this ends the waits that have no timeout (PostgreSQL, a dead server).
REFRESH_WAIT_SECONDS = 30.0

# How long closing the bot waits for a read in flight to give its connection back: longer than
# SQLite's busy timeout (10 s), after which a read stuck behind a lock ends.
STOP_WAIT_SECONDS = 15.0

Key = tuple[int, int]


async def read_all(executor: AsyncConnection | AsyncSession) -> frozenset[Key]:
    """Every answer-channel in the database: at open (in the migration's transaction) and at
    each refresh."""
    rows = await executor.execute(select(AnswerChannel.guild_id, AnswerChannel.channel_id))
    return frozenset((g, c) for g, c in rows.all())


class AnswerChannels:
    """(server id, channel id) pairs; `start_refreshing` keeps them in step with the database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        transaction: Callable[[], AbstractAsyncContextManager[AsyncSession]],
        insert: Callable[[Any], Any],
        known: frozenset[Key],
    ) -> None:
        self._sessions = sessions
        self._transaction = transaction
        self._insert = insert
        self._known = known
        # Bumped by each change this process makes: a refresh read before it must not undo it.
        self._changes = 0
        self._task: asyncio.Task[None] | None = None
        self._read: asyncio.Task[None] | None = None
        self._failing = False

    def contains(self, guild_id: int, channel_id: int) -> bool:
        return (guild_id, channel_id) in self._known

    def of(self, guild_id: int) -> list[int]:
        """This server's answer-channels as last read or changed here."""
        return sorted(c for g, c in self._known if g == guild_id)

    async def read(self, guild_id: int) -> list[int]:
        """This server's answer-channels as the database has them now (the set is refreshed too)."""
        await self.refresh()
        return self.of(guild_id)

    async def add(self, guild_id: int, channel_id: int, user_id: int) -> bool:
        """True when added, False when it already was one (in the database, whoever added it)."""
        statement = (
            self._insert(AnswerChannel)
            .values(guild_id=guild_id, channel_id=channel_id, added_by=user_id, added_at=utc_now())
            .on_conflict_do_nothing(
                index_elements=[AnswerChannel.guild_id, AnswerChannel.channel_id]
            )
        )
        async with self._transaction() as session:
            result = await session.execute(statement)
        self._change(self._known | {(guild_id, channel_id)})
        # An INSERT returns a CursorResult; a conflict skipped inserts no row.
        return bool(cast(CursorResult[Any], result).rowcount)

    async def remove(self, guild_id: int, channel_id: int) -> bool:
        """True when removed, False when it was not one."""
        async with self._transaction() as session:
            result = await session.execute(
                delete(AnswerChannel).where(
                    AnswerChannel.guild_id == guild_id, AnswerChannel.channel_id == channel_id
                )
            )
        self._change(self._known - {(guild_id, channel_id)})
        return bool(cast(CursorResult[Any], result).rowcount)

    def _change(self, known: frozenset[Key]) -> None:
        self._changes += 1
        self._known = known

    async def refresh(self) -> None:
        """Read the set again; a change made here while it was read wins (the next read has it)."""
        changes = self._changes
        async with self._sessions() as session:
            fresh = await read_all(session)
        if changes == self._changes:
            self._known = fresh

    # -- the background refresh ------------------------------------------------------------------

    def start_refreshing(self, interval: float) -> None:
        """Refresh every `interval` seconds until `stop_refreshing` (once started, again is a no-op)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._refresh_every(interval), name="answer-channels refresh"
            )

    async def stop_refreshing(self) -> None:
        """Stop refreshing, and end a read in flight (cancelled, and waited for at most
        STOP_WAIT_SECONDS while the driver finishes its statement)."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        read = self._read
        if read is not None and not read.done():
            # Cancelled once only: a second cancel would stop the wait for SQLAlchemy's shielded
            # clean-up, and a SQLite connection left unclosed keeps the process from exiting.
            if not read.cancelling():
                read.cancel()
            await asyncio.wait({read}, timeout=STOP_WAIT_SECONDS)

    async def _refresh_every(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            if self._read is not None and not self._read.done():
                # An abandoned read still holds its connection: a new one would likely hang
                # behind the same lock, and each would take a connection from the pool.
                log.debug("answer-channels: the previous read has not ended yet, not reading")
                continue
            self._read = read = asyncio.get_running_loop().create_task(self.refresh())
            read.add_done_callback(_retrieve)
            done, _ = await asyncio.wait({read}, timeout=REFRESH_WAIT_SECONDS)
            if not done:
                # Cancelled, not waited for: a statement stuck in the driver ends only when the
                # database answers (SQLite: its busy timeout).
                read.cancel()
                self._failed(
                    f"took over {REFRESH_WAIT_SECONDS:g} s and was cancelled: {SLOW_DATABASE}"
                )
            elif isinstance(exc := read.exception(), SQLAlchemyError | OSError):
                self._failed(f"failed ({failure(exc)}): check the database")
            elif exc is not None:
                # A bug, not the database: told with its traceback, and the refresh goes on.
                log.error("reading the answer-channels failed", exc_info=exc)
            elif self._failing:
                self._failing = False
                log.info("answer-channels read from the database again")

    def _failed(self, why: str) -> None:
        # One WARNING per outage, not one per refresh: the log tells when it started and ended.
        if self._failing:
            log.debug("reading the answer-channels still %s", why)
            return
        self._failing = True
        log.warning(
            "reading the answer-channels %s; keeping the %d known, changes made through other "
            "bot processes apply once a read succeeds",
            why,
            len(self._known),
        )


def _retrieve(task: asyncio.Future[None]) -> None:
    # The loop tells the outcome of the reads it waits for; the others' are only retrieved (no
    # "exception was never retrieved" at exit).
    if not task.cancelled():
        task.exception()
