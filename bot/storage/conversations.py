"""The latest turn of each conversation, shared by every bot process through the database.

A follow-up can arrive at any shard or after a restart, so the context lives in the store, not in
memory. Each conversation keeps only its latest turn; turns older than the follow-up window are
never returned and are deleted in passing as new turns are written, so the table stays small.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.models import ConversationTurn
from index.search.followups import Context


class Conversations:
    """`remember` a turn under one or more conversation keys; `recall` it within `window`."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        transaction: Callable[[], AbstractAsyncContextManager[AsyncSession]],
        insert: Callable[[Any], Any],
        window: timedelta,
    ) -> None:
        self._sessions = sessions
        self._transaction = transaction
        self._insert = insert
        self.window = window
        self._cleared_at: datetime | None = None

    async def remember(
        self, keys: Sequence[str], turn: Context, now: datetime | None = None
    ) -> None:
        """Make `turn` the latest of each conversation in `keys`, in a transaction of its own."""
        async with self._transaction() as session:
            await self.write(session, keys, turn, now)

    async def write(
        self,
        session: AsyncSession,
        keys: Sequence[str],
        turn: Context,
        now: datetime | None = None,
    ) -> None:
        """`remember` inside the caller's transaction (the answer's), so no write is added."""
        if not keys:
            return
        now = now or datetime.now(UTC)
        values = {
            "question": turn.question,
            "query": turn.query,
            "speaker": turn.speaker,
            "updated_at": now,
        }
        if self._cleared_at is None or now - self._cleared_at > self.window / 2:
            # Expired turns go in passing, at most twice a window: deleting on every write would
            # make each answer's transaction scan the table.
            await session.execute(
                delete(ConversationTurn).where(ConversationTurn.updated_at < now - self.window)
            )
            self._cleared_at = now
        for key in dict.fromkeys(keys):
            statement = self._insert(ConversationTurn).values(key=key, **values)
            await session.execute(
                statement.on_conflict_do_update(index_elements=[ConversationTurn.key], set_=values)
            )

    async def recall(self, key: str, now: datetime | None = None) -> Context | None:
        """The conversation's latest turn, or None when there is none within the window."""
        now = now or datetime.now(UTC)
        async with self._sessions() as session:
            row = await session.get(ConversationTurn, key)
        if row is None:
            return None
        updated = row.updated_at
        if updated.tzinfo is None:  # SQLite hands back naive datetimes; they were stored in UTC
            updated = updated.replace(tzinfo=UTC)
        if updated < now - self.window:
            return None
        return Context(question=row.question, query=row.query, speaker=row.speaker)
