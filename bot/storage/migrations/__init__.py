"""Alembic migrations, run programmatically at start (`Database.open`)."""
