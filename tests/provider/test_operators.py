"""Unit tests of the operators, in the style of Airflow's own provider tests: build the operator, render its
templates, call ``execute`` with a context, and check what it hands to the layer below (``tasks``, mocked here;
the DAG tests and tests/e2e run them for real against the sandbox)."""

from __future__ import annotations

import json
from unittest import mock

import pendulum
import pytest
from airflow.sdk import DAG
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from lexoffice.provider.hooks import LexofficeHook
from lexoffice.provider.operators import (
    DELIVERED,
    LexofficeDeliverOperator,
    LexofficeReportOperator,
    LexofficeStageOperator,
    LexofficeStatusOperator,
    delivered_asset,
)

TENANT = {"tenant_id": "acme", "name": "Acme GmbH"}


def _context(**params: object) -> dict[str, object]:
    return {"run_id": "manual__1", "params": {"document_ids": [], "dry_run": False, "from_date": None,
                                              "to_date": None, **params},
            "data_interval_start": None, "data_interval_end": None}


class TestTemplateFields:
    @pytest.mark.parametrize("cls", [LexofficeStageOperator, LexofficeDeliverOperator, LexofficeStatusOperator,
                                     LexofficeReportOperator])
    def test_the_run_choices_are_templated_and_params_is_not(self, cls: type) -> None:
        assert {"tenant", "document_ids", "dry_run", "from_date", "to_date"} <= set(cls.template_fields)
        assert "params" not in cls.template_fields  # Airflow refuses to serialise a templated BaseOperator field

    def test_results_of_upstream_steps_are_templated_so_xcomargs_resolve(self) -> None:
        assert "staged" in LexofficeDeliverOperator.template_fields
        assert {"staged", "delivered", "status"} <= set(LexofficeReportOperator.template_fields)

    def test_fields_render_with_jinja(self) -> None:
        with DAG("render_check", schedule=None, start_date=pendulum.datetime(2026, 1, 1)):
            op = LexofficeStageOperator(task_id="stage", stream="invoices", tenant="{{ params.who }}",
                                        source_conn_id="src", from_date="{{ ds }}", to_date="{{ ds }}",
                                        document_ids=["{{ params.who }}-1"], dry_run="{{ params.dry }}")
        op.render_template_fields({"ds": "2026-10-05", "params": {"who": "acme", "dry": True}})
        assert (op.tenant, op.from_date, op.to_date, op.document_ids) == ("acme", "2026-10-05", "2026-10-05",
                                                                          ["acme-1"])
        assert op.options(_context())["dry_run"] is True  # the rendered text "True" is a flag


class TestOptions:
    def _op(self, **kwargs: object) -> LexofficeStageOperator:
        return LexofficeStageOperator(task_id="stage", stream="invoices", source_conn_id="src",
                                      **{"tenant": TENANT, **kwargs})

    def test_unset_fields_take_the_runs_params(self) -> None:
        options = self._op().options(_context(document_ids=["RE-1"], dry_run=True, from_date="2026-10-01"))
        assert options == {"document_ids": ["RE-1"], "dry_run": True, "from_date": "2026-10-01", "to_date": None}

    def test_set_fields_win_over_params(self) -> None:
        options = self._op(document_ids=[], dry_run=False, to_date="2026-10-09").options(
            _context(document_ids=["RE-1"], dry_run=True, to_date="2026-10-05"))
        assert options == {"document_ids": [], "dry_run": False, "from_date": None, "to_date": "2026-10-09"}

    def test_a_string_of_ids_is_refused_naming_the_field_and_the_fix(self) -> None:
        with pytest.raises(AirflowFailException, match="'document_ids'.*render_template_as_native_obj"):
            self._op(document_ids="['RE-1']").options(_context())

    def test_a_dry_run_that_is_no_flag_is_refused(self) -> None:
        with pytest.raises(AirflowFailException, match="'dry_run' must be true or false"):
            self._op(dry_run="maybe").options(_context())

    @pytest.mark.parametrize("tenant", ["", None, {"name": "no id"}])
    def test_a_tenant_without_id_is_refused(self, tenant: object) -> None:
        with pytest.raises(AirflowFailException, match="'tenant' must be a tenant id"):
            _ = self._op(tenant=tenant).batch

    @pytest.mark.parametrize("tenants", [[], "acme", {"tenant_id": "acme"}, ["acme", ""], ["acme", TENANT]])
    def test_a_batch_that_is_no_list_of_tenants_is_refused(self, tenants: object) -> None:
        with pytest.raises(AirflowFailException, match="'tenants' (must be|names acme more than once)"):
            _ = LexofficeStageOperator(task_id="stage", stream="invoices", tenants=tenants).batch

    def test_one_tenant_or_a_batch_not_both(self) -> None:
        with pytest.raises(ValueError, match="'tenant' \\(one\\) or 'tenants' \\(a batch\\), not both"):
            LexofficeStageOperator(task_id="stage", stream="invoices", tenant="a", tenants=["b"])

    def test_the_grid_label_is_the_tenants_name(self) -> None:
        assert self._op().tenant_label == "Acme GmbH"
        assert self._op(tenant="acme").tenant_label == "acme"
        batch = LexofficeStageOperator(task_id="stage", stream="invoices",
                                       tenants=[TENANT, "beta", {"tenant_id": "zeta", "name": "Zeta AG"}])
        assert batch.tenant_label == "Acme GmbH … Zeta AG (3 Mandanten)"

    def test_an_unknown_stream_is_refused_when_the_dag_is_parsed(self) -> None:
        with pytest.raises(ValueError, match="stream must be one of invoices, transactions"):
            LexofficeStageOperator(task_id="stage", stream="invoice", tenant="acme")


