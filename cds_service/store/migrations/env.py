"""Alembic environment: always run by cds_service.store.migrate.upgrade with an open connection.

The caller owns the transaction (and the lock taken in it), so Alembic must not begin or
commit its own; with a connection already in a transaction it does not.
"""

from alembic import context

from cds_service.store.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through cds_service.store.migrate.upgrade(engine)")

context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
