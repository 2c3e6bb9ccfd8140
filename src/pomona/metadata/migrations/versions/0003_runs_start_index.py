"""Index runs by start time so newest-first listings read one page, not the table.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_runs_start_ms_pk", "runs", ["start_ms", "pk"])


def downgrade() -> None:
    op.drop_index("ix_runs_start_ms_pk", table_name="runs")
