"""Persistence: answers (as shown, for their buttons), votes, per-server settings and conversation
turns in SQLite (default) or PostgreSQL."""

from bot.storage.database import Database, GuildConfig

__all__ = ["Database", "GuildConfig"]
