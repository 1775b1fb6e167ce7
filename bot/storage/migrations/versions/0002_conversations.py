"""Persistent answers and conversations: the answer as shown, the latest turn per conversation.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("shown", sa.JSON(), nullable=True))
    op.create_table(
        "conversation_turns",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("speaker", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_conversation_turns_updated_at", "conversation_turns", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_conversation_turns_updated_at", "conversation_turns")
    op.drop_table("conversation_turns")
    with op.batch_alter_table("answers") as batch:
        batch.drop_column("shown")
