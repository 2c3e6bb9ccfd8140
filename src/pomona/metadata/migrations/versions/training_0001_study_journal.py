"""Training: the journal of hyperparameter studies.

Revision ID: training_0001
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "training_0001"
down_revision = "0002"
branch_labels = ("training",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "study_journal",
        sa.Column("study", sa.String(250), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entry", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("study", "seq", name="pk_study_journal"),
    )


def downgrade() -> None:
    op.drop_table("study_journal")
