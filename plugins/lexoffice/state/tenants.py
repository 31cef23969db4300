"""Tenants: a company with its own Lexware organisation, connection history and export-since date.

Two rules protect the books. ``export_since`` only moves forward: documents before it may already be in
Lexware by other means, so widening the range later could duplicate them. And a tenant is bound to the
Lexware organisation of its first connection: reconnecting it to another organisation would deliver one
company's documents into another company's books.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from lexoffice.state.db import dialect_insert, read_transaction, utcnow, write_transaction
from lexoffice.state.schema import AUTH_MODES, SEND_MODES, tenant_settings, tenants
from lexoffice.state.schema import connection_periods as periods_table

AuthMode = Literal["api_key", "oauth"]
# Windows and export_since are calendar dates in the business's zone, not in UTC.
BUSINESS_ZONE = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    name: str
    lexoffice_conn_id: str
    invoice_company_id: str | None
    bank_company_id: str | None
    export_since: date | None
    organization_id: str | None
    auth_mode: str
    connected: bool
    created_at: datetime


class TenantNotFound(KeyError):
    """No tenant with this id (a KeyError, with a message rather than a quoted key)."""

    def __init__(self, tenant_id: str) -> None:
        super().__init__(tenant_id)
        self.tenant_id = tenant_id

    def __str__(self) -> str:
        return f"tenant {self.tenant_id!r} does not exist; add it first (lexoffice tenant add …)"


class TenantConflict(ValueError):
    """add_tenant was called again for an existing tenant with different settings."""


class ExportSinceError(ValueError):
    """A request to move export_since earlier."""


class OrganisationMismatch(ValueError):
    """A tenant was connected to a different Lexware organisation than the one it is bound to."""

    def __init__(self, tenant_id: str, bound: str, offered: str) -> None:
        super().__init__(
            f"tenant {tenant_id!r} is bound to Lexware organisation {bound}, but the new connection "
            f"belongs to organisation {offered}. Delivering would put this company's documents into "
            f"another company's books. Connect with credentials of organisation {bound}, or add a new "
            f"tenant for organisation {offered}."
        )
        self.tenant_id, self.bound, self.offered = tenant_id, bound, offered


class OrganisationShared(ValueError):
    """Another tenant already delivers the same source company into the same Lexware organisation."""

    def __init__(self, tenant_id: str, other: str, organization_id: str) -> None:
        super().__init__(
            f"tenant {tenant_id!r} would deliver the same source company into Lexware organisation "
            f"{organization_id} as tenant {other!r} already does: every document would be sent twice. "
            f"Use tenant {other!r} for this company (remove {tenant_id!r}), or connect {tenant_id!r} to its own "
            f"organisation. / Mandant {tenant_id!r} würde dieselbe Firma in dieselbe Lexware-Organisation "
            f"übertragen wie Mandant {other!r}; jedes Dokument käme doppelt an."
        )
        self.tenant_id, self.other, self.organization_id = tenant_id, other, organization_id


def _export_since_refused(tenant_id: str, current: date, requested: date) -> ExportSinceError:
    return ExportSinceError(
        f"export_since for tenant {tenant_id} is {current.isoformat()} and can only move forward; "
        f"{requested.isoformat()} is earlier. Documents before {current.isoformat()} are never delivered "
        f"automatically because they may already be in Lexware Office. Keep {current.isoformat()} or "
        f"choose a later date; enter older documents in Lexware Office by hand if they are missing."
    )


def _require_aware(at: datetime, name: str = "at") -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {at.isoformat()}")


def _tenant(row: sa.Row[Any]) -> Tenant:
    m = row._mapping
    return Tenant(
        tenant_id=m["tenant_id"],
        name=m["name"],
        lexoffice_conn_id=m["lexoffice_conn_id"],
        invoice_company_id=m["invoice_company_id"],
        bank_company_id=m["bank_company_id"],
        export_since=m["export_since"],
        organization_id=m["organization_id"],
        auth_mode=m["auth_mode"],
        connected=bool(m["connected"]),
        created_at=m["created_at"],
    )


def _load(conn: sa.Connection, tenant_id: str, *, for_update: bool = False) -> Tenant:
    query = sa.select(tenants).where(tenants.c.tenant_id == tenant_id)
    if for_update:
        query = query.with_for_update()  # PostgreSQL row lock; SQLite already holds the write lock
    row = conn.execute(query).first()
    if row is None:
        raise TenantNotFound(tenant_id)
    return _tenant(row)


def add_tenant(
    engine: sa.Engine,
    *,
    tenant_id: str,
    name: str,
    lexoffice_conn_id: str,
    invoice_company_id: str | None = None,
    bank_company_id: str | None = None,
    export_since: date | None = None,
    auth_mode: AuthMode | str = "api_key",
    send_mode: str | None = None,
) -> Tenant:
    """Create a tenant; calling it again with identical arguments returns the existing tenant.

    A new tenant gets ``send_mode`` (default ``DEFAULT_SEND_MODE``); for an existing one it is left alone.
    """
    if send_mode is not None:
        _check_send_mode(send_mode)
    if not tenant_id or not tenant_id.strip():
        raise ValueError("tenant_id must not be empty")
    if len(tenant_id) > tenants.c.tenant_id.type.length:
        raise ValueError(f"tenant id {tenant_id[:20]!r}… has {len(tenant_id)} characters; at most "
                         f"{tenants.c.tenant_id.type.length} are allowed. Choose a shorter id")
    if auth_mode not in AUTH_MODES:
        raise ValueError(f"auth_mode must be one of {', '.join(AUTH_MODES)}, got {auth_mode!r}")
    wanted = {
        "name": name,
        "lexoffice_conn_id": lexoffice_conn_id,
        "invoice_company_id": invoice_company_id,
        "bank_company_id": bank_company_id,
        "export_since": export_since,
        "auth_mode": str(auth_mode),
    }
    now = utcnow()
    with write_transaction(engine) as conn:
        inserted = conn.execute(
            dialect_insert(conn, tenants)
            .values(tenant_id=tenant_id, connected=False, created_at=now, updated_at=now, **wanted)
            .on_conflict_do_nothing(index_elements=["tenant_id"])
            .returning(tenants.c.tenant_id)
        ).first()
        existing = _load(conn, tenant_id)
        if inserted is not None:
            _write_send_mode(conn, tenant_id, send_mode or DEFAULT_SEND_MODE)
    if inserted is None:
        differing = [f for f, value in wanted.items() if getattr(existing, f) != value]
        if differing:
            details = ", ".join(f"{f}: stored {getattr(existing, f)!r}, given {wanted[f]!r}" for f in differing)
            raise TenantConflict(
                f"tenant {tenant_id!r} already exists with different settings ({details}); "
                f"change it with update_tenant or set_export_since (lexoffice tenant update / set-export-since)"
            )
    return existing


def update_tenant(
    engine: sa.Engine,
    tenant_id: str,
    *,
    name: str | None = None,
    lexoffice_conn_id: str | None = None,
    invoice_company_id: str | None = None,
    bank_company_id: str | None = None,
    auth_mode: AuthMode | str | None = None,
) -> Tenant:
    """Change descriptive settings (not export_since, not the organisation binding)."""
    changes: dict[str, Any] = {
        k: v
        for k, v in {
            "name": name,
            "lexoffice_conn_id": lexoffice_conn_id,
            "invoice_company_id": invoice_company_id,
            "bank_company_id": bank_company_id,
            "auth_mode": auth_mode,
        }.items()
        if v is not None
    }
    if "auth_mode" in changes and changes["auth_mode"] not in AUTH_MODES:
        raise ValueError(f"auth_mode must be one of {', '.join(AUTH_MODES)}, got {auth_mode!r}")
    with write_transaction(engine) as conn:
        _load(conn, tenant_id, for_update=True)
        if changes:
            conn.execute(
                sa.update(tenants).where(tenants.c.tenant_id == tenant_id).values(updated_at=utcnow(), **changes)
            )
        return _load(conn, tenant_id)


def get_tenant(engine: sa.Engine, tenant_id: str) -> Tenant:
    with read_transaction(engine) as conn:
        return _load(conn, tenant_id)


def list_tenants(engine: sa.Engine) -> list[Tenant]:
    with read_transaction(engine) as conn:
        return [_tenant(r) for r in conn.execute(sa.select(tenants).order_by(tenants.c.tenant_id))]


def set_export_since(engine: sa.Engine, tenant_id: str, new: date) -> Tenant:
    """Move export_since forward (or set it the first time). Moving it earlier is refused."""
    with write_transaction(engine) as conn:
        moved = conn.execute(
            sa.update(tenants)
            .where(
                tenants.c.tenant_id == tenant_id,
                sa.or_(tenants.c.export_since.is_(None), tenants.c.export_since <= new),
            )
            .values(export_since=new, updated_at=utcnow())
        ).rowcount
        tenant = _load(conn, tenant_id)  # raises TenantNotFound
    if not moved:
        assert tenant.export_since is not None
        raise _export_since_refused(tenant_id, tenant.export_since, new)
    return tenant


def _sharing(conn: sa.Connection, tenant: Tenant, organization_id: str) -> list[str]:
    c = tenants.c
    same_company = [c.invoice_company_id == tenant.invoice_company_id] if tenant.invoice_company_id else []
    if tenant.bank_company_id:
        same_company.append(c.bank_company_id == tenant.bank_company_id)
    if not same_company:
        return []
    query = (sa.select(c.tenant_id)
             .where(c.organization_id == organization_id, c.tenant_id != tenant.tenant_id, sa.or_(*same_company))
             .order_by(c.tenant_id))
    return [row.tenant_id for row in conn.execute(query)]


def tenants_sharing_organisation(engine: sa.Engine, tenant: Tenant, organization_id: str) -> list[str]:
    """Other tenants bound to ``organization_id`` with the same invoice or bank source company as ``tenant``.

    THE rule checked at connect (refused) and again before delivery (blocked): two such tenants would send
    every document twice.
    """
    with read_transaction(engine) as conn:
        return _sharing(conn, tenant, organization_id)


def connect_date(at: datetime) -> date:
    """The calendar day of a connect, in the business's zone (a 00:30 connect in Berlin is that day)."""
    return at.astimezone(BUSINESS_ZONE).date()


