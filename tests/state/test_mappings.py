"""Contact and financial-account mappings: a small write-ahead state machine per Lexware POST."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from lexoffice.state import mappings
from lexoffice.state.mappings import MappingState, MappingTransitionError, accounts, contacts


def test_create_path(engine: sa.Engine, tenant: str) -> None:
    assert contacts.get(engine, tenant_id=tenant, key="cust:1") is None
    assert contacts.claim(engine, tenant_id=tenant, key="cust:1", content_hash="h1")
    assert not contacts.claim(engine, tenant_id=tenant, key="cust:1", content_hash="h1")
    creating = contacts.get(engine, tenant_id=tenant, key="cust:1")
    assert creating is not None and (creating.state, creating.lexware_id, creating.attempts) == (
        MappingState.CREATING, None, 1)

    contacts.mark_created(engine, tenant_id=tenant, key="cust:1", lexware_id="c-123")

    created = contacts.get(engine, tenant_id=tenant, key="cust:1")
    assert created is not None
    assert (created.state, created.lexware_id, created.content_hash) == (MappingState.CREATED, "c-123", "h1")
    assert created.created_at is not None
    with pytest.raises(MappingTransitionError, match="from 'created' to 'created'"):
        contacts.mark_created(engine, tenant_id=tenant, key="cust:1", lexware_id="c-999")


def test_unknown_outcome_then_reconciled(engine: sa.Engine, tenant: str) -> None:
    assert accounts.claim(engine, tenant_id=tenant, key="DE02120300000000202051")
    accounts.mark_unknown(engine, tenant_id=tenant, key="DE02120300000000202051", error="504 after sending")
    unknown = accounts.get(engine, tenant_id=tenant, key="DE02120300000000202051")
    assert unknown is not None and (unknown.state, unknown.last_error) == (MappingState.UNKNOWN, "504 after sending")
    assert not accounts.claim(engine, tenant_id=tenant, key="DE02120300000000202051")  # look it up first
    with pytest.raises(MappingTransitionError):
        accounts.mark_unknown(engine, tenant_id=tenant, key="DE02120300000000202051", error="again")
    accounts.mark_created(engine, tenant_id=tenant, key="DE02120300000000202051", lexware_id="fa-1")
    created = accounts.get(engine, tenant_id=tenant, key="DE02120300000000202051")
    assert created is not None and (created.state, created.lexware_id) == (MappingState.CREATED, "fa-1")


def test_release_makes_room_for_a_new_attempt(engine: sa.Engine, tenant: str) -> None:
    assert contacts.claim(engine, tenant_id=tenant, key="cust:1")
    contacts.release(engine, tenant_id=tenant, key="cust:1")  # e.g. 406: nothing was created
    assert contacts.get(engine, tenant_id=tenant, key="cust:1") is None
    assert contacts.claim(engine, tenant_id=tenant, key="cust:1")
    contacts.mark_unknown(engine, tenant_id=tenant, key="cust:1")
    contacts.release(engine, tenant_id=tenant, key="cust:1")  # reconciled: not in Lexware
    assert contacts.claim(engine, tenant_id=tenant, key="cust:1")
    contacts.mark_created(engine, tenant_id=tenant, key="cust:1", lexware_id="c-1")
    with pytest.raises(MappingTransitionError, match="from 'created' to 'absent'"):
        contacts.release(engine, tenant_id=tenant, key="cust:1")
    with pytest.raises(MappingTransitionError, match="from 'absent'"):
        contacts.release(engine, tenant_id=tenant, key="cust:404")


@pytest.mark.parametrize("start", ["absent", "creating", "unknown"])
def test_adopt_an_existing_lexware_object(engine: sa.Engine, tenant: str, start: str) -> None:
    if start != "absent":
        assert contacts.claim(engine, tenant_id=tenant, key="cust:1", content_hash="h1")
    if start == "unknown":
        contacts.mark_unknown(engine, tenant_id=tenant, key="cust:1")

    adopted = contacts.adopt(engine, tenant_id=tenant, key="cust:1", lexware_id="c-7")

    assert (adopted.state, adopted.lexware_id) == (MappingState.CREATED, "c-7")
    assert adopted.content_hash == (None if start == "absent" else "h1")
    assert contacts.adopt(engine, tenant_id=tenant, key="cust:1", lexware_id="c-7") == adopted
    with pytest.raises(MappingTransitionError, match="already points to c-7"):
        contacts.adopt(engine, tenant_id=tenant, key="cust:1", lexware_id="c-8")


def test_content_hash_update_and_listing(engine: sa.Engine, tenant: str) -> None:
    contacts.adopt(engine, tenant_id=tenant, key="cust:2", lexware_id="c-2", content_hash="old")
    contacts.claim(engine, tenant_id=tenant, key="cust:1")
    contacts.set_content_hash(engine, tenant_id=tenant, key="cust:2", content_hash="new")
    assert contacts.get(engine, tenant_id=tenant, key="cust:2").content_hash == "new"  # type: ignore[union-attr]
    with pytest.raises(MappingTransitionError):
        contacts.set_content_hash(engine, tenant_id=tenant, key="cust:1", content_hash="x")
    assert [m.key for m in contacts.list_for_tenant(engine, tenant_id=tenant)] == ["cust:1", "cust:2"]
    assert [m.key for m in contacts.list_for_tenant(engine, tenant_id=tenant, states=["creating"])] == ["cust:1"]
    assert accounts.list_for_tenant(engine, tenant_id=tenant) == []  # separate tables


def test_orphaned_creating_rows_become_unknown(engine: sa.Engine, tenant: str) -> None:
    contacts.claim(engine, tenant_id=tenant, key="cust:1")
    contacts.adopt(engine, tenant_id=tenant, key="cust:2", lexware_id="c-2")
    assert contacts.orphaned_creating_to_unknown(engine, tenant_id=tenant) == 1
    states = {m.key: m.state for m in contacts.list_for_tenant(engine, tenant_id=tenant)}
    assert states == {"cust:1": MappingState.UNKNOWN, "cust:2": MappingState.CREATED}


def test_threads_claiming_one_contact_exactly_one_wins(engine: sa.Engine, tenant: str) -> None:
    barrier = threading.Barrier(5)
    wins: list[bool] = []

    def claim() -> None:
        barrier.wait(timeout=30)
        wins.append(contacts.claim(engine, tenant_id=tenant, key="cust:1"))

    threads = [threading.Thread(target=claim) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(wins) == [False] * 4 + [True]


def test_flat_functions_used_by_delivery(engine: sa.Engine, tenant: str) -> None:
    assert mappings.claim_contact(engine, tenant_id=tenant, customer_key="cust:1")
    mappings.mark_contact_unknown(engine, tenant_id=tenant, customer_key="cust:1")
    mappings.release_contact(engine, tenant_id=tenant, customer_key="cust:1")
    assert mappings.claim_contact(engine, tenant_id=tenant, customer_key="cust:1")
    mappings.mark_contact_created(engine, tenant_id=tenant, customer_key="cust:1", lexware_id="c-1")
    mappings.adopt_contact(engine, tenant_id=tenant, customer_key="cust:2", lexware_id="c-2")
    got = mappings.get_contact(engine, tenant_id=tenant, customer_key="cust:1")
    assert got is not None and got.state == mappings.MapState.CREATED and got.lexware_id == "c-1"

    iban = "DE89370400440532013000"
    assert mappings.claim_account(engine, tenant_id=tenant, iban=iban)
    mappings.mark_account_unknown(engine, tenant_id=tenant, iban=iban)
    mappings.adopt_account(engine, tenant_id=tenant, iban=iban, lexware_id="fa-1")
    assert mappings.get_account(engine, tenant_id=tenant, iban=iban).lexware_id == "fa-1"  # type: ignore[union-attr]
    assert mappings.claim_account(engine, tenant_id=tenant, iban="DE75512108001245126199")
    mappings.release_account(engine, tenant_id=tenant, iban="DE75512108001245126199")
    assert mappings.claim_account(engine, tenant_id=tenant, iban="DE75512108001245126199")
    mappings.mark_account_created(engine, tenant_id=tenant, iban="DE75512108001245126199", lexware_id="fa-2")
    second = mappings.get_account(engine, tenant_id=tenant, iban="DE75512108001245126199")
    assert second is not None and second.lexware_id == "fa-2"


def test_mappings_belong_to_an_existing_tenant(engine: sa.Engine) -> None:
    with pytest.raises(sa.exc.IntegrityError):
        contacts.claim(engine, tenant_id="ghost", key="cust:1")
