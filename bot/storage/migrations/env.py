"""Alembic environment: runs migrations on the connection `Database.open` hands over."""

from __future__ import annotations

from alembic import context

from bot.storage.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite can only alter tables by copying them
)
with context.begin_transaction():
    context.run_migrations()