def record_connect(
    engine: sa.Engine, tenant_id: str, *, organization_id: str, at: datetime, export_since: date | None = None
) -> Tenant:
    """Record a (re)connect: bind the organisation on first connect, open a connection period.

    First connect: stores organization_id, and export_since if none is set yet (default: the connect
    date). Later connects: the organisation must be the same, and export_since can only move forward.
    Connecting an already connected tenant (e.g. a rotated API key) keeps its open period.
    """
    _require_aware(at)
    if not organization_id:
        raise ValueError("organization_id must not be empty")
    with write_transaction(engine) as conn:
        tenant = _load(conn, tenant_id, for_update=True)
        if tenant.organization_id is not None and tenant.organization_id != organization_id:
            raise OrganisationMismatch(tenant_id, tenant.organization_id, organization_id)
        others = _sharing(conn, tenant, organization_id)
        if others:
            raise OrganisationShared(tenant_id, others[0], organization_id)
        since = tenant.export_since
        if since is None:
            since = export_since or connect_date(at)
        elif export_since is not None:
            if export_since < since:
                raise _export_since_refused(tenant_id, since, export_since)
            since = export_since
        conn.execute(
            sa.update(tenants)
            .where(tenants.c.tenant_id == tenant_id)
            .values(organization_id=organization_id, export_since=since, connected=True, updated_at=utcnow())
        )
        open_period = conn.execute(
            sa.select(periods_table.c.id).where(
                periods_table.c.tenant_id == tenant_id, periods_table.c.disconnected_at.is_(None)
            )
        ).first()
        if open_period is None:
            conn.execute(
                sa.insert(periods_table).values(
                    tenant_id=tenant_id, organization_id=organization_id, connected_at=at
                )
            )
        return _load(conn, tenant_id)


