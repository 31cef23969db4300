"""Baseline: the state database as it was when migrations began (December 2026).

A database made before migrations (no version table) runs this revision too: it creates only the tables such
a database lacks (older releases added tables through ``create_all``) and leaves existing tables and their
rows alone. The definitions are frozen here on purpose: later changes to ``schema.py`` come with their own
revision, and tests check that the two agree.

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Constraint names are spelled out in full (op.f: not run through schema.py's naming convention again).
# Frozen column types (schema.UtcDateTime's storage is DateTime(timezone=True)).
_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_Time = sa.DateTime(timezone=True)


def _fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], ondelete="RESTRICT",
                                   name=op.f(f"fk_{table}_tenant_id_tenants"))


def _mapping_table(name: str, key_column: str, id_column: str) -> tuple[str, list[sa.SchemaItem]]:
    return name, [
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column(key_column, sa.String(200), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column(id_column, sa.String(100)),
        sa.Column("content_hash", sa.String(128)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("claimed_at", _Time, nullable=False),
        sa.Column("created_at", _Time),
        sa.Column("updated_at", _Time, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", key_column, name=op.f(f"pk_{name}")),
        _fk(name),
        sa.CheckConstraint("state IN ('creating', 'created', 'unknown')", name=op.f(f"ck_{name}_state")),
        sa.CheckConstraint(f"state <> 'created' OR {id_column} IS NOT NULL", name=op.f(f"ck_{name}_created_has_id")),
    ]


def _tables() -> list[tuple[str, list[sa.SchemaItem]]]:
    """Every table in creation order (tenants first: the others refer to it)."""
    return [
        ("tenants", [
            sa.Column("tenant_id", sa.String(64), nullable=False),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("lexoffice_conn_id", sa.String(250), nullable=False),
            sa.Column("invoice_company_id", sa.String(100)),
            sa.Column("bank_company_id", sa.String(100)),
            sa.Column("export_since", sa.Date),
            sa.Column("organization_id", sa.String(100)),
            sa.Column("auth_mode", sa.String(16), nullable=False),
            sa.Column("connected", sa.Boolean, nullable=False),
            sa.Column("created_at", _Time, nullable=False),
            sa.Column("updated_at", _Time, nullable=False),
            sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenants")),
            sa.CheckConstraint("auth_mode IN ('api_key', 'oauth')", name=op.f("ck_tenants_auth_mode")),
        ]),
        ("connection_periods", [
            sa.Column("id", _BigId, nullable=False, autoincrement=True),
            sa.Column("tenant_id", sa.String(64), nullable=False),
            sa.Column("organization_id", sa.String(100), nullable=False),
            sa.Column("connected_at", _Time, nullable=False),
            sa.Column("disconnected_at", _Time),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_connection_periods")),
            _fk("connection_periods"),
            sa.CheckConstraint("disconnected_at IS NULL OR disconnected_at >= connected_at",
                               name=op.f("ck_connection_periods_order")),
        ]),
        ("outbox", [
            sa.Column("id", _BigId, nullable=False, autoincrement=True),
            sa.Column("tenant_id", sa.String(64), nullable=False),
            sa.Column("stream", sa.String(32), nullable=False),
            sa.Column("doc_key", sa.String(200), nullable=False),
            sa.Column("state", sa.String(16), nullable=False),
            sa.Column("content_hash", sa.String(128), nullable=False),
            sa.Column("payload", sa.JSON(none_as_null=True)),
            sa.Column("reasons", sa.JSON, nullable=False),
            sa.Column("source_ref", sa.Text, nullable=False),
            sa.Column("event_time", _Time, nullable=False),
            sa.Column("group_key", sa.String(200)),
            sa.Column("sort_key", sa.String(200), nullable=False, server_default=""),
            sa.Column("related", sa.JSON, nullable=False),
            sa.Column("lexware_id", sa.String(100)),
            sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
            sa.Column("sending_started_at", _Time),
            sa.Column("sent_at", _Time),
            sa.Column("last_error", sa.Text),
            sa.Column("changed_after_send", sa.Boolean, nullable=False, server_default=sa.false()),
            sa.Column("changed_hash", sa.String(128)),
            sa.Column("staged_at", _Time, nullable=False),
            sa.Column("updated_at", _Time, nullable=False),
            sa.Column("run_id", sa.String(250)),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
            _fk("outbox"),
            sa.UniqueConstraint("tenant_id", "stream", "doc_key", name=op.f("uq_outbox_tenant_id_stream_doc_key")),
            sa.CheckConstraint("state IN ('invalid', 'pending', 'sending', 'sent', 'rejected', 'unknown')",
                               name=op.f("ck_outbox_state")),
        ]),
        _mapping_table("contact_map", "customer_key", "lexware_contact_id"),
        _mapping_table("account_map", "iban", "financial_account_id"),
        _mapping_table("source_account_map", "account_key", "financial_account_id"),
        ("oauth_tokens", [
            sa.Column("key", sa.String(250), nullable=False),
            sa.Column("ciphertext", sa.Text, nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("updated_at", _Time, nullable=False),
            sa.PrimaryKeyConstraint("key", name=op.f("pk_oauth_tokens")),
        ]),
        ("leases", [
            sa.Column("name", sa.String(250), nullable=False),
            sa.Column("holder", sa.String(250), nullable=False),
            sa.Column("token", sa.String(64), nullable=False),
            sa.Column("generation", sa.Integer, nullable=False),
            sa.Column("acquired_at", _Time, nullable=False),
            sa.Column("renewed_at", _Time, nullable=False),
            sa.Column("expires_at", _Time, nullable=False),
            sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
        ]),
        ("rate_slots", [
            sa.Column("key", sa.String(250), nullable=False),
            sa.Column("next_at", sa.Double, nullable=False),
            sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_slots")),
        ]),
        ("runs", [
            sa.Column("id", _BigId, nullable=False, autoincrement=True),
            sa.Column("run_id", sa.String(250), nullable=False),
            sa.Column("tenant_id", sa.String(64), nullable=False),
            sa.Column("stream", sa.String(32), nullable=False),
            sa.Column("started_at", _Time, nullable=False),
            sa.Column("finished_at", _Time),
            sa.Column("status", sa.String(32), nullable=False),
            sa.Column("counts", sa.JSON, nullable=False),
            sa.Column("message", sa.Text, nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
            sa.UniqueConstraint("run_id", "tenant_id", "stream", name=op.f("uq_runs_run_id_tenant_id_stream")),
        ]),
        ("lexware_duplicates", [
            sa.Column("tenant_id", sa.String(64), nullable=False),
            sa.Column("stream", sa.String(32), nullable=False),
            sa.Column("doc_key", sa.String(200), nullable=False),
            sa.Column("lexware_ids", sa.JSON, nullable=False),
            sa.Column("note", sa.Text, nullable=False),
            sa.Column("found_at", _Time, nullable=False),
            sa.PrimaryKeyConstraint("tenant_id", "stream", "doc_key", name=op.f("pk_lexware_duplicates")),
            _fk("lexware_duplicates"),
        ]),
        ("lexware_status", [
            sa.Column("tenant_id", sa.String(64), nullable=False),
            sa.Column("stream", sa.String(32), nullable=False),
            sa.Column("doc_key", sa.String(200), nullable=False),
            sa.Column("lexware_id", sa.String(100), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("voucher_number", sa.String(100)),
            sa.Column("status_changed_at", _Time, nullable=False),
            sa.Column("voucher_number_at", _Time),
            sa.Column("due_date", sa.Date),
            sa.Column("checked_at", _Time, nullable=False),
            sa.PrimaryKeyConstraint("tenant_id", "stream", "doc_key", name=op.f("pk_lexware_status")),
            sa.CheckConstraint("status IN ('draft', 'open', 'sepadebit', 'overdue', 'paid', 'paidoff', 'voided', "
                               "'deleted')", name=op.f("ck_lexware_status_status")),
        ]),
        ("lexware_status_changes", [
            sa.Column("id", _BigId, nullable=False, autoincrement=True),
            sa.Column("tenant_id", sa.String(64), nullable=False),
            sa.Column("stream", sa.String(32), nullable=False),
            sa.Column("doc_key", sa.String(200), nullable=False),
            sa.Column("lexware_id", sa.String(100), nullable=False),
            sa.Column("old_status", sa.String(16)),
            sa.Column("new_status", sa.String(16), nullable=False),
            sa.Column("voucher_number", sa.String(100)),
            sa.Column("changed_at", _Time, nullable=False),
            sa.Column("recorded_at", _Time, nullable=False),
            sa.Column("run_id", sa.String(250)),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_lexware_status_changes")),
        ]),
        ("status_writeback", [
            sa.Column("tenant_id", sa.String(64), nullable=False),
            sa.Column("enabled", sa.Boolean, nullable=False),
            sa.Column("updated_at", _Time, nullable=False),
            sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_status_writeback")),
            _fk("status_writeback"),
        ]),
        ("tenant_settings", [
            sa.Column("tenant_id", sa.String(64), nullable=False),
            sa.Column("send_mode", sa.String(16), nullable=False),
            sa.Column("updated_at", _Time, nullable=False),
            sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenant_settings")),
            _fk("tenant_settings"),
            sa.CheckConstraint("send_mode IN ('requested', 'all')", name=op.f("ck_tenant_settings_send_mode")),
        ]),
        ("document_events", [
            sa.Column("id", _BigId, nullable=False, autoincrement=True),
            sa.Column("tenant_id", sa.String(64), nullable=False),
            sa.Column("stream", sa.String(32), nullable=False),
            sa.Column("doc_key", sa.String(200), nullable=False),
            sa.Column("kind", sa.String(32), nullable=False),
            sa.Column("from_state", sa.String(16)),
            sa.Column("to_state", sa.String(16)),
            sa.Column("message", sa.Text, nullable=False),
            sa.Column("actor", sa.String(250)),
            sa.Column("at", _Time, nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_document_events")),
        ]),
        ("connection_health", [
            sa.Column("tenant_id", sa.String(64), nullable=False),
            sa.Column("last_ok_at", _Time),
            sa.Column("last_error_at", _Time),
            sa.Column("last_error", sa.Text),
            sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_connection_health")),
        ]),
        ("oauth_pending", [
            sa.Column("state", sa.String(100), nullable=False),
            sa.Column("tenant_id", sa.String(64), nullable=False),
            sa.Column("user_id", sa.String(250), nullable=False),
            sa.Column("code_verifier", sa.String(200), nullable=False),
            sa.Column("redirect_uri", sa.Text, nullable=False),
            sa.Column("created_at", _Time, nullable=False),
            sa.PrimaryKeyConstraint("state", name=op.f("pk_oauth_pending")),
        ]),
    ]


# (table, index, columns, unique, partial condition)
_INDEXES = (
    ("connection_periods", "ix_connection_periods_tenant", ["tenant_id", "connected_at"], False, None),
    ("connection_periods", "uq_connection_periods_open", ["tenant_id"], True, "disconnected_at IS NULL"),
    ("outbox", "ix_outbox_state_order", ["tenant_id", "stream", "state", "id"], False, None),
    ("runs", "ix_runs_tenant_stream_started", ["tenant_id", "stream", "started_at"], False, None),
    ("lexware_status_changes", "ix_lexware_status_changes_doc", ["tenant_id", "stream", "doc_key", "id"], False,
     None),
    ("document_events", "ix_document_events_doc", ["tenant_id", "stream", "doc_key", "id"], False, None),
)


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    created: set[str] = set()
    for name, elements in _tables():
        if name not in existing:
            op.create_table(name, *elements)
            created.add(name)
    for table, index, columns, unique, where in _INDEXES:
        if table in created:
            condition = {} if where is None else {"sqlite_where": sa.text(where), "postgresql_where": sa.text(where)}
            op.create_index(index, table, columns, unique=unique, **condition)


def downgrade() -> None:
    raise NotImplementedError("the state database is not downgraded: restore a backup instead")