class TestExecute:
    """``execute`` hands the tenant, the checked options, the state engine and one hook to ``tasks``."""

    @mock.patch("lexoffice.provider.tasks.stage", return_value={"counts": {"pending": 1}})
    def test_stage(self, stage: mock.MagicMock) -> None:
        op = LexofficeStageOperator(task_id="stage", stream="invoices", tenant=TENANT, source_conn_id="src")
        op.state_engine = engine = object()  # cached_property: set, so no database is opened
        context = _context(dry_run=True)
        assert op.execute(context) == {"counts": {"pending": 1}}
        stage.assert_called_once_with("invoices", "acme", "src", context, mock.ANY, engine=engine)
        assert stage.call_args.args[4]["dry_run"] is True
        assert context["tenant_label"] == "Acme GmbH"  # what map_index_template shows

    def test_stage_needs_the_source_connection(self) -> None:
        op = LexofficeStageOperator(task_id="stage", stream="invoices", tenant=TENANT)
        with pytest.raises(AirflowFailException, match="'source_conn_id' is required"):
            op.execute(_context())

    @mock.patch("lexoffice.provider.tasks.deliver", return_value={"sent": 2})
    def test_deliver_gets_the_staged_result_and_the_cached_hook(self, deliver: mock.MagicMock) -> None:
        op = LexofficeDeliverOperator(task_id="deliver", stream="transactions", tenant="acme", source_conn_id="b",
                                      staged={"doc_keys": ["k1"]})
        op.state_engine = object()
        hook = mock.MagicMock(spec=LexofficeHook)
        op.hook_for = mock.Mock(return_value=hook)
        context = {**_context(), "outlet_events": mock.MagicMock()}
        assert op.execute(context) == {"sent": 2}
        args, kwargs = deliver.call_args
        assert args[:4] == ("transactions", "acme", "b", {"doc_keys": ["k1"]})
        assert kwargs["hook"] is hook
        context["outlet_events"][DELIVERED].add.assert_called_once_with(
            delivered_asset("transactions"), extra={"tenant_id": "acme", "delivered": 2, "run_id": "manual__1"})

    @pytest.mark.parametrize("result", [{"sent": 0, "reconciled_sent": 0}, {"sent": 0, "dry_run": True}])
    def test_nothing_delivered_emits_no_asset_event(self, result: dict[str, object]) -> None:
        op = LexofficeDeliverOperator(task_id="deliver", stream="invoices", tenant="acme", source_conn_id="f")
        op.state_engine, op.hook_for = object(), mock.Mock()
        context = {**_context(), "outlet_events": mock.MagicMock()}
        with mock.patch("lexoffice.provider.tasks.deliver", return_value=result):
            op.execute(context)
        context["outlet_events"].__getitem__.assert_not_called()

    def test_the_outlet_is_the_delivered_alias_unless_the_user_sets_others(self) -> None:
        assert LexofficeDeliverOperator(task_id="d", stream="invoices", tenant="a").outlets == [DELIVERED]
        assert delivered_asset("invoices").uri == "lexoffice://delivered/invoices"

    @mock.patch("lexoffice.provider.tasks.report", return_value={"sent": 1})
    def test_report_gets_every_upstream_result_and_a_lazy_hook(self, report: mock.MagicMock) -> None:
        op = LexofficeReportOperator(task_id="report", stream="invoices", tenant=TENANT, staged={"s": 1},
                                     delivered=None, status={"t": 1})
        op.state_engine = object()
        op.execute(_context())
        kwargs = report.call_args.kwargs
        assert (kwargs["staged"], kwargs["delivered"], kwargs["status_sync"]) == ({"s": 1}, None, {"t": 1})
        op.hook_for = mock.Mock(return_value=(sentinel := object()))
        assert kwargs["hook"]() is sentinel  # only the duplicate check builds the hook
        op.hook_for.assert_called_once_with("acme")

    def test_a_batch_returns_results_by_tenant_and_a_failing_tenant_stops_no_other(self) -> None:
        def stage(stream: str, tenant_id: str, *_: object, **__: object) -> dict[str, object]:
            if tenant_id == "beta":
                raise RuntimeError("Quelle nicht erreichbar")
            return {"counts": {"pending": 1}}

        op = LexofficeStageOperator(task_id="stage", stream="invoices", tenants=[TENANT, "beta", "gamma"],
                                    source_conn_id="src")
        op.state_engine = object()
        last_try = {**_context(), "ti": mock.Mock(try_number=2, max_tries=1)}
        with mock.patch("lexoffice.provider.tasks.stage", side_effect=stage):
            assert op.execute(last_try) == {"acme": {"counts": {"pending": 1}}, "gamma": {"counts": {"pending": 1}},
                                            "beta": {"failed": "Quelle nicht erreichbar"}}
            with pytest.raises(AirflowException, match="retries the batch"):  # a try is left: Airflow retries
                op.execute({**_context(), "ti": mock.Mock(try_number=1, max_tries=1)})

    @mock.patch("lexoffice.provider.tasks.deliver", return_value={"sent": 1})
    def test_a_batchs_deliver_skips_the_tenants_that_were_not_staged(self, deliver: mock.MagicMock) -> None:
        op = LexofficeDeliverOperator(task_id="deliver", stream="invoices", tenants=["acme", "beta"],
                                      source_conn_id="f", staged={"acme": {"doc_keys": None},
                                                                  "beta": {"failed": "Quelle nicht erreichbar"}})
        op.state_engine, op.hook_for = object(), mock.Mock()
        result = op.execute({**_context(), "outlet_events": mock.MagicMock()})
        assert result["acme"] == {"sent": 1}
        assert "not staged, nothing sent: Quelle nicht erreichbar" in result["beta"]["failed"]
        assert [c.args[1] for c in deliver.call_args_list] == ["acme"]

    def test_status_is_for_invoices_only(self) -> None:
        op = LexofficeStatusOperator(task_id="status", stream="transactions", tenant="acme")
        with pytest.raises(AirflowFailException, match="only invoices"):
            op.execute(_context())


