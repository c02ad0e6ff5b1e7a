"""Accounts of the web app and the API (name, role, argon2 password hash, hashed API tokens), and the
indexes the collection page sorts and counts facets by.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
INDEXED = ("kind", "operation", "creator", "date", "title")


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
    op.create_index("ix_items_withdrawn", "items", ["withdrawn"])  # visible items, newest first, without a sort
    for column in INDEXED:  # (withdrawn, column): the visible items' facet counts and sorts read one index range
        op.create_index(f"ix_items_visible_{column}", "items", ["withdrawn", column])


def downgrade() -> None:
    op.drop_index("ix_items_withdrawn", "items")
    for column in INDEXED:
        op.drop_index(f"ix_items_visible_{column}", "items")
    op.drop_table("tokens")
    op.drop_table("users")
