"""Alembic environment: always driven in-process by ``nbmlops.store.migrate``."""

from alembic import context

from nbmlops.store.meta import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # ALTER TABLE on SQLite needs batch mode
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
