"""All tables of the state database, in SQLAlchemy Core, portable between SQLite and PostgreSQL.

A change here needs a migration (``state/migrations/versions``); a test compares the two and fails without one.

The state database is the only truth about what was sent to Lexware Office, so the schema carries the
guarantees it can: one outbox row per (tenant, stream, document), a CHECK on the document state, at most
one open connection period per tenant, foreign keys from the tenant-owned tables to their tenant.
"""

from __future__ import annotations

from datetime import UTC, datetime
import sqlalchemy as sa

# Predictable constraint names make errors readable and future migrations possible.
metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the database stores.

    SQLite has no timezone-aware type (SQLAlchemy stores naive text there), PostgreSQL returns the
    session's zone; both come back as UTC here, and naive datetimes are refused on the way in, because a
    naive value is ambiguous and the outbox's timestamps decide what was sent when.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: pass a timezone-aware value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

DOC_STATES = ("invalid", "pending", "sending", "sent", "rejected", "unknown")
MAPPING_STATES = ("creating", "created", "unknown")
AUTH_MODES = ("api_key", "oauth")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _tenant_fk() -> sa.ForeignKey:
    return sa.ForeignKey("tenants.tenant_id", ondelete="RESTRICT")


tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("lexoffice_conn_id", sa.String(250), nullable=False),
    sa.Column("invoice_company_id", sa.String(100)),
    sa.Column("bank_company_id", sa.String(100)),
    sa.Column("export_since", sa.Date),
    sa.Column("organization_id", sa.String(100)),
    sa.Column("auth_mode", sa.String(16), nullable=False),
    sa.Column("connected", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.CheckConstraint(_in("auth_mode", AUTH_MODES), name="auth_mode"),
)

