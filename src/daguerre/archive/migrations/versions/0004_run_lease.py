"""A run's lease: which client is running it (host:pid:token) and when it last said so, so that a second
client refuses to resume a run that is still alive and takes over one whose client died.

Revision ID: 0004_run_lease
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_run_lease"
down_revision = "0003"


def upgrade() -> None:
    with op.batch_alter_table("runs") as t:
        t.add_column(sa.Column("owner", sa.String(255)))
        t.add_column(sa.Column("heartbeat", sa.Float))


def downgrade() -> None:
    with op.batch_alter_table("runs") as t:
        t.drop_column("heartbeat")
        t.drop_column("owner")
