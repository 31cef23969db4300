"""The environment of the cluster's Airflow processes, in one place, so that a test can compare it with
docker-compose.yaml (tests/cluster/test_compose_agreement.py): what the cluster test proves must be what the
compose file deploys.

``shared_settings`` is what docker-compose's ``x-airflow-common`` environment also sets (same keys, same
kind of value, hosts and ports of 127.0.0.1 instead of the service names). ``CLUSTER_ONLY`` lists every
other variable the cluster sets, each with the reason it differs from a deployment.
"""

from __future__ import annotations

from dataclasses import dataclass

# Set by the cluster, not by docker-compose.yaml, and why.
CLUSTER_ONLY = {
    "AIRFLOW_HOME": "a throwaway folder per cluster (the image's /opt/airflow)",
    "AIRFLOW__CORE__DAGS_FOLDER": "the repository's dags/ (the compose file mounts it at the default place)",
    "AIRFLOW__CORE__PLUGINS_FOLDER": "the repository's plugins/ (mounted at the default place in compose)",
    "AIRFLOW__CORE__AUTH_MANAGER": "SimpleAuthManager (the FAB provider of the image is not installed here)",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "the test talks to the REST API without a login",
    "AIRFLOW__API__HOST": "loopback only",
    "AIRFLOW__API__PORT": "a free port (compose: 8080)",
    "AIRFLOW__API__WORKERS": "one api-server worker process: the test machine has 2 cores",
    "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": "a free port (compose: 8974 in its own container)",
    "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": "one free port per worker: two workers share one machine here",
    "AIRFLOW__CORE__HOSTNAME_CALLABLE": "each worker reports its own hostname, as separate machines do",
    "LEXOFFICE_CLUSTER_HOSTNAME": "the name that callable returns",
    "PYTHONPATH": "makes that callable (tests/cluster/hostname.py) importable",
    "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False: only the runs the test starts, no nightly run of 'today'",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "the killed worker's tasks are found in a minute, not 5",
    "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "tasks the killed worker had reserved are queued again sooner",
    "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL": "checked every 30 s instead of 2 minutes",
    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "the DAG files do not change during a test: parse rarely",
    "LEXOFFICE_LEASE_TTL_SECONDS": "a dead sender's lease expires after 1 minute instead of 2",
    "AIRFLOW_CONN_LEXOFFICE_<TENANT>": "the test's own tenants (compose: the two demo tenants)",
}

# Set by docker-compose.yaml's x-airflow-common, not by the cluster, and why.
COMPOSE_ONLY = {
    "AIRFLOW__CORE__AUTH_MANAGER": "FAB login in the image (see CLUSTER_ONLY)",
    "AIRFLOW_CONFIG": "the image's config file path",
    "_PIP_ADDITIONAL_REQUIREMENTS": "an image feature",
    "LEXOFFICE_DEMO": "read only by airflow-init (docker/lexoffice_init.py); the test seeds its own data",
    "AIRFLOW_CONN_LEXOFFICE_NORDSCHUTZ": "a demo tenant (see AIRFLOW_CONN_LEXOFFICE_<TENANT>)",
    "AIRFLOW_CONN_LEXOFFICE_RHEINPFLEGE": "a demo tenant (see AIRFLOW_CONN_LEXOFFICE_<TENANT>)",
}

# A dead sender's lease blocks its organisation this long. It must stay above 1.5 x the client's read timeout
# (30 s): a request may run that long between two renewals (see Lease.renew_if_due).
LEASE_TTL_SECONDS = 60
HEARTBEAT_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Endpoints:
    """Where the cluster's shared services listen (all on 127.0.0.1)."""

    postgres_port: int
    redis_port: int
    api_port: int
    scheduler_health_port: int
    metadata_db: str = "airflow"
    state_db: str = "lexoffice_state"
    fieldservice_db: str = "fieldservice"
    bank_db: str = "bank"


def shared_settings(ep: Endpoints, *, fernet_key: str, jwt_secret: str, token_key: str) -> dict[str, str]:
    """The variables docker-compose.yaml's x-airflow-common sets too, with the cluster's values."""
    pg = f"postgres@127.0.0.1:{ep.postgres_port}"
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{pg}/{ep.metadata_db}",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql://{pg}/{ep.metadata_db}",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://:@127.0.0.1:{ep.redis_port}/0",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{ep.api_port}/execution/",
        "AIRFLOW__CORE__FERNET_KEY": fernet_key,
        "AIRFLOW__API_AUTH__JWT_SECRET": jwt_secret,
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "true",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "AIRFLOW__CORE__MAX_MAP_LENGTH": "10000",  # as compose: more tenants than Airflow's default 1,024
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "true",
        "LEXOFFICE_TOKEN_KEY": token_key,
        "AIRFLOW_CONN_LEXOFFICE_STATE": f"postgres://{pg}/{ep.state_db}",
        "AIRFLOW_CONN_LEXOFFICE_FIELDSERVICE": f"postgres://{pg}/{ep.fieldservice_db}",
        "AIRFLOW_CONN_LEXOFFICE_BANK": f"postgres://{pg}/{ep.bank_db}",
    }


def cluster_only_settings(ep: Endpoints, *, home: str, root: str) -> dict[str, str]:
    """The variables of CLUSTER_ONLY that every process shares (per-worker ones are set per worker)."""
    return {
        "AIRFLOW_HOME": home,
        "AIRFLOW__CORE__DAGS_FOLDER": f"{root}/dags",
        "AIRFLOW__CORE__PLUGINS_FOLDER": f"{root}/plugins",
        "AIRFLOW__CORE__AUTH_MANAGER":
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(ep.api_port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(ep.scheduler_health_port),
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.cluster.hostname.cluster_hostname",
        "PYTHONPATH": root,
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT_SECONDS),
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "180",
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL": "30",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
        "LEXOFFICE_LEASE_TTL_SECONDS": str(LEASE_TTL_SECONDS),
    }