class TestHook:
    def test_the_hook_is_built_once_per_operator(self) -> None:
        op = LexofficeDeliverOperator(task_id="deliver", stream="invoices", tenant="acme")
        op.state_engine = object()
        tenant = mock.Mock(tenant_id="acme", lexoffice_conn_id="lexoffice_acme", auth_mode="api_key",
                           organization_id="org-1")
        with mock.patch("lexoffice.state.tenants.get_tenant", return_value=tenant) as get_tenant, \
                mock.patch("lexoffice.state.locks.DbRateLimiter"):
            first, second = op.hook_for("acme"), op.hook_for("acme")
        assert first is second and get_tenant.call_count == 1
        assert (first.lexoffice_conn_id, first.rate_key) == ("lexoffice_acme", "org-1")

    def test_client_and_grace_period_read_the_connection_once(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Issue 16: deliver read the tenant's connection twice (one hook for the client, one for the grace)."""
        monkeypatch.setenv("AIRFLOW_CONN_LEXOFFICE_ACME", json.dumps({
            "conn_type": "lexoffice", "host": "http://127.0.0.1:9", "password": "k-123",
            "extra": {"confirm_grace_seconds": 7}}))
        hook = LexofficeHook("lexoffice_acme")
        with mock.patch.object(LexofficeHook, "get_connection", wraps=LexofficeHook.get_connection) as read:
            hook.get_client().close()
            assert hook.confirm_grace_seconds() == 7.0
            hook.get_client().close()
        assert read.call_count == 1


class TestMapping:
    def test_partial_expand_maps_one_task_per_tenant(self) -> None:
        from airflow.sdk.definitions.mappedoperator import MappedOperator

        with DAG("mapping_check", schedule=None, start_date=pendulum.datetime(2026, 1, 1)):
            mapped = LexofficeStageOperator.partial(task_id="stage", stream="invoices", source_conn_id="src",
                                                    map_index_template="{{ tenant_label }}").expand(
                tenant=[{"tenant_id": "a", "name": "A"}, {"tenant_id": "b", "name": "B"}])
        assert isinstance(mapped, MappedOperator)
        assert mapped.operator_class is LexofficeStageOperator
        assert mapped.map_index_template == "{{ tenant_label }}"
