"""The report task's cheap duplicate check looks only at documents whose outcome was uncertain, and records a
reference found twice in the sandbox so that the report shows it."""

from __future__ import annotations

from types import SimpleNamespace

import pendulum
import sqlalchemy as sa

from lexoffice.delivery.audit import check_uncertain_invoices
from lexoffice.report import document_rows, state_counts, summary_line
from lexoffice.state import duplicates, outbox, tenants
from lexoffice.state.db import init_db
from tests.client.sandbox_helpers import api_key_client, contact_body, create_org, invoice_body, request_log
from tests.support.sandbox_server import SandboxServer

LINE = "Referenz: RE-1 · lxa:draft:R1"


def test_only_uncertain_rows_are_checked_and_a_double_is_recorded(sandbox: SandboxServer, engine: sa.Engine) -> None:
    init_db(engine)
    tenants.add_tenant(engine, tenant_id="t", name="T GmbH", lexoffice_conn_id="lex_t", invoice_company_id="c")
    org = create_org(sandbox)
    client = api_key_client(sandbox, org)
    contact_id = client.create_contact(contact_body())["id"]
    ids = [client.create_invoice(invoice_body(remark=LINE, contact_id=contact_id))["id"] for _ in range(2)]
    tenant = tenants.get_tenant(engine, "t")

    def row(attempts: int) -> SimpleNamespace:
        return SimpleNamespace(doc_key="draft:R1", state=outbox.DocState.SENT, attempts=attempts, last_error=None,
                               payload=invoice_body(remark=LINE, contact_id=contact_id), related={},
                               sending_started_at=pendulum.now("UTC"), staged_at=pendulum.now("UTC"))

    before = len(request_log(sandbox, org))
    assert check_uncertain_invoices(engine, client, tenant, [row(attempts=1)]).checked == 0
    assert len(request_log(sandbox, org)) == before  # the common case costs no request

    result = check_uncertain_invoices(engine, client, tenant, [row(attempts=2)])
    assert [(d.doc_key, sorted(d.lexware_ids)) for d in result.duplicates] == [("draft:R1", sorted(ids))]
    assert set(duplicates.for_stream(engine, tenant_id="t", stream="invoices")) == {"draft:R1"}
    assert "1 of them more than once in Lexware" in summary_line("t", "invoices",
                                                                 state_counts(engine, tenant_id="t", stream="invoices"))
    assert document_rows(engine, tenant_ids=["t"], streams=["invoices"]) == []  # no outbox row: nothing to label
