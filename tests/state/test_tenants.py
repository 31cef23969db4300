"""Tenants: export_since only moves forward, the organisation is bound at first connect, periods are kept."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from lexoffice.state import tenants
from lexoffice.state.tenants import ExportSinceError, OrganisationMismatch, TenantConflict, TenantNotFound

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def _add(engine: sa.Engine, **overrides: object) -> tenants.Tenant:
    args: dict[str, object] = {"tenant_id": "acme", "name": "Acme GmbH", "lexoffice_conn_id": "lex_acme",
                               "invoice_company_id": "17", "bank_company_id": None, "export_since": None,
                               "auth_mode": "api_key"}
    return tenants.add_tenant(engine, **{**args, **overrides})  # type: ignore[arg-type]


def test_add_is_idempotent_for_identical_arguments(engine: sa.Engine) -> None:
    first = _add(engine)
    assert first == _add(engine)
    assert (first.connected, first.organization_id, first.export_since) == (False, None, None)
    assert first.created_at.tzinfo is not None
    with pytest.raises(TenantConflict, match="lexoffice_conn_id: stored 'lex_acme', given 'lex_other'"):
        _add(engine, lexoffice_conn_id="lex_other")
    assert tenants.list_tenants(engine) == [first]


def test_add_validates(engine: sa.Engine) -> None:
    with pytest.raises(ValueError, match="auth_mode"):
        _add(engine, auth_mode="password")
    with pytest.raises(ValueError, match="tenant_id"):
        _add(engine, tenant_id=" ")


def test_unknown_tenant_is_a_clear_keyerror(engine: sa.Engine) -> None:
    with pytest.raises(TenantNotFound) as caught:
        tenants.get_tenant(engine, "ghost")
    assert isinstance(caught.value, KeyError)
    assert str(caught.value) == "tenant 'ghost' does not exist; add it first (lexoffice tenant add …)"
    for call in (
        lambda: tenants.set_export_since(engine, "ghost", date(2025, 1, 1)),
        lambda: tenants.record_connect(engine, "ghost", organization_id="o", at=T0),
        lambda: tenants.record_disconnect(engine, "ghost", at=T0),
        lambda: tenants.connection_periods(engine, "ghost"),
    ):
        with pytest.raises(TenantNotFound):
            call()


def test_list_and_update(engine: sa.Engine) -> None:
    _add(engine, tenant_id="zeta")
    _add(engine, tenant_id="alpha", auth_mode="oauth")
    assert [t.tenant_id for t in tenants.list_tenants(engine)] == ["alpha", "zeta"]
    updated = tenants.update_tenant(engine, "zeta", name="Zeta AG", bank_company_id="9")
    assert (updated.name, updated.bank_company_id, updated.invoice_company_id) == ("Zeta AG", "9", "17")


def test_export_since_moves_forward_only(engine: sa.Engine) -> None:
    _add(engine)
    assert tenants.set_export_since(engine, "acme", date(2025, 3, 1)).export_since == date(2025, 3, 1)
    assert tenants.set_export_since(engine, "acme", date(2025, 3, 1)).export_since == date(2025, 3, 1)
    assert tenants.set_export_since(engine, "acme", date(2025, 4, 1)).export_since == date(2025, 4, 1)

    with pytest.raises(ExportSinceError) as caught:
        tenants.set_export_since(engine, "acme", date(2025, 1, 1))

    message = str(caught.value)
    assert message.startswith(
        "export_since for tenant acme is 2025-04-01 and can only move forward; 2025-01-01 is earlier."
    )
    assert "Keep 2025-04-01 or choose a later date" in message
    assert tenants.get_tenant(engine, "acme").export_since == date(2025, 4, 1)


def test_first_connect_binds_organisation_and_sets_export_since(engine: sa.Engine) -> None:
    _add(engine)
    # 23:30 UTC on 1 March is already 2 March in Berlin, the business's calendar.
    late_evening = datetime(2025, 3, 1, 23, 30, tzinfo=UTC)
    tenant = tenants.record_connect(engine, "acme", organization_id="org-1", at=late_evening)
    assert (tenant.organization_id, tenant.export_since, tenant.connected) == ("org-1", date(2025, 3, 2), True)


def test_first_connect_with_explicit_export_since_and_a_preset_one(engine: sa.Engine) -> None:
    _add(engine)
    assert tenants.record_connect(engine, "acme", organization_id="o", at=T0,
                                  export_since=date(2025, 1, 1)).export_since == date(2025, 1, 1)
    _add(engine, tenant_id="preset", export_since=date(2024, 12, 1))
    assert tenants.record_connect(engine, "preset", organization_id="p", at=T0).export_since == date(2024, 12, 1)
    with pytest.raises(ExportSinceError):
        tenants.record_connect(engine, "preset", organization_id="p", at=T0, export_since=date(2024, 11, 1))


def test_reconnect_to_another_organisation_is_refused(engine: sa.Engine) -> None:
    _add(engine)
    tenants.record_connect(engine, "acme", organization_id="org-1", at=T0)
    tenants.record_disconnect(engine, "acme", at=T0 + timedelta(days=1))

    with pytest.raises(OrganisationMismatch) as caught:
        tenants.record_connect(engine, "acme", organization_id="org-2", at=T0 + timedelta(days=2))

    assert "org-1" in str(caught.value) and "org-2" in str(caught.value)
    assert (caught.value.bound, caught.value.offered) == ("org-1", "org-2")
    tenant = tenants.get_tenant(engine, "acme")
    assert (tenant.organization_id, tenant.connected) == ("org-1", False)
    assert len(tenants.connection_periods(engine, "acme")) == 1


def test_reconnect_keeps_export_since_unless_moved_forward(engine: sa.Engine) -> None:
    _add(engine)
    tenants.record_connect(engine, "acme", organization_id="org-1", at=T0)
    tenants.record_disconnect(engine, "acme", at=T0 + timedelta(days=10))
    again = tenants.record_connect(engine, "acme", organization_id="org-1", at=T0 + timedelta(days=20))
    assert again.export_since == date(2025, 3, 1)  # reconnecting delivers what was missed in between
    with pytest.raises(ExportSinceError, match="2025-03-01 and can only move forward"):
        tenants.record_connect(engine, "acme", organization_id="org-1", at=T0 + timedelta(days=21),
                               export_since=date(2025, 2, 1))
    moved = tenants.record_connect(engine, "acme", organization_id="org-1", at=T0 + timedelta(days=22),
                                   export_since=date(2025, 3, 15))
    assert moved.export_since == date(2025, 3, 15)


def test_connection_periods(engine: sa.Engine) -> None:
    _add(engine)
    assert tenants.connection_periods(engine, "acme") == []
    tenants.record_connect(engine, "acme", organization_id="o", at=T0)
    tenants.record_connect(engine, "acme", organization_id="o", at=T0 + timedelta(hours=1))  # rotated key
    assert tenants.connection_periods(engine, "acme") == [(T0, None)]
    tenants.record_disconnect(engine, "acme", at=T0 + timedelta(days=3))
    assert tenants.record_disconnect(engine, "acme", at=T0 + timedelta(days=4)).connected is False  # no-op
    tenants.record_connect(engine, "acme", organization_id="o", at=T0 + timedelta(days=7))

    assert tenants.connection_periods(engine, "acme") == [
        (T0, T0 + timedelta(days=3)),
        (T0 + timedelta(days=7), None),
    ]
    assert tenants.get_tenant(engine, "acme").connected is True


def test_times_must_be_aware_and_ordered(engine: sa.Engine) -> None:
    _add(engine)
    with pytest.raises(ValueError, match="timezone-aware"):
        tenants.record_connect(engine, "acme", organization_id="o", at=datetime(2025, 3, 1, 8, 0))
    tenants.record_connect(engine, "acme", organization_id="o", at=T0)
    with pytest.raises(ValueError, match="before the connect time"):
        tenants.record_disconnect(engine, "acme", at=T0 - timedelta(seconds=1))
    assert tenants.get_tenant(engine, "acme").connected is True


def test_a_second_tenant_for_the_same_company_and_organisation_is_refused_naming_the_first(
        engine: sa.Engine) -> None:
    from lexoffice.state.tenants import OrganisationShared

    _add(engine)
    tenants.record_connect(engine, "acme", organization_id="org-1", at=T0)
    _add(engine, tenant_id="acme2", lexoffice_conn_id="lex_acme2")  # same invoice company 17
    with pytest.raises(OrganisationShared, match="as tenant 'acme' already does"):
        tenants.record_connect(engine, "acme2", organization_id="org-1", at=T0)
    assert tenants.get_tenant(engine, "acme2").organization_id is None  # nothing was bound
    assert tenants.tenants_sharing_organisation(engine, tenants.get_tenant(engine, "acme2"), "org-1") == ["acme"]
    # Its own organisation is fine, and so is another company in the same organisation.
    tenants.record_connect(engine, "acme2", organization_id="org-2", at=T0)
    _add(engine, tenant_id="other", lexoffice_conn_id="lex_other", invoice_company_id="18")
    tenants.record_connect(engine, "other", organization_id="org-1", at=T0)


def test_send_mode_new_tenants_requested_older_ones_all(engine) -> None:
    """Issue 17: a new tenant sends only what the office requested; a tenant from before send modes keeps 'all'."""
    import sqlalchemy as sa

    from lexoffice.state import tenants as t
    from lexoffice.state.schema import tenant_settings

    t.add_tenant(engine, tenant_id="neu", name="Neu GmbH", lexoffice_conn_id="lex_neu")
    assert t.send_mode(engine, "neu") == "requested"
    t.add_tenant(engine, tenant_id="alle", name="Alle GmbH", lexoffice_conn_id="lex_alle", send_mode="all")
    assert t.send_mode(engine, "alle") == "all"
    t.add_tenant(engine, tenant_id="alle", name="Alle GmbH", lexoffice_conn_id="lex_alle")  # again: unchanged
    assert t.send_mode(engine, "alle") == "all"
    t.add_tenant(engine, tenant_id="alt", name="Alt GmbH", lexoffice_conn_id="lex_alt")
    with engine.begin() as conn:  # as if created before send modes existed
        conn.execute(sa.delete(tenant_settings).where(tenant_settings.c.tenant_id == "alt"))
    assert t.send_mode(engine, "alt") == "all"
    assert t.set_send_mode(engine, "alt", "requested") == "requested"
    assert t.send_mode(engine, "alt") == "requested"
    with pytest.raises(ValueError, match="requested.*all"):
        t.set_send_mode(engine, "alt", "some")
    with pytest.raises(t.TenantNotFound):
        t.set_send_mode(engine, "nobody", "all")
