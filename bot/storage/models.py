"""The schema. Changes go through an Alembic migration in `bot/storage/migrations/versions/`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utc_now() -> datetime:
    """What the time columns below hold: an aware UTC time."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class AnswerRecord(Base):
    """One answer the bot posted: what was asked, where, and which passages it showed."""

    __tablename__ = "answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    guild_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    channel_id: Mapped[int | None] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger)
    question: Mapped[str] = mapped_column(Text)
    abstained: Mapped[bool] = mapped_column(Boolean)
    passage_ids: Mapped[list[str]] = mapped_column(JSON)
    source: Mapped[str | None] = mapped_column(String(64))
    # Everything its buttons need to redraw it in any process, after any restart (None for
    # answers stored before buttons were persistent): see bot/storage/shown.py.
    shown: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Vote(Base):
    """A 👍 (+1) or 👎 (-1) on an answer; one per user per answer, changeable."""

    __tablename__ = "votes"

    answer_id: Mapped[int] = mapped_column(
        ForeignKey("answers.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    value: Mapped[int] = mapped_column(Integer)
    voted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class GuildSettings(Base):
    """A server's own settings; NULL means "the bot's default"."""

    __tablename__ = "guild_settings"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    k: Mapped[int | None] = mapped_column(Integer)
    private_by_default: Mapped[bool] = mapped_column(Boolean, default=False)
    threads: Mapped[bool] = mapped_column(Boolean, default=False)
    cooldown_questions: Mapped[int | None] = mapped_column(Integer)
    cooldown_seconds: Mapped[float | None] = mapped_column(Float)


class AnswerChannel(Base):
    """A channel where every message is taken as a question."""

    __tablename__ = "answer_channels"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    channel_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    added_by: Mapped[int] = mapped_column(BigInteger)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConversationTurn(Base):
    """The latest question of a conversation, for the follow-up that may come next.

    `key` names the conversation: `message:<id>` for a reply to that answer, `channel:<id>` for
    a thread or a DM. Rows older than the follow-up window are ignored and cleared.
    """

    __tablename__ = "conversation_turns"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    query: Mapped[str] = mapped_column(Text)
    speaker: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
