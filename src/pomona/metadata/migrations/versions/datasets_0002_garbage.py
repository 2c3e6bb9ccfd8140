"""Datasets: dataset garbage (blobs of deleted versions, for ``pomona gc``).

Revision ID: datasets_0002
Revises: datasets_0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "datasets_0002"
down_revision = "datasets_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dataset_garbage",
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name="pk_dataset_garbage"),
    )


def downgrade() -> None:
    op.drop_table("dataset_garbage")
