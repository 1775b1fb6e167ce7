"""Database errors told in one log line: the driver's message, without the SQL around it."""

from __future__ import annotations

# What to check when a read outlives `bot.database_wait_seconds` (the end of a slow-read WARNING).
SLOW_DATABASE = (
    "check the database for long locks (a migration, another process holding the SQLite file) "
    "or an unresponsive server"
)


def failure(exc: BaseException) -> str:
    """`OperationalError: no such table: answers`, not SQLAlchemy's multi-line text."""
    return f"{type(exc).__name__}: {getattr(exc, 'orig', None) or exc}"
