"""Alembic's entry point: migrations run on the connection the caller passes (``migrations.upgrade``), in its
transaction. Outside the project, ``alembic -x url=...`` is not supported on purpose: use ``lexoffice db``."""

from __future__ import annotations

from alembic import context

from lexoffice.state.migrations import VERSION_TABLE
from lexoffice.state.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the state database migrations with `lexoffice db upgrade`, not the alembic command")

# transactional_ddl: SQLite runs DDL in transactions too, so a failed migration leaves nothing half done.
context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE,
                  render_as_batch=True, compare_type=True, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
