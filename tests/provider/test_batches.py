"""How tenants are shared out into batches and how a batch task decides what to do after its tenants ran
(provider/batches.py); the DAG with real Airflow is in tests/e2e/test_tenant_batches.py."""

from __future__ import annotations

import logging
import threading
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from lexoffice.provider import batches
from tests.support.waiting import GENEROUS


class TestShareOut:
    def test_up_to_the_limit_every_tenant_has_its_own_batch(self) -> None:
        assert batches.share_out(["a", "b", "c"], 64) == [["a"], ["b"], ["c"]]
        assert batches.share_out([], 64) == []

    @pytest.mark.parametrize(("count", "groups"), [(2000, 64), (65, 64), (10, 3), (1025, 1024)])
    def test_more_are_shared_out_evenly_in_order_and_none_is_lost(self, count: int, groups: int) -> None:
        tenants = [f"t{n}" for n in range(count)]
        shared = batches.share_out(tenants, groups)
        assert len(shared) == groups
        assert [t for batch in shared for t in batch] == tenants
        assert max(map(len, shared)) - min(map(len, shared)) <= 1


class TestLabel:
    def test_one_tenant_is_its_name_and_a_batch_its_first_and_last(self) -> None:
        assert batches.label([{"tenant_id": "a", "name": "Acme GmbH"}]) == "Acme GmbH"
        assert batches.label([{"tenant_id": "a"}, {"tenant_id": "b", "name": "B"}]) == "a … B (2 Mandanten)"

    def test_the_label_fits_airflows_column(self) -> None:
        long = [{"tenant_id": str(n), "name": "X" * 400} for n in range(3)]
        assert len(batches.label(long)) <= batches.LABEL_LENGTH
        assert batches.label(long).endswith("(3 Mandanten)")


class TestMaxGroups:
    def test_default_and_setting(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv(batches.GROUPS_ENV, raising=False)
        assert batches.max_groups() == 64
        monkeypatch.setenv(batches.GROUPS_ENV, "8")
        assert batches.max_groups() == 8

    @pytest.mark.parametrize("raw", ["0", "-3", "viele", "2.5"])
    def test_a_bad_setting_names_the_variable_and_an_example(self, raw: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(batches.GROUPS_ENV, raw)
        with pytest.raises(ValueError, match=r"LEXOFFICE_TENANT_GROUPS.*tenant groups.*\(e.g. 64\)"):
            batches.max_groups()


def _fails(*ids: str, error: type[Exception] = RuntimeError):  # noqa: ANN202 - a step
    def step(tenant_id: str) -> dict[str, str]:
        if tenant_id in ids:
            raise error(f"kaputt bei {tenant_id}")
        return {"ok": tenant_id}
    return step


class TestRunEachAndFinish:
    def test_one_tenants_error_stops_only_that_tenant(self) -> None:
        outcome = batches.run_each(["a", "b", "c"], _fails("b"), what="stage")
        assert outcome.results == {"a": {"ok": "a"}, "c": {"ok": "c"}}
        assert outcome.as_xcom()["b"] == {"failed": "kaputt bei b"}

    def test_a_failure_that_may_pass_is_retried_while_a_try_is_left(self) -> None:
        outcome = batches.run_each(["a", "b"], _fails("b"), what="deliver")
        with pytest.raises(AirflowException, match="(?s)1 von 2 Mandanten.*b: kaputt bei b.*retries the batch"):
            batches.finish(outcome, what="deliver", retries_left=True)

    def test_on_the_last_try_the_others_go_on_and_the_failure_travels_to_the_report(self) -> None:
        outcome = batches.run_each(["a", "b"], _fails("b"), what="deliver")
        batches.finish(outcome, what="deliver", retries_left=False)  # returns: a's result goes downstream
        with pytest.raises(AirflowFailException, match="report: 1 von 2 Mandanten"):
            batches.finish(outcome, what="report", retries_left=False, partial_ok=False)

    def test_a_final_failure_is_not_retried(self) -> None:
        outcome = batches.run_each(["a", "b"], _fails("b", error=AirflowFailException), what="deliver")
        batches.finish(outcome, what="deliver", retries_left=True)

    def test_a_single_tenant_fails_with_its_own_error_as_any_task(self) -> None:
        outcome = batches.run_each(["a"], _fails("a", error=KeyError), what="stage")
        with pytest.raises(KeyError, match="kaputt bei a"):
            batches.finish(outcome, what="stage", retries_left=False)

    def test_when_every_tenant_failed_the_task_fails(self) -> None:
        outcome = batches.run_each(["a", "b"], _fails("a", "b", error=AirflowFailException), what="stage")
        with pytest.raises(AirflowFailException, match="2 von 2"):
            batches.finish(outcome, what="stage", retries_left=True)

    def test_side_by_side_tenants_run_at_the_same_time(self) -> None:
        """Each tenant waits for the other: only concurrent runs get past the barrier (the deliveries of a batch
        must not queue behind each other's rate budget)."""
        barrier = threading.Barrier(3, timeout=GENEROUS)

        def step(tenant_id: str) -> str:
            barrier.wait()
            return tenant_id

        outcome = batches.run_each(["a", "b", "c"], step, what="deliver", side_by_side=True)
        assert outcome.results == {"a": "a", "b": "b", "c": "c"} and not outcome.failed

    def test_a_batchs_log_lines_name_their_tenant(self, caplog: pytest.LogCaptureFixture) -> None:
        logger = logging.getLogger("lexoffice.delivery.test")

        def step(tenant_id: str) -> None:
            logger.info("gesendet: %s", tenant_id)

        with caplog.at_level(logging.INFO):
            batches.run_each(["a", "b"], step, what="deliver", side_by_side=True)
            batches.run_each(["solo"], step, what="deliver")
        lines = sorted(r.getMessage() for r in caplog.records if r.name == logger.name)
        assert lines == ["[a] gesendet: a", "[b] gesendet: b", "gesendet: solo"]
        assert not any(isinstance(f, batches._TenantPrefix) for h in logging.getLogger().handlers for f in h.filters)


class TestRetriesLeft:
    @pytest.mark.parametrize(("try_number", "max_tries", "left"), [(1, 1, True), (2, 1, False), (1, 0, False)])
    def test_from_the_task_instance(self, try_number: int, max_tries: int, left: bool) -> None:
        ti = SimpleNamespace(try_number=try_number, max_tries=max_tries)
        assert batches.retries_left({"ti": ti}) is left

    def test_without_a_task_instance_no_retry_is_assumed(self) -> None:
        assert batches.retries_left({}) is False
