"""Database errors told in one log line: the driver's message, without the SQL around it."""

from __future__ import annotations


def failure(exc: BaseException) -> str:
    """`OperationalError: no such table: answers`, not SQLAlchemy's multi-line text."""
    return f"{type(exc).__name__}: {getattr(exc, 'orig', None) or exc}"
