"""Facts about drafts outside their content, on SQLite and PostgreSQL: requested sends, selection tokens
(id or draft number), the source's own total (exact decimals)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from demo.source_db import create_schema
from lexoffice.source import draft_facts
from lexoffice.staging.windows import Window
from tests.support import sources as src

NIGHT = Window(src.at("2026-10-05", 3), src.at("2026-10-06", 3))


def _source(engine: sa.Engine) -> sa.Engine:
    create_schema(engine, "fieldservice")
    src.company(engine, "c1")
    src.company(engine, "c2")
    src.customer(engine, "k1", "c1")
    src.customer(engine, "k2", "c2")
    src.draft(engine, "asked", "c1", "k1", created="2026-10-05", requested="2026-10-05", number="RE-2026-00026",
              source_total=328.9)
    src.draft(engine, "old-ask", "c1", "k1", created="2026-09-01", requested="2026-09-01")  # before the night
    src.draft(engine, "asked-late", "c1", "k1", created="2026-09-01", requested="2026-10-05")  # button this night
    src.draft(engine, "fixed", "c1", "k1", created="2026-09-01", requested="2026-09-01", updated="2026-10-05")
    src.draft(engine, "unasked", "c1", "k1", created="2026-10-05")
    src.draft(engine, "other", "c2", "k2", created="2026-10-05", requested="2026-10-05", number="RE-2026-00027")
    return engine


def test_requested_drafts_of_a_night_by_request_or_change_time(engine: sa.Engine) -> None:
    source = _source(engine)
    night = draft_facts.requested_in_window(source, company_id="c1", start=NIGHT.start, end=NIGHT.end)
    assert night == ["asked", "asked-late", "fixed"]
    wider = Window(NIGHT.start - timedelta(days=40), NIGHT.end)
    assert "old-ask" in draft_facts.requested_in_window(source, company_id="c1", start=wider.start, end=wider.end)
    assert draft_facts.requested_among(source, company_id="c1", ids=["asked", "unasked", "other", "nope"]) == {"asked"}


def test_a_selection_names_drafts_by_id_or_number_and_lists_what_names_nothing(engine: sa.Engine) -> None:
    source = _source(engine)
    chosen = draft_facts.resolve_selection(source, company_id="c1",
                                           tokens=["RE-2026-00026", "unasked", " asked ", "RE-2026-00027", "nope"])
    assert sorted(chosen.ids) == ["asked", "unasked"]
    assert chosen.missing == ["RE-2026-00027", "nope"]  # another company's draft number names nothing here


def test_the_source_total_arrives_as_an_exact_decimal(engine: sa.Engine) -> None:
    source = _source(engine)
    totals = draft_facts.source_totals(source, company_id="c1", ids=["asked", "unasked", "other"])
    assert totals == {"asked": Decimal("328.9")}
    assert isinstance(totals["asked"], Decimal)


def test_company_settings_decide_whether_a_company_may_send(engine: sa.Engine) -> None:
    """Preflight reads the licence and the accounting software through the source's own query."""
    create_schema(engine, "fieldservice")
    src.company(engine, "on", name="Nord GmbH")
    src.company(engine, "off", licensed=False, software="DATEV")

    on = draft_facts.company_settings(engine, company_id="on")
    off = draft_facts.company_settings(engine, company_id="off")

    assert on is not None and off is not None
    assert (on["id"], on["name"], bool(on["accounting_licensed"]), on["accounting_software"]) == (
        "on", "Nord GmbH", True, "lexoffice")
    assert (bool(off["accounting_licensed"]), off["accounting_software"]) == (False, "DATEV")
    assert draft_facts.company_settings(engine, company_id="nobody") is None
