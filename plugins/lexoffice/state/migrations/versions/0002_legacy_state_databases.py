"""What ``init_db`` used to repair in state databases made by older releases, done once.

* The outbox index in delivery order (``ix_outbox_delivery_order``) is dropped: delivery sorts in Python,
  nothing reads it, and it cost every staged row another wide index entry.
* PostgreSQL: the outbox's foreign key to tenants, which a release dropped for staging speed, is added back.
  ``NOT VALID`` first (a short lock; new rows are checked from then on), then validated, which reads the table
  without blocking writers. Rows of a tenant deleted by hand leave it unvalidated, with a warning saying what
  to do; the key then still checks every new row. (SQLite cannot add a constraint to an existing table; a
  SQLite file from that release keeps what it has.)
* ``lexware_status`` made before Lexware's status ``sepadebit`` was known gets the current CHECK, so recording
  a SEPA debit no longer fails there.

On a database made by the baseline revision there is nothing to do, and nothing is done.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

log = logging.getLogger("lexoffice.state.migrations")
_OUTBOX_KEY = "fk_outbox_tenant_id_tenants"
_STATUS_CHECK = "ck_lexware_status_status"
_STATUSES = "status IN ('draft', 'open', 'sepadebit', 'overdue', 'paid', 'paidoff', 'voided', 'deleted')"


def upgrade() -> None:
    bind = op.get_bind()
    op.execute("DROP INDEX IF EXISTS ix_outbox_delivery_order")
    if bind.dialect.name == "postgresql":
        _restore_outbox_tenant_key(bind)
    _allow_sepadebit(bind)


def _restore_outbox_tenant_key(conn: sa.Connection) -> None:
    found = conn.execute(sa.text("SELECT convalidated FROM pg_constraint WHERE conname = :name "
                                 "AND conrelid = 'outbox'::regclass"), {"name": _OUTBOX_KEY}).first()
    if found is None:
        op.execute(f"ALTER TABLE outbox ADD CONSTRAINT {_OUTBOX_KEY} FOREIGN KEY (tenant_id) "
                   "REFERENCES tenants (tenant_id) ON DELETE RESTRICT NOT VALID")
    elif found.convalidated:
        return
    try:
        with conn.begin_nested():
            conn.execute(sa.text(f"ALTER TABLE outbox VALIDATE CONSTRAINT {_OUTBOX_KEY}"))
    except sa.exc.IntegrityError:
        orphans = conn.execute(sa.text("SELECT DISTINCT tenant_id FROM outbox WHERE tenant_id NOT IN "
                                       "(SELECT tenant_id FROM tenants) ORDER BY tenant_id LIMIT 10")).scalars()
        names = ", ".join(orphans)
        log.warning("Outbox-Zeilen gelöschter Mandanten: %s. Neue Zeilen werden geprüft; legen Sie diese "
                    "Mandanten wieder an (lexoffice tenant add) und prüfen Sie dann die alten Zeilen mit "
                    "`ALTER TABLE outbox VALIDATE CONSTRAINT %s`. / Outbox rows of deleted tenants: %s. New rows "
                    "are checked; add those tenants back (lexoffice tenant add), then run that statement.",
                    names, _OUTBOX_KEY, names)


def _allow_sepadebit(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        definition = conn.execute(sa.text("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = :name "
                                          "AND conrelid = 'lexware_status'::regclass"),
                                  {"name": _STATUS_CHECK}).scalar_one_or_none()
    else:
        definition = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' "
                                          "AND name = 'lexware_status'")).scalar_one_or_none()
    if definition is None or "sepadebit" in definition:
        return
    with op.batch_alter_table("lexware_status", recreate="auto") as batch:
        batch.drop_constraint(op.f(_STATUS_CHECK), type_="check")
        batch.create_check_constraint(op.f(_STATUS_CHECK), sa.text(_STATUSES))
