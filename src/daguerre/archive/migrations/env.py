"""Alembic environment: runs on the connection the catalogue hands over (see catalogue.migrate)."""

from alembic import context

from daguerre.archive.catalogue import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
