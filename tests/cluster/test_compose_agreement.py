"""docker-compose.yaml deploys what the cluster test proves: the same executor, broker, result backend,
Execution API and project variables (tests/cluster/settings.py is the cluster's side, in one place).

Every variable is accounted for in both directions: set by both (and then of the same kind), or listed with a
reason in ``COMPOSE_ONLY`` / ``CLUSTER_ONLY``. A variable added to one side only fails here until the other
side or the lists say why.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

import pytest

from tests.cluster.cluster import WORKERS
from tests.cluster.settings import (
    CLUSTER_ONLY,
    COMPOSE_ONLY,
    Endpoints,
    cluster_only_settings,
    shared_settings,
)
from tests.compose.compose_file import TEST_SECRETS, environment, load

ENDPOINTS = Endpoints(postgres_port=15432, redis_port=16379, api_port=18080, scheduler_health_port=18974)
TENANT_CONN = "AIRFLOW_CONN_LEXOFFICE_<TENANT>"


@pytest.fixture(scope="module")
def compose_env() -> dict[str, str]:
    """The Airflow worker's environment as Compose gives it (x-airflow-common plus the worker's own)."""
    return environment(load(TEST_SECRETS)["services"]["airflow-worker"])


@pytest.fixture(scope="module")
def cluster_env() -> dict[str, str]:
    shared = shared_settings(ENDPOINTS, fernet_key="k", jwt_secret="j", token_key="t")
    return {**shared, **cluster_only_settings(ENDPOINTS, home="/tmp/home", root="/repo")}


def _container_only(name: str) -> bool:
    return name == "DUMB_INIT_SETSID"  # the image's init system (signal propagation), no Airflow setting


def test_every_compose_variable_is_set_by_the_cluster_or_explained(compose_env: dict[str, str],
                                                                   cluster_env: dict[str, str]) -> None:
    unexplained = sorted(k for k in compose_env if k not in cluster_env and k not in COMPOSE_ONLY
                         and not _container_only(k))
    assert not unexplained, f"set in docker-compose.yaml, not by the cluster and not in COMPOSE_ONLY: {unexplained}"
    stale = sorted(k for k in COMPOSE_ONLY if k not in compose_env)
    assert not stale, f"COMPOSE_ONLY names variables docker-compose.yaml no longer sets: {stale}"


def test_every_cluster_variable_is_in_compose_or_explained(compose_env: dict[str, str],
                                                          cluster_env: dict[str, str]) -> None:
    unexplained = sorted(k for k in cluster_env if k not in compose_env and k not in CLUSTER_ONLY)
    assert not unexplained, f"set by the cluster, not in docker-compose.yaml and not in CLUSTER_ONLY: {unexplained}"
    per_worker = {"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT", "LEXOFFICE_CLUSTER_HOSTNAME", TENANT_CONN}
    stale = sorted(k for k in CLUSTER_ONLY if k not in cluster_env and k not in per_worker)
    assert not stale, f"CLUSTER_ONLY names variables the cluster no longer sets: {stale}"


def test_same_executor_and_switches(compose_env: dict[str, str], cluster_env: dict[str, str]) -> None:
    for key in ("AIRFLOW__CORE__EXECUTOR", "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION",
                "AIRFLOW__CORE__LOAD_EXAMPLES", "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"):
        assert cluster_env[key].lower() == compose_env[key].lower(), key
    assert compose_env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"


def _url(value: str) -> SplitResult:
    return urlsplit(value)


def test_same_broker_kind(compose_env: dict[str, str], cluster_env: dict[str, str]) -> None:
    compose = _url(compose_env["AIRFLOW__CELERY__BROKER_URL"])
    cluster = _url(cluster_env["AIRFLOW__CELERY__BROKER_URL"])
    assert (cluster.scheme, cluster.path) == (compose.scheme, compose.path) == ("redis", "/0")
    assert (compose.hostname, cluster.hostname) == ("redis", "127.0.0.1")


def test_result_backend_is_the_metadata_database_on_both(compose_env: dict[str, str],
                                                         cluster_env: dict[str, str]) -> None:
    for env in (compose_env, cluster_env):
        backend = _url(env["AIRFLOW__CELERY__RESULT_BACKEND"])
        metadata = _url(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        assert backend.scheme == "db+postgresql" and metadata.scheme == "postgresql+psycopg2"
        assert (backend.hostname, backend.port, backend.path) == (metadata.hostname, metadata.port, metadata.path)


def test_workers_reach_the_execution_api_of_the_api_server(compose_env: dict[str, str],
                                                          cluster_env: dict[str, str]) -> None:
    compose = _url(compose_env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    cluster = _url(cluster_env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert compose.path == cluster.path == "/execution/"
    assert (compose.hostname, compose.port) == ("airflow-apiserver", 8080)
    assert cluster.port == int(cluster_env["AIRFLOW__API__PORT"])


def test_same_project_variables(compose_env: dict[str, str], cluster_env: dict[str, str]) -> None:
    """The state and source databases are postgres connections in URI form on both; the token key is set."""
    for key in ("AIRFLOW_CONN_LEXOFFICE_STATE", "AIRFLOW_CONN_LEXOFFICE_FIELDSERVICE", "AIRFLOW_CONN_LEXOFFICE_BANK"):
        assert _url(compose_env[key]).scheme == _url(cluster_env[key]).scheme == "postgres", key
    assert compose_env["LEXOFFICE_TOKEN_KEY"] and cluster_env["LEXOFFICE_TOKEN_KEY"]
    for secret in ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET"):  # shared by every component
        assert compose_env[secret] and cluster_env[secret], secret
    compose_tenants = sorted(k for k in compose_env if k.startswith("AIRFLOW_CONN_LEXOFFICE_")
                             and k.removeprefix("AIRFLOW_CONN_LEXOFFICE_") not in ("STATE", "FIELDSERVICE", "BANK"))
    assert compose_tenants and all(k in COMPOSE_ONLY for k in compose_tenants), compose_tenants


def test_the_compose_worker_is_a_celery_worker_on_the_default_queue() -> None:
    """The compose worker runs ``celery worker`` with Airflow's default queue, the queue the cluster's workers
    serve (the DAGs set no queue of their own)."""
    services = load(TEST_SECRETS)["services"]
    assert services["airflow-worker"]["command"] == "celery worker"
    assert "AIRFLOW__OPERATORS__DEFAULT_QUEUE" not in environment(services["airflow-worker"])
    assert all(w.queues == ("default",) for w in WORKERS)