def record_disconnect(engine: sa.Engine, tenant_id: str, *, at: datetime) -> Tenant:
    """Close the open connection period. Delivery stops; staging goes on. A no-op if not connected."""
    _require_aware(at)
    with write_transaction(engine) as conn:
        _load(conn, tenant_id, for_update=True)
        period = conn.execute(
            sa.select(periods_table.c.id, periods_table.c.connected_at).where(
                periods_table.c.tenant_id == tenant_id, periods_table.c.disconnected_at.is_(None)
            )
        ).first()
        if period is not None:
            if at < period.connected_at:
                raise ValueError(
                    f"disconnect time {at.isoformat()} is before the connect time "
                    f"{period.connected_at.isoformat()} of tenant {tenant_id!r}"
                )
            conn.execute(
                sa.update(periods_table)
                .where(periods_table.c.id == period.id)
                .values(disconnected_at=at)
            )
        conn.execute(
            sa.update(tenants).where(tenants.c.tenant_id == tenant_id).values(connected=False, updated_at=utcnow())
        )
        return _load(conn, tenant_id)


def connection_periods(engine: sa.Engine, tenant_id: str) -> list[tuple[datetime, datetime | None]]:
    """Every connection period of a tenant, oldest first; the open one ends in None."""
    with read_transaction(engine) as conn:
        _load(conn, tenant_id)
        result = conn.execute(
            sa.select(periods_table.c.connected_at, periods_table.c.disconnected_at)
            .where(periods_table.c.tenant_id == tenant_id)
            .order_by(periods_table.c.connected_at, periods_table.c.id)
        )
        return [(r.connected_at, r.disconnected_at) for r in result]