connection_periods = sa.Table(
    "connection_periods",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), _tenant_fk(), nullable=False),
    sa.Column("organization_id", sa.String(100), nullable=False),
    sa.Column("connected_at", UtcDateTime, nullable=False),
    sa.Column("disconnected_at", UtcDateTime),
    sa.CheckConstraint("disconnected_at IS NULL OR disconnected_at >= connected_at", name="order"),
    sa.Index("ix_connection_periods_tenant", "tenant_id", "connected_at"),
    # At most one open period per tenant (partial unique index; both databases support it).
    sa.Index(
        "uq_connection_periods_open",
        "tenant_id",
        unique=True,
        sqlite_where=sa.text("disconnected_at IS NULL"),
        postgresql_where=sa.text("disconnected_at IS NULL"),
    ),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    # The record of what was sent belongs to a tenant: a tenant with outbox rows cannot be deleted.
    sa.Column("tenant_id", sa.String(64), _tenant_fk(), nullable=False),
    sa.Column("stream", sa.String(32), nullable=False),
    sa.Column("doc_key", sa.String(200), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("content_hash", sa.String(128), nullable=False),
    sa.Column("payload", sa.JSON(none_as_null=True)),
    sa.Column("reasons", sa.JSON, nullable=False),
    sa.Column("source_ref", sa.Text, nullable=False),
    sa.Column("event_time", UtcDateTime, nullable=False),
    sa.Column("group_key", sa.String(200)),
    sa.Column("sort_key", sa.String(200), nullable=False, server_default=""),
    sa.Column("related", sa.JSON, nullable=False),
    sa.Column("lexware_id", sa.String(100)),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("sending_started_at", UtcDateTime),
    sa.Column("sent_at", UtcDateTime),
    sa.Column("last_error", sa.Text),
    # A source change after the row left the re-stageable states: reported, never re-sent.
    sa.Column("changed_after_send", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("changed_hash", sa.String(128)),
    sa.Column("staged_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("run_id", sa.String(250)),
    sa.UniqueConstraint("tenant_id", "stream", "doc_key"),
    sa.CheckConstraint(_in("state", DOC_STATES), name="state"),
    # Rows of one state in id order: state filters, counts, and outbox.iter_rows' keyset pages.
    sa.Index("ix_outbox_state_order", "tenant_id", "stream", "state", "id"),
)
# No index in delivery order (group_key, sort_key): delivery reads one state's rows through
# ix_outbox_state_order and sorts them in Python (outbox.rows), so such an index would only cost every staged
# row another wide index entry that nothing reads. Migration 0002 drops it from older state databases.


def _mapping_table(name: str, key_column: str, id_column: str) -> sa.Table:
    """contact_map and account_map share one shape: a write-ahead record of a Lexware POST."""
    return sa.Table(
        name,
        metadata,
        sa.Column("tenant_id", sa.String(64), _tenant_fk(), primary_key=True),
        sa.Column(key_column, sa.String(200), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column(id_column, sa.String(100)),
        sa.Column("content_hash", sa.String(128)),  # of the POST body, to notice a changed customer
        sa.Column("attempts", sa.Integer, nullable=False, default=1),
        sa.Column("last_error", sa.Text),
        sa.Column("claimed_at", UtcDateTime, nullable=False),
        sa.Column("created_at", UtcDateTime),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.CheckConstraint(_in("state", MAPPING_STATES), name="state"),
        sa.CheckConstraint(f"state <> 'created' OR {id_column} IS NOT NULL", name="created_has_id"),
    )


contact_map = _mapping_table("contact_map", "customer_key", "lexware_contact_id")
account_map = _mapping_table("account_map", "iban", "financial_account_id")
# Financial accounts by the source account's identity (a card account may report the giro's IBAN, or none).
# account_map (by IBAN) is what older versions wrote; it is read only to settle rows staged before this table.
source_account_map = _mapping_table("source_account_map", "account_key", "financial_account_id")

oauth_tokens = sa.Table(
    "oauth_tokens",
    metadata,
    sa.Column("key", sa.String(250), primary_key=True),
    # Fernet token over the whole record (refresh token, access token, expiry): nothing readable at rest.
    sa.Column("ciphertext", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, default=1),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(250), primary_key=True),
    sa.Column("holder", sa.String(250), nullable=False),
    # Unique per Lease object, so two holders that pass the same display name still exclude each other.
    sa.Column("token", sa.String(64), nullable=False),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("acquired_at", UtcDateTime, nullable=False),
    sa.Column("renewed_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
)

rate_slots = sa.Table(
    "rate_slots",
    metadata,
    sa.Column("key", sa.String(250), primary_key=True),
    # Epoch seconds (database clock on PostgreSQL) before which no further request for `key` may start.
    sa.Column("next_at", sa.Double, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(250), nullable=False),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("stream", sa.String(32), nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("counts", sa.JSON, nullable=False),
    sa.Column("message", sa.Text, nullable=False, default=""),
    sa.UniqueConstraint("run_id", "tenant_id", "stream"),
    sa.Index("ix_runs_tenant_stream_started", "tenant_id", "stream", "started_at"),
)


# What the duplicate audit found in Lexware: a reference present more than once (lexoffice.delivery.audit).
# Replaced per tenant and stream by each full audit; the report shows these documents as "twice in Lexware".
lexware_duplicates = sa.Table(
    "lexware_duplicates",
    metadata,
    sa.Column("tenant_id", sa.String(64), _tenant_fk(), primary_key=True),
    sa.Column("stream", sa.String(32), primary_key=True),
    sa.Column("doc_key", sa.String(200), primary_key=True),
    sa.Column("lexware_ids", sa.JSON, nullable=False),
    sa.Column("note", sa.Text, nullable=False, default=""),
    sa.Column("found_at", UtcDateTime, nullable=False),
)

# --- what happened to each sent document in Lexware Office (lexoffice/followup/, issue 20) ---------------------
# New tables rather than outbox columns: the outbox records what we sent, these what the accountant did with it.
LEXWARE_STATUSES = ("draft", "open", "sepadebit", "overdue", "paid", "paidoff", "voided", "deleted")

lexware_status = sa.Table(
    "lexware_status",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("stream", sa.String(32), primary_key=True),
    sa.Column("doc_key", sa.String(200), primary_key=True),
    # The Lexware id the status belongs to: a draft sent again after a deletion gets a new one.
    sa.Column("lexware_id", sa.String(100), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("voucher_number", sa.String(100)),
    sa.Column("status_changed_at", UtcDateTime, nullable=False),  # Lexware's updatedDate, else when we saw it
    sa.Column("voucher_number_at", UtcDateTime),
    sa.Column("due_date", sa.Date),
    sa.Column("checked_at", UtcDateTime, nullable=False),
    sa.CheckConstraint(_in("status", LEXWARE_STATUSES), name="status"),
)

lexware_status_changes = sa.Table(
    "lexware_status_changes",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("stream", sa.String(32), nullable=False),
    sa.Column("doc_key", sa.String(200), nullable=False),
    sa.Column("lexware_id", sa.String(100), nullable=False),
    sa.Column("old_status", sa.String(16)),
    sa.Column("new_status", sa.String(16), nullable=False),
    sa.Column("voucher_number", sa.String(100)),
    sa.Column("changed_at", UtcDateTime, nullable=False),
    sa.Column("recorded_at", UtcDateTime, nullable=False),
    sa.Column("run_id", sa.String(250)),
    sa.Index("ix_lexware_status_changes_doc", "tenant_id", "stream", "doc_key", "id"),
)

# Per tenant: whether the nightly status sync also writes to the project's status table in the source system.
status_writeback = sa.Table(
    "status_writeback",
    metadata,
    sa.Column("tenant_id", sa.String(64), _tenant_fk(), primary_key=True),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

SEND_MODES = ("requested", "all")

# Per-tenant settings that came after the tenants table. A tenant without a row here uses the defaults in
# state/tenants.py.
tenant_settings = sa.Table(
    "tenant_settings",
    metadata,
    sa.Column("tenant_id", sa.String(64), _tenant_fk(), primary_key=True),
    sa.Column("send_mode", sa.String(16), nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.CheckConstraint(_in("send_mode", SEND_MODES), name="send_mode"),
)

# What happened to a document besides its state column: a re-send chosen by a person, a warning on the
# document (a total Lexware shows differently). Append-only; read by the report and the CLI.
document_events = sa.Table(
    "document_events",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("stream", sa.String(32), nullable=False),
    sa.Column("doc_key", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("from_state", sa.String(16)),
    sa.Column("to_state", sa.String(16)),
    sa.Column("message", sa.Text, nullable=False, default=""),
    sa.Column("actor", sa.String(250)),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Index("ix_document_events_doc", "tenant_id", "stream", "doc_key", "id"),
)

# Health of each tenant's Lexware connection, for the UI's "verbunden" indicator: the stored ``connected`` flag
# says what a person chose, this says whether the last calls worked (state/health.py).
connection_health = sa.Table(
    "connection_health",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("last_ok_at", UtcDateTime),
    sa.Column("last_error_at", UtcDateTime),
    sa.Column("last_error", sa.Text),
)

# OAuth "Zugriff erlauben" started in the UI: the server-side state and PKCE verifier, one use, short-lived
# (ui/oauth.py). Kept in the state DB so any api-server worker can finish the flow.
oauth_pending = sa.Table(
    "oauth_pending",
    metadata,
    sa.Column("state", sa.String(100), primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(250), nullable=False),
    sa.Column("code_verifier", sa.String(200), nullable=False),
    sa.Column("redirect_uri", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)
