"""Alembic environment: runs on a connection handed in by `Database.migrate`."""

from alembic import context

from wanode.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
