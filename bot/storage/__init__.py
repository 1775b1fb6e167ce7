"""Persistence: answers, votes and per-server settings in SQLite (default) or PostgreSQL."""

from bot.storage.database import Database, GuildConfig, StatsSummary

__all__ = ["Database", "GuildConfig", "StatsSummary"]