# ------------------------------------------------------------------------------------------------ send mode

#: ``requested``: a nightly run sends the drafts whose send was requested in the source ("An die Buchhaltung
#: senden" wrote ``send_requested_at``); ``all``: every valid draft of the window (the behaviour before send
#: modes existed). New tenants get ``requested`` (docs/sources.md says why); tenants created before send modes
#: existed have no setting and keep ``all``.
DEFAULT_SEND_MODE = "requested"
LEGACY_SEND_MODE = "all"


def _check_send_mode(mode: str) -> None:
    if mode not in SEND_MODES:
        raise ValueError(f"send mode must be one of {', '.join(SEND_MODES)}, got {mode!r} "
                         "(requested: only drafts marked 'An die Buchhaltung senden'; all: every valid draft)")


def _write_send_mode(conn: sa.Connection, tenant_id: str, mode: str) -> None:
    now = utcnow()
    statement = dialect_insert(conn, tenant_settings).values(tenant_id=tenant_id, send_mode=mode, updated_at=now)
    conn.execute(statement.on_conflict_do_update(index_elements=["tenant_id"],
                                                 set_={"send_mode": mode, "updated_at": now}))


def set_send_mode(engine: sa.Engine, tenant_id: str, mode: str) -> str:
    """Choose which drafts a tenant's nightly run sends (``requested`` or ``all``)."""
    _check_send_mode(mode)
    with write_transaction(engine) as conn:
        _load(conn, tenant_id)
        _write_send_mode(conn, tenant_id, mode)
    return mode


def send_mode(engine: sa.Engine, tenant_id: str) -> str:
    """The tenant's send mode; ``all`` for a tenant created before send modes existed."""
    with read_transaction(engine) as conn:
        _load(conn, tenant_id)
        mode = conn.execute(sa.select(tenant_settings.c.send_mode)
                            .where(tenant_settings.c.tenant_id == tenant_id)).scalar_one_or_none()
    return mode or LEGACY_SEND_MODE
