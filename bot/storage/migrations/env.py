"""Alembic environment for three callers.

`Database.open` hands over its open connection (`config.attributes["connection"]`);
`python -m bot db ...` sets `sqlalchemy.url` to the configured database; plain `alembic` with the
project's `alembic.ini` leaves it unset, and the URL is read from the bot's settings
(`bot.database_url`, `QUOTEBOT_BOT__DATABASE_URL`) as the bot itself reads it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from bot.storage.models import Base


def _configure(**where: Any) -> None:
    """Our migrations' options, on a connection or (offline, `--sql`) a URL."""
    context.configure(
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite can only alter tables by copying them
        compare_type=True,
        **where,
    )


def _run(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_on(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


def _configured_url() -> str:
    url = context.config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from bot.settings import load_settings

    return load_settings().bot.database_url


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
elif context.is_offline_mode():
    _configure(url=_configured_url(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_on(_configured_url()))
