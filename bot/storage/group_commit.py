"""`GroupCommit`: rows that wait for the write turn together are committed together.

On SQLite every commit is an fsync (WAL, synchronous=FULL), and writers take turns, so under a
flood of answers the fsyncs, not the rows, set the pace. Whoever gets the turn writes every row
queued by then in one transaction; each caller still gets its own result or its own error, and
only once the commit that holds its row is done. A caller cancelled before its row's transaction
begins takes the row back: it is not written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.failures import failure

log = logging.getLogger(__name__)

T = TypeVar("T")

Write = Callable[[AsyncSession], Awaitable[T]]


@dataclass(slots=True, eq=False)
class _Pending(Generic[T]):
    write: Write[T]
    future: asyncio.Future[T] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit(Generic[T]):
    """`await write(...)` runs its function in a transaction shared with the others queued."""

    def __init__(
        self,
        write_turn: AbstractAsyncContextManager[Any],
        begin: Callable[[], AbstractAsyncContextManager[AsyncSession]],
    ) -> None:
        self._write_turn = write_turn
        self._begin = begin
        self._pending: list[_Pending[T]] = []

    async def write(self, write: Write[T]) -> T:
        """`write(session)`'s result, once the transaction it ran in is committed."""
        pending = _Pending(write)
        self._pending.append(pending)
        try:
            async with self._write_turn:
                # Queued while an earlier holder of the turn wrote: then this row went with its
                # batch, and the turn is passed on at once.
                if not pending.future.done():
                    batch, self._pending = self._pending, []
                    try:
                        await self._commit(batch)
                    finally:
                        # Cancelled mid-batch: the rows not known written go to the next holder.
                        self._pending[:0] = [p for p in batch if not p.future.done()]
        except asyncio.CancelledError:
            self._withdraw(pending)
            raise
        return pending.future.result()

    def _withdraw(self, pending: _Pending[T]) -> None:
        """A cancelled caller's row: taken out of the queue, and skipped by any transaction not
        yet begun; an outcome already reached is consumed here, as nobody else will read it."""
        self._pending = [p for p in self._pending if p is not pending]
        if not pending.future.cancel() and (exc := pending.future.exception()) is not None:
            _log_orphaned(exc)

    async def _commit(self, batch: list[_Pending[T]]) -> None:
        batch = [p for p in batch if not p.future.cancelled()]  # callers gone before it began
        if not batch:
            return
        try:
            async with self._begin() as session:
                results = [await p.write(session) for p in batch]
        except Exception as exc:  # noqa: BLE001 - each row's error goes to its own caller
            if len(batch) == 1:
                if batch[0].future.cancelled():  # its caller left while it was written
                    _log_orphaned(exc)
                else:
                    batch[0].future.set_exception(exc)
                return
            # One bad row must not lose the others: each goes again in a transaction of its own.
            log.warning(
                "a batch of %d writes failed (%s); writing them one by one",
                len(batch),
                failure(exc),
            )
            for pending in batch:
                await self._commit([pending])
            return
        for pending, result in zip(batch, results, strict=True):
            if not pending.future.cancelled():
                pending.future.set_result(result)


def _log_orphaned(exc: BaseException) -> None:
    log.warning(
        "a write failed after its caller was cancelled, so it is not stored (%s)", failure(exc)
    )
