"""A run's report stays bounded (issue 21 item 3): it names the failures this run produced (at most
RUN_LIST_LIMIT), counts every document that needs attention and says where the full list is; `lexoffice report
--page/--limit` pages through that list, each document exactly once. (Before: every run re-listed every
historical invalid/rejected/unknown document.)"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from lexoffice import cli
from lexoffice.report import RUN_LIST_LIMIT, run_report
from lexoffice.state import outbox
from tests.state.helpers import doc


def _stage_invalid(engine: sa.Engine, tenant: str, keys: range, run_id: str) -> None:
    outbox.stage(engine, tenant_id=tenant, stream="invoices", docs=[doc(f"k{n:03d}", valid=False) for n in keys],
                 run_id=run_id)


def test_run_report_names_this_runs_failures_and_counts_the_rest(engine: sa.Engine, tenant: str) -> None:
    _stage_invalid(engine, tenant, range(0, 30), "run-1")
    _stage_invalid(engine, tenant, range(30, 32), "run-2")

    text = run_report(engine, tenant_id=tenant, stream="invoices", stage=None, delivery=None, run_id="run-2")

    named = re.findall(r"RE-k(\d{3})", text)
    assert named == ["030", "031"], text  # only this run's two, not the 30 of run-1
    assert "2 document(s) of this run need attention:" in text
    assert "32 document(s) need attention in all" in text and "--page 1 --limit 100" in text
    assert "32 invalid" in text  # the counts line still covers everything


def test_run_report_lists_at_most_the_limit(engine: sa.Engine, tenant: str) -> None:
    _stage_invalid(engine, tenant, range(0, RUN_LIST_LIMIT + 7), "run-1")
    text = run_report(engine, tenant_id=tenant, stream="invoices", stage=None, delivery=None, run_id="run-1")
    assert len(re.findall(r"RE-k\d{3}", text)) == RUN_LIST_LIMIT
    assert f"{RUN_LIST_LIMIT + 7} document(s) of this run need attention (the first {RUN_LIST_LIMIT}):" in text


def test_cli_report_pages_through_every_document_once(engine: sa.Engine, tenant: str, db_url: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    _stage_invalid(engine, tenant, range(0, 23), "run-1")
    seen: list[str] = []
    page = 1
    while True:
        assert cli.main(["--state-url", db_url, "report", "--tenant", tenant, "--state", "invalid",
                         "--page", str(page), "--limit", "10"]) == 0
        out = capsys.readouterr().out
        found = re.findall(r"RE-k(\d{3})", out)
        assert len(found) <= 10
        seen += found
        if "--page" not in out:
            break
        assert f"--page {page + 1} --limit 10" in out
        page += 1
    assert page == 3
    assert seen == [f"{n:03d}" for n in range(23)], "every document exactly once, in a stable order"
    assert cli.main(["--state-url", db_url, "report", "--page", "0", "--limit", "10"]) == 2
