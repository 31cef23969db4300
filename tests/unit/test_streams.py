"""The stream specs: what differs between invoice drafts and transactions, asked instead of comparing names."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from lexoffice.documents import Stream
from lexoffice.state.tenants import Tenant
from lexoffice.streams import INVOICES, SPECS, TRANSACTIONS, spec_of

TENANT = Tenant(tenant_id="nord", name="Nord GmbH", lexoffice_conn_id="lexoffice_nord", invoice_company_id="c1",
                bank_company_id="b1", export_since=date(2025, 1, 1), organization_id=None, auth_mode="api_key",
                connected=True, created_at=datetime(2025, 1, 1, tzinfo=timezone.utc))


def test_every_stream_has_exactly_one_spec() -> None:
    assert set(SPECS) == set(Stream)
    assert all(spec.stream == stream for stream, spec in SPECS.items())


@pytest.mark.parametrize("name, spec", [("invoices", INVOICES), (Stream.TRANSACTIONS, TRANSACTIONS)])
def test_a_stream_is_found_by_its_name_or_member(name: str, spec: object) -> None:
    assert spec_of(name) is spec


def test_an_unknown_stream_is_named_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown stream 'contacts'; expected one of invoices, transactions"):
        spec_of("contacts")


def test_each_stream_reads_its_own_company_and_keys_its_own_documents() -> None:
    assert (INVOICES.company_id(TENANT), TRANSACTIONS.company_id(TENANT)) == ("c1", "b1")
    assert (INVOICES.doc_key("42"), TRANSACTIONS.doc_key("42")) == ("draft:42", "txn:42")


def test_the_export_since_rule_dates_drafts_by_voucher_day_and_transactions_by_completion() -> None:
    completed = datetime(2025, 3, 4, 22, 30, tzinfo=timezone.utc)
    assert INVOICES.document_date({"voucherDate": "2025-03-05T00:00:00.000+01:00"}, completed) == date(2025, 3, 5)
    assert INVOICES.document_date({"voucherDate": "not a date"}, completed) is None
    assert INVOICES.document_date(None, completed) is None
    assert TRANSACTIONS.document_date(None, completed) == completed
