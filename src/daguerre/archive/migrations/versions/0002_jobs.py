"""Runs and jobs: the shared job table of batch runs and the web app.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("operation", sa.String(40), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("backend", sa.String(255), nullable=False),
        sa.Column("created_by", sa.String(255)),
        sa.Column("created_at", sa.String(40), nullable=False, index=True),
        sa.Column("finished_at", sa.String(40)),
    )
    op.create_table(
        "jobs",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("run_id", sa.String(36), sa.ForeignKey("runs.id"), index=True),
        sa.Column("item_id", sa.String(16), nullable=False, index=True),
        sa.Column("operation", sa.String(40), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("status", sa.String(12), nullable=False, index=True),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("derivative_id", sa.String(16)),
        sa.Column("created_by", sa.String(255), index=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("started_at", sa.String(40)),
        sa.Column("finished_at", sa.String(40)),
    )


def downgrade() -> None:
    op.drop_table("jobs")
    op.drop_table("runs")
