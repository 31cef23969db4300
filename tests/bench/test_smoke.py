"""The benchmark runner at tiny scale: one command, one table with every row, against the real sandbox and
PostgreSQL of the test session. Not a timed test: speed targets are the benchmark's business, not CI's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.table import parse_keys
from tests.conftest import ROOT
from tests.support.postgres import PostgresServer
from tests.support.sandbox_server import SandboxServer

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]

TINY_ROWS = [
    "1.rate.token_bucket", "1.rate.db_limiter",
    "2.requests.new_customers", "2.requests.adopted_customers", "2.requests.mapped_customers",
    "3.generate.invoices", "3.stage.invoices.1k", "3.stage.invoices.3k", "3.stage.invoices.10k",
    "3.memory.invoices", "3.profile.invoices",
    "3.generate.transactions", "3.stage.transactions.1k", "3.stage.transactions.3k", "3.stage.transactions.10k",
    "3.memory.transactions", "3.profile.transactions",
    "4.parse.lexoffice_invoice_drafts", "4.parse.lexoffice_transactions",
    "5.parallel",
    "6.validation.invoices", "6.validation.transactions", "6.build.invoices", "6.build.transactions", "6.pacing",
    "8.status_sync", "7.total",
]


@pytest.fixture(scope="module")
def finished(postgres_server: PostgresServer, sandbox_server: SandboxServer,
             tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    raw = tmp_path_factory.mktemp("bench") / "tiny.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--scale", "tiny", "--postgres-url", postgres_server.url(),
         "--sandbox-url", sandbox_server.base_url, "--json", str(raw)],
        cwd=ROOT, capture_output=True, text=True, timeout=280,
    )
    return done, raw


@pytest.fixture
def tiny_run(finished: tuple[subprocess.CompletedProcess[str], Path]) -> tuple[str, dict]:
    done, raw = finished
    assert raw.exists(), done.stderr[-3000:]
    return done.stdout, json.loads(raw.read_text())


def table_lines(stdout: str) -> dict[str, str]:
    return {line[2:].split(" | ", 1)[0].strip(): line for line in stdout.splitlines()
            if line.startswith("| ") and not line.startswith("| #")}


def test_prints_one_table_with_every_row_in_order(tiny_run: tuple[str, dict]) -> None:
    stdout, _ = tiny_run
    assert parse_keys(stdout) == TINY_ROWS
    assert sum(1 for line in stdout.splitlines() if line.startswith("| #")) == 1


def test_every_measurement_completed(tiny_run: tuple[str, dict],
                                     finished: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    stdout, _ = tiny_run
    failed = [line for line in table_lines(stdout).values() if line.rstrip().endswith("| FAILED |")]
    assert failed == []
    assert finished[0].returncode == 0, finished[0].stderr[-3000:]


def test_every_delivery_sent_each_draft_exactly_once(tiny_run: tuple[str, dict]) -> None:
    _, raw = tiny_run
    assert len(raw["delivery"]) == 5 + raw["scale"]["parallel_tenants"]
    for key, run in raw["delivery"].items():
        assert run["error"] is None, key
        assert run["sent"] == run["docs"], key
        assert run["requests"]["invoice_posts"] == run["docs"], key
        assert run["requests"]["too_many"] == 0, key


def test_request_counts_are_one_per_draft_plus_one_per_new_customer(tiny_run: tuple[str, dict]) -> None:
    stdout, raw = tiny_run
    rows = table_lines(stdout)
    for key in ("2.requests.new_customers", "2.requests.adopted_customers", "2.requests.mapped_customers"):
        assert rows[key].rstrip().endswith("| met    |"), rows[key]
    new = raw["delivery"]["new_customers"]
    assert new["requests"]["contact_posts"] == new["customers"] > 0


def test_staging_runs_stage_every_row_of_their_window(tiny_run: tuple[str, dict]) -> None:
    _, raw = tiny_run
    for stream, runs in raw["stage"].items():
        assert [run["nominal"] for run in runs] == raw["scale"]["stage_sizes"]
        for run in runs:
            assert run["finished"], (stream, run)
            assert sum(run["counts"].values()) == run["documents"], (stream, run)
            assert run["rows"] >= run["nominal"]
    assert "stage_parallel" not in raw and "stage_processes" not in raw["scale"]  # one process per stage


def test_status_sync_row_costs_one_request_per_page_and_matches_lexware(tiny_run: tuple[str, dict]) -> None:
    stdout, raw = tiny_run
    sync = raw["status_sync"]
    assert sync["error"] is None and sync["mismatched"] == []
    # 300 drafts, 6 deleted, 45 settled, 249 still open: profile + 1 page of open + 1 page of settled invoices
    # + 6 look-ups; the next night the same without the look-ups
    assert (len(sync["first_requests"]), len(sync["second_requests"]), sync["deleted"]) == (9, 3, 6)
    assert table_lines(stdout)["8.status_sync"].rstrip(" |").endswith("met")
