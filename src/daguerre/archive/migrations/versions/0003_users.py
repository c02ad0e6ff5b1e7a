"""Accounts of the web app and the API (name, role, argon2 password hash, hashed API tokens), and the
indexes the collection page sorts and counts facets by.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(12), nullable=False),
        sa.Column("password_hash", sa.Text),
        sa.Column("created", sa.String(40), nullable=False),
    )
    op.create_table(
        "tokens",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("user_name", sa.String(64), sa.ForeignKey("users.name", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("created", sa.String(40), nullable=False),
    )
    for column in ("kind", "creator", "title", "withdrawn"):
        op.create_index(f"ix_items_{column}", "items", [column])


def downgrade() -> None:
    for column in ("kind", "creator", "title", "withdrawn"):
        op.drop_index(f"ix_items_{column}", "items")
    op.drop_table("tokens")
    op.drop_table("users")
