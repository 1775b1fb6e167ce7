"""Database failures told in one line: in the log (the driver's message, without the SQL around
it), and to an admin whose command's database work did not finish (`bounded`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from index.errors import QuotebotError

log = logging.getLogger(__name__)

T = TypeVar("T")

# What to check when a read outlives `bot.database_wait_seconds` (the end of a slow-read WARNING).
SLOW_DATABASE = (
    "check the database for long locks (a migration, another process holding the SQLite file) "
    "or an unresponsive server"
)

# How long an acknowledged admin command waits for its database work. Longer than SQLite's busy
# timeout (10 s, `_sqlite_pragmas` in database.py), so that on a locked SQLite file SQLite ends
# the wait itself, with "database is locked" and nothing written; this bound ends the waits that
# have no timeout of their own (a lock on PostgreSQL, an unresponsive server, SQLite writers
# queued behind one that waits), and the admin still hears back far inside the 15 minutes
# Discord allows for a follow-up.
ADMIN_WAIT_SECONDS = 30.0


class DatabaseWorkError(QuotebotError):
    """An admin command's database work failed or did not finish in time: nothing was changed."""


# Work cancelled at its bound, kept until it ends: the loop holds tasks only weakly.
_cancelled: set[asyncio.Task[Any]] = set()


def failure(exc: BaseException) -> str:
    """`OperationalError: no such table: answers`, not SQLAlchemy's multi-line text."""
    return f"{type(exc).__name__}: {getattr(exc, 'orig', None) or exc}"


async def bounded(work: Awaitable[T], *, not_done: str, what: str) -> T:
    """The result of `work` (one database method); when it fails or outlives ADMIN_WAIT_SECONDS,
    one WARNING naming `what` and DatabaseWorkError, one line starting with `not_done` ("The
    change was NOT saved") with the reason and what to check.

    Work that outlives the bound is cancelled: its transaction then rolls back instead of
    committing, so "NOT saved" stays true after the reply. It is not waited for: a statement stuck
    in the driver ends only when the database answers."""
    task = asyncio.ensure_future(work)
    seconds = ADMIN_WAIT_SECONDS
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        _cancelled.add(task)
        task.add_done_callback(_cancelled_ended)
        log.warning("%s took over %g s and was cancelled: %s", what, seconds, SLOW_DATABASE)
        raise DatabaseWorkError(
            f"{not_done}: the database did not answer within {seconds:g} s. Try again later; "
            f"if it lasts, whoever runs the bot should {SLOW_DATABASE}."
        )
    try:
        return task.result()
    except (SQLAlchemyError, OSError) as exc:
        log.warning(
            "%s failed (%s): check the database (the bot checks it at start)", what, failure(exc)
        )
        raise DatabaseWorkError(
            f"{not_done}: the database refused it ({failure(exc)}). Try again later; if it "
            "lasts, whoever runs the bot should check the database and the bot's log."
        ) from None


def _cancelled_ended(task: asyncio.Task[Any]) -> None:
    # Its admin has the answer and the log its WARNING: the outcome is only retrieved (no
    # "exception was never retrieved" at exit), and told if the cancellation did not take.
    _cancelled.discard(task)
    if task.cancelled():
        return
    exc = task.exception()
    if exc is None:
        log.warning("database work cancelled at its bound finished anyway: its change may be saved")
    else:
        log.debug("cancelled database work ended with %s", failure(exc))
