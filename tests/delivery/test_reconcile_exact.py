"""Reconciling an invoice draft matches exactly one whole reference line in ``remark``, cross-checked, against
drafts really stored in the sandbox (the old marker regex matched prefixes, ``/`` suffixes and quoted text)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pendulum
import pytest

from lexoffice.delivery.reconcile import AmbiguousDraft, find_invoice_for_row
from tests.client.sandbox_helpers import api_key_client, contact_body, create_org, invoice_body
from tests.support.sandbox_server import SandboxServer

OURS = "Referenz: RE-1 · lxa:draft:R1"
LOOK_ALIKES = [
    "Referenz: RE-1 · lxa:draft:R1 x",  # our line with a suffix
    "Referenz: RE-1 · lxa:draft:R1/5",  # an id that extends ours with '/'
    "Referenz: RE-1 · lxa:draft:R10",  # an id of which ours is a prefix
    "Referenz: RE-1 · lxa:draft:R1:2",  # ':' continues the id
    "Referenz: RE-1 · lxa:draft:R 1",  # a space inside the id
    f"Bitte beachten: wie in »{OURS}« vereinbart\nReferenz: RE-7 · lxa:draft:R7",  # quotes our line in a sentence
]


def _row(contact_id: str, remark: str = OURS, net: float = 100.0) -> Any:
    payload = invoice_body(remark=remark, net=net, contact_id=contact_id)
    return SimpleNamespace(doc_key="draft:R1", payload=payload, source_ref="RE-1 (manual)",
                           sending_started_at=pendulum.now("UTC"))


@pytest.fixture
def setup(sandbox: SandboxServer) -> tuple[Any, str]:
    org = create_org(sandbox)
    client = api_key_client(sandbox, org)
    contact_id = client.create_contact(contact_body())["id"]
    return client, contact_id


def test_look_alike_references_are_not_our_draft(setup: tuple[Any, str]) -> None:
    client, contact_id = setup
    for remark in LOOK_ALIKES:
        client.create_invoice(invoice_body(remark=remark, contact_id=contact_id))
    client.create_invoice({**invoice_body(remark="Referenz: RE-9 · lxa:draft:R9", contact_id=contact_id),
                           "title": "lxa:draft:R1", "introduction": OURS})  # outside remark: not ours
    assert find_invoice_for_row(client, _row(contact_id), contact_id=contact_id) is None

    created = client.create_invoice(invoice_body(remark=f"Danke für den Auftrag.\n{OURS}", contact_id=contact_id))
    found = find_invoice_for_row(client, _row(contact_id), contact_id=contact_id)
    assert found is not None and found["id"] == created["id"]


def test_our_line_on_a_draft_that_disagrees_is_ambiguous_not_a_match(setup: tuple[Any, str]) -> None:
    client, contact_id = setup
    client.create_invoice(invoice_body(remark=OURS, net=250.0, contact_id=contact_id))
    with pytest.raises(AmbiguousDraft, match="line 1 differs"):
        find_invoice_for_row(client, _row(contact_id, net=100.0), contact_id=contact_id)


def test_two_drafts_with_our_line_are_reported_not_picked(setup: tuple[Any, str]) -> None:
    client, contact_id = setup
    for _ in range(2):
        client.create_invoice(invoice_body(remark=OURS, contact_id=contact_id))
    with pytest.raises(AmbiguousDraft, match="exists 2 times"):
        find_invoice_for_row(client, _row(contact_id), contact_id=contact_id)
