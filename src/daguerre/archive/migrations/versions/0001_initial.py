"""Items, PREMIS events, write intents, and full-text search (SQLite FTS5 / PostgreSQL tsvector).

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

_FTS_TRIGGERS = (
    "CREATE TRIGGER items_ai AFTER INSERT ON items BEGIN "
    "INSERT INTO items_fts(rowid, search_text) VALUES (new.pk, new.search_text); END",
    "CREATE TRIGGER items_ad AFTER DELETE ON items BEGIN "
    "INSERT INTO items_fts(items_fts, rowid, search_text) VALUES ('delete', old.pk, old.search_text); END",
    "CREATE TRIGGER items_au AFTER UPDATE OF search_text ON items BEGIN "
    "INSERT INTO items_fts(items_fts, rowid, search_text) VALUES ('delete', old.pk, old.search_text); "
    "INSERT INTO items_fts(rowid, search_text) VALUES (new.pk, new.search_text); END",
)


def upgrade() -> None:
    op.create_table(
        "items",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(16), nullable=False, unique=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("rendition_sha256", sa.String(64)),
        sa.Column("parent_id", sa.String(16), sa.ForeignKey("items.id"), index=True),
        sa.Column("root_id", sa.String(16), nullable=False, index=True),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("media_type", sa.String(40), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        *(sa.Column(name, sa.Text) for name in ("title", "creator")),
        sa.Column("date", sa.String(40), index=True),
        *(sa.Column(name, sa.Text) for name in ("description", "subject", "rights", "source", "identifier")),
        sa.Column("extra", sa.JSON, nullable=False),
        sa.Column("operation", sa.String(40), index=True),
        sa.Column("models", sa.Text),
        sa.Column("digital_source_type", sa.String(60)),
        sa.Column("event_id", sa.String(36)),
        sa.Column("created", sa.String(40), nullable=False, index=True),
        sa.Column("withdrawn", sa.Boolean, nullable=False),
        sa.Column("search_text", sa.Text, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("type", sa.String(40), nullable=False, index=True),
        sa.Column("datetime", sa.String(40), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("agent", sa.Text, nullable=False),
        sa.Column("outcome", sa.String(12), nullable=False),
        sa.Column("outcome_detail", sa.JSON, nullable=False),
        sa.Column("object_id", sa.String(16), index=True),
        sa.Column("source_id", sa.String(16), index=True),
        sa.Column("signer", sa.String(64)),
        sa.Column("signature", sa.Text),
    )
    op.create_table(
        "intents",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sha256", sa.String(64), nullable=False, index=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("created", sa.String(40), nullable=False),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE items_fts USING fts5(search_text, content='items', content_rowid='pk')")
        for trigger in _FTS_TRIGGERS:
            op.execute(trigger)
    elif op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_items_fts ON items USING gin (to_tsvector('simple', search_text))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE items_fts")
    for table in ("intents", "events", "items"):
        op.drop_table(table)
