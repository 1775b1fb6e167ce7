"""Initial schema: answers, votes, guild settings, answer channels.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "answers",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=True),
        sa.Column("channel_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("abstained", sa.Boolean(), nullable=False),
        sa.Column("passage_ids", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(64), nullable=True),
    )
    op.create_index("ix_answers_created_at", "answers", ["created_at"])
    op.create_index("ix_answers_guild_id", "answers", ["guild_id"])
    op.create_table(
        "votes",
        sa.Column(
            "answer_id",
            sa.Integer(),
            sa.ForeignKey("answers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("user_id", sa.BigInteger(), primary_key=True),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("voted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "guild_settings",
        sa.Column("guild_id", sa.BigInteger(), primary_key=True),
        sa.Column("k", sa.Integer(), nullable=True),
        sa.Column("private_by_default", sa.Boolean(), nullable=False),
        sa.Column("threads", sa.Boolean(), nullable=False),
        sa.Column("cooldown_questions", sa.Integer(), nullable=True),
        sa.Column("cooldown_seconds", sa.Float(), nullable=True),
    )
    op.create_table(
        "answer_channels",
        sa.Column("guild_id", sa.BigInteger(), primary_key=True),
        sa.Column("channel_id", sa.BigInteger(), primary_key=True),
        sa.Column("added_by", sa.BigInteger(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("answer_channels")
    op.drop_table("guild_settings")
    op.drop_table("votes")
    op.drop_index("ix_answers_guild_id", "answers")
    op.drop_index("ix_answers_created_at", "answers")
    op.drop_table("answers")
