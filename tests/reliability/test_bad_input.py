"""The bad-input corpus through the real DAGs: every malformed or hostile document is refused with its reason
(or, when it is hostile but valid, delivered with its text intact), and the valid documents of the same batch
are delivered exactly once. Names carrying SQL are stored and sent verbatim and never executed.

One DAG run per stream delivers the whole corpus (module-scoped, so the 70-odd cases cost two runs, not 70);
each case is then its own test against that run's outbox and the sandbox.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from tests.reliability import corpus
from tests.reliability.audit import audit, invoice_markers, transaction_markers
from tests.reliability.corpus import INVOICE_CASES, TRANSACTION_CASES, Case
from tests.reliability.scenarios import INVOICES_DAG, TRANSACTIONS_DAG, nightly
from tests.reliability.world import ReliabilityWorld, build_world
from tests.support.sandbox_server import SandboxServer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

INVOICE_TENANT, TRANSACTION_TENANT = "corpinv", "corptxn"


@dataclass
class CorpusRun:
    world: ReliabilityWorld
    tenant: str
    stream: str
    rows: dict[str, Any]
    markers: dict[str, list[str]]
    stored: dict[str, dict[str, Any]]
    runs: list[str]
    notes: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def corpus_world(airflow_db: None, sandbox_server: SandboxServer,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReliabilityWorld]:
    sandbox_server.reset()
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield build_world(sandbox_server, tmp_path_factory.mktemp("corpus"), monkeypatch)


def _tables(engine: sa.Engine) -> dict[str, int]:
    """Every table with its row count: what an executed DROP or DELETE would change."""
    with engine.connect() as conn:
        return {name: conn.execute(sa.text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one()
                for name in sa.inspect(conn).get_table_names()}


def _existing_lexware_customer(world: ReliabilityWorld, tenant: str) -> str:
    """A customer that already exists in Lexware under a name with '&' (entered there by hand)."""
    response = requests.post(f"{world.sandbox.base_url}/v1/contacts", timeout=10, json={
        "version": 0, "roles": {"customer": {}}, "company": {"name": corpus.AMPERSAND_NAME},
        "addresses": {"billing": [{"street": "Marktplatz 1", "zip": "50667", "city": "Köln", "countryCode": "DE"}]},
        "emailAddresses": {"business": ["buchhaltung@mueller-soehne.example"]},
    }, headers={"Authorization": f"Bearer {world.tenants[tenant].api_key}"})
    response.raise_for_status()
    return str(response.json()["id"])


@pytest.fixture(scope="module")
def invoice_corpus(corpus_world: ReliabilityWorld) -> CorpusRun:
    world = corpus_world
    fs = world.engine(world.fieldservice_url)
    corpus.invoice_world(fs)
    for case in INVOICE_CASES:
        case.build(fs, case.key)
    world.add_tenant(INVOICE_TENANT, company_id=corpus.COMPANY, streams=("invoices",))
    preexisting = _existing_lexware_customer(world, INVOICE_TENANT)
    before = _tables(world.state), _tables(fs)

    runs = [str(world.run_dag(INVOICES_DAG, logical_date=nightly(corpus.DAY)).state)]
    posts = _posts(world, INVOICE_TENANT)
    # The "select drafts and send them" action with a duplicated id, after everything was sent: nothing more.
    again = world.run_dag(INVOICES_DAG, conf={"tenant": INVOICE_TENANT,
                                              "document_ids": ["duplicate-a", "duplicate-a", "plain-1"]})
    runs.append(str(again.state))
    assert _posts(world, INVOICE_TENANT) == posts, "the selection with a duplicated id sent something again"

    after = _tables(world.state), _tables(fs)
    assert set(after[0]) >= set(before[0]) and after[1] == before[1], "a table was dropped or a row deleted"
    invoices = world.lexware(INVOICE_TENANT, "invoices")
    contacts = {c["id"]: c for c in world.lexware(INVOICE_TENANT, "contacts")}
    markers = invoice_markers(invoices)
    by_id = {inv["id"]: inv for inv in invoices}
    stored = {}
    for key, ids in markers.items():
        invoice = by_id[ids[0]]
        stored[key.removeprefix("draft:")] = {"invoice": invoice, "preexisting_contact_id": preexisting,
                                              "contact": contacts.get(invoice["address"].get("contactId"), {})}
    rows = {r.doc_key.removeprefix("draft:"): r for r in world.outbox(INVOICE_TENANT, "invoices")}
    return CorpusRun(world, INVOICE_TENANT, "invoices", rows, markers, stored, runs,
                     notes=[f"{len(after[1])} source and {len(after[0])} state tables intact"])


@pytest.fixture(scope="module")
def transaction_corpus(corpus_world: ReliabilityWorld) -> CorpusRun:
    world = corpus_world
    bank = world.engine(world.bank_url)
    corpus.bank_world(bank)
    for case in TRANSACTION_CASES:
        case.build(bank, case.key)
    world.add_tenant(TRANSACTION_TENANT, company_id=corpus.BANK, streams=("transactions",))
    before = _tables(bank)

    runs = [str(world.run_dag(TRANSACTIONS_DAG, logical_date=nightly(corpus.DAY, minute=30)).state)]

    assert _tables(bank) == before, "a source table was dropped or a row deleted"
    transactions = world.lexware(TRANSACTION_TENANT, "transactions")
    markers = transaction_markers(transactions)
    stored = {t["externalReference"]: {"transaction": t} for t in transactions}
    rows = {r.doc_key.removeprefix("txn:"): r for r in world.outbox(TRANSACTION_TENANT, "transactions")}
    return CorpusRun(world, TRANSACTION_TENANT, "transactions", rows, markers, stored, runs)


def _posts(world: ReliabilityWorld, tenant: str) -> int:
    return sum(1 for r in world.requests_log(tenant) if r["method"] == "POST")


def _check_case(run: CorpusRun, case: Case) -> None:
    row = run.rows.get(case.key)
    assert row is not None, f"{case.key} never reached the outbox (lost)"
    prefix = "draft:" if run.stream == "invoices" else "txn:"
    copies = run.markers.get(prefix + case.key, [])
    if case.code is not None:
        codes = [reason["code"] for reason in row.reasons]
        assert str(row.state) == "invalid", f"{case.key}: {row.state}, reasons {codes}"
        assert case.code in codes, f"{case.key}: expected {case.code}, got {codes}"
        assert all(r["field"] and r["message_en"] and r["message_de"] for r in row.reasons), row.reasons
        assert copies == [], f"{case.key} was refused but reached Lexware"
    else:
        assert str(row.state) == "sent", f"{case.key}: {row.state} {row.reasons} {row.last_error}"
        assert copies == [row.lexware_id], f"{case.key}: outbox {row.lexware_id}, Lexware {copies}"
        assert case.check is not None
        case.check(run.stored[case.key])


@pytest.mark.parametrize("case", INVOICE_CASES, ids=[c.key for c in INVOICE_CASES])
def test_invoice_draft(invoice_corpus: CorpusRun, case: Case) -> None:
    _check_case(invoice_corpus, case)


@pytest.mark.parametrize("case", TRANSACTION_CASES, ids=[c.key for c in TRANSACTION_CASES])
def test_transaction(transaction_corpus: CorpusRun, case: Case) -> None:
    _check_case(transaction_corpus, case)


def test_sql_in_names_is_stored_verbatim_in_the_outbox(invoice_corpus: CorpusRun) -> None:
    payload = json.dumps(invoice_corpus.rows["sql-in-names"].payload, ensure_ascii=False)
    related = invoice_corpus.rows["sql-in-names"].related
    assert corpus.SQL_LINE in payload
    assert related["contact"]["company"]["name"] == corpus.SQL_NAME


def test_the_corpus_is_big_enough() -> None:
    refused = [c for c in INVOICE_CASES + TRANSACTION_CASES if c.code]
    hostile = [c for c in INVOICE_CASES + TRANSACTION_CASES if c.code is None and c.klass != "valid baseline"]
    assert len(refused) + len(hostile) >= 40
    assert len({c.key for c in INVOICE_CASES}) == len(INVOICE_CASES)
    assert len({c.key for c in TRANSACTION_CASES}) == len(TRANSACTION_CASES)


@pytest.mark.parametrize("stream", ["invoices", "transactions"])
def test_corpus_summary(request: pytest.FixtureRequest, stream: str) -> None:
    """One row per input class: valid ones delivered once, refused ones recorded with their reasons."""
    run: CorpusRun = request.getfixturevalue("invoice_corpus" if stream == "invoices" else "transaction_corpus")
    cases = INVOICE_CASES if stream == "invoices" else TRANSACTION_CASES
    assert run.runs[0] == "success", run.runs
    everything = audit(run.world, run.tenant, stream, case=f"input ({stream})",
                       valid=[c.key for c in cases if c.code is None],
                       invalid={c.key: c.code for c in cases if c.code is not None})
    assert not everything.problems, everything.problems  # nothing in Lexware that the corpus did not stage
    for klass in dict.fromkeys(c.klass for c in cases):
        members = [c for c in cases if c.klass == klass]
        outcome = audit(run.world, run.tenant, stream, case=f"input ({stream}): {klass}",
                        valid=[c.key for c in members if c.code is None],
                        invalid={c.key: c.code for c in members if c.code is not None}, whole_tenant=False)
        if any(c.code is None and c.check is not None for c in members) and klass != "valid baseline":
            outcome.notes.append("sent verbatim")
        if klass == "SQL in names":
            outcome.notes += run.notes
        outcome.check(expected_reasons=[c.code for c in members if c.code])
