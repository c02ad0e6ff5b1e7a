"""The catalogue: SQLAlchemy 2 tables for items, PREMIS events, write intents, runs and jobs; SQLite or PostgreSQL.

Every engine is migrated to the newest schema with Alembic when it is opened (the scripts live in
``daguerre/archive/migrations``). SQLite runs in WAL mode and takes its write lock at ``BEGIN`` so that
several processes can share one catalogue without "database is locked" upgrades failing half-way.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import JSON, BigInteger, Boolean, Engine, ForeignKey, Integer, String, Text, create_engine, event, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from sqlalchemy.types import Float

from daguerre.archive.errors import ArchiveError

MIGRATIONS = Path(__file__).with_name("migrations")
MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "TIFF": "image/tiff", "WEBP": "image/webp",
               "BMP": "image/bmp", "MPO": "image/jpeg"}
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/tiff": ".tif", "image/webp": ".webp",
              "image/bmp": ".bmp"}
DUBLIN_CORE = ("title", "creator", "date", "description", "subject", "rights", "source", "identifier")


def now() -> str:
    """The current time as the catalogue stores it: ISO 8601 in UTC with microseconds (sorts as text)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Base(DeclarativeBase):
    pass


class Item(Base):
    """One stored file: a master (as ingested) or a derivative (made by an operation from its parent)."""

    __tablename__ = "items"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(12))  # master | derivative
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    rendition_sha256: Mapped[str | None] = mapped_column(String(64))  # derivative bytes before the C2PA label
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("items.id"), index=True)
    root_id: Mapped[str] = mapped_column(String(16), index=True)
    filename: Mapped[str] = mapped_column(Text)
    media_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(Text)
    creator: Mapped[str | None] = mapped_column(Text)
    date: Mapped[str | None] = mapped_column(String(40), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(Text)
    rights: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    identifier: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    operation: Mapped[str | None] = mapped_column(String(40), index=True)
    models: Mapped[str | None] = mapped_column(Text)  # space-separated model names, for filtering
    digital_source_type: Mapped[str | None] = mapped_column(String(60))
    event_id: Mapped[str | None] = mapped_column(String(36))  # the event that made it
    created: Mapped[str] = mapped_column(String(40), index=True)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    search_text: Mapped[str] = mapped_column(Text, default="")

    def text(self) -> str:
        """What full-text search sees: Dublin Core, file name, operation, models, id and kind."""
        return " ".join(filter(None, [*(getattr(self, k) for k in DUBLIN_CORE), self.filename, self.operation,
                                      self.models, self.id, self.kind]))

    def dublin_core(self) -> dict[str, str]:
        return {k: v for k in DUBLIN_CORE if (v := getattr(self, k))}

    def record(self) -> dict:
        """Every column but the internal ones, as plain JSON-able values."""
        return {c.name: getattr(self, c.key) for c in self.__table__.columns if c.name not in ("pk", "search_text")}


class Event(Base):
    """A PREMIS event: what happened to which object, when, by which agent, with what outcome; signed."""

    __tablename__ = "events"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(40), index=True)
    datetime: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text, default="")
    agent: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(12))  # success | failure | warning
    outcome_detail: Mapped[dict] = mapped_column(JSON, default=dict)
    object_id: Mapped[str | None] = mapped_column(String(16), index=True)  # the outcome object
    source_id: Mapped[str | None] = mapped_column(String(16), index=True)  # the source object (derivations)
    signer: Mapped[str | None] = mapped_column(String(64))  # sha256 fingerprint of the signing certificate
    signature: Mapped[str | None] = mapped_column(Text)

    def record(self) -> dict:
        return {c.name: getattr(self, c.key) for c in self.__table__.columns if c.name != "pk"}


class Intent(Base):
    """A file being written to the store by a live process; a dead process's intent marks a possible orphan."""

    __tablename__ = "intents"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    created: Mapped[str] = mapped_column(String(40))


def connect(url: str) -> Engine:
    """An engine for ``url``, migrated to the newest schema."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    else:
        engine = create_engine(url, pool_pre_ping=True)
    try:
        migrate(engine)
    except DatabaseError as e:
        if damaged := corrupt(engine, e):
            raise damaged from None
        raise
    return engine


def corrupt(engine: Engine, error: Exception) -> ArchiveError | None:
    """A one-line error naming the catalogue file if `error` says it is damaged (SQLite's "database disk image is
    malformed", "file is not a database"; not its "locked" and other operational errors), else None."""
    if type(error) is not DatabaseError or type(error.orig) is not sqlite3.DatabaseError:
        return None
    return ArchiveError(f"{engine.url.database}: the catalogue is corrupt ({error.orig})")


def _sqlite_connect(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # let the "begin" hook issue BEGIN IMMEDIATE
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=60000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def migrate(engine: Engine) -> None:
    """Bring the catalogue to the newest Alembic revision (a no-op when it is there already)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with engine.connect() as conn:
        if MigrationContext.configure(conn).get_current_revision() == head:
            return
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(7343001)"))  # two first opens at once
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def sessions(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def read_sessions(engine: Engine) -> sessionmaker:
    """Sessions for reading only. On SQLite they skip the ``BEGIN IMMEDIATE`` of `connect` (each statement reads
    a WAL snapshot), so that many readers, such as the web app's page views, run side by side instead of
    queueing for the write lock; never write through them."""
    if engine.dialect.name != "sqlite":
        return sessions(engine)
    reader = create_engine(engine.url, connect_args={"timeout": 60})
    event.listen(reader, "connect", _sqlite_connect)
    return sessions(reader)


def lock_intents(session) -> None:
    """Serialise orphan cleanup with writers (SQLite's BEGIN IMMEDIATE already holds the write lock)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE intents IN EXCLUSIVE MODE"))


class Run(Base):
    """A batch run: one operation with the same parameters over the items a query matched."""

    __tablename__ = "runs"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    operation: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    query: Mapped[str] = mapped_column(Text, default="")
    backend: Mapped[str] = mapped_column(String(255), default="local")
    created_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[str] = mapped_column(String(40), index=True)
    finished_at: Mapped[str | None] = mapped_column(String(40))
    owner: Mapped[str | None] = mapped_column(String(255))  # the client running it: host:pid:token (its lease)
    heartbeat: Mapped[float | None] = mapped_column(Float)  # when that client last renewed the lease (epoch s)


class Job(Base):
    """An operation applied to one item: queued | running | done | failed | cancelled, with progress and error."""

    __tablename__ = "jobs"
    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.id"), index=True)
    item_id: Mapped[str] = mapped_column(String(16), index=True)
    operation: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), index=True, default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    derivative_id: Mapped[str | None] = mapped_column(String(16))
    created_by: Mapped[str | None] = mapped_column(String(255), index=True)
    created_at: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[str | None] = mapped_column(String(40))
    finished_at: Mapped[str | None] = mapped_column(String(40))

    def record(self) -> dict:
        return {c.name: getattr(self, c.key) for c in self.__table__.columns if c.name != "pk"}
