"""docker-compose.yaml, Dockerfile and .env.example, checked without a Docker engine.

What a broken stack would show only after a long ``docker compose up``: a missing service or health check,
a wrong executor or broker URL, a dependency on a service that never turns healthy, a secret written into the
file, an image that does not pin Airflow or copies what is not there. Values are read the way Compose reads
them (variable substitution, anchors and merge keys); no Airflow import, so this module stays well under 5 s.
The connections are checked through Airflow and the project's own code in test_connections.py, the init
against real PostgreSQL and the sandbox in test_init.py.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import sqlalchemy as sa
from dotenv import dotenv_values

from tests.compose.compose_file import (
    ROOT,
    TEST_SECRETS,
    MissingRequiredVariable,
    environment,
    healthcheck_command,
    interpolate,
    load,
    load_raw,
    variables,
)

AIRFLOW_SERVICES = (
    "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-worker", "airflow-triggerer",
    "airflow-init",
)
LONG_RUNNING_AIRFLOW = tuple(s for s in AIRFLOW_SERVICES if s != "airflow-init")
REQUIRED_SERVICES = ("postgres", "redis", "sandbox", *AIRFLOW_SERVICES)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load(TEST_SECRETS)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


# -- services and health ---------------------------------------------------------------------------------------
def test_every_required_service_exists(services: dict[str, Any]) -> None:
    missing = [name for name in REQUIRED_SERVICES if name not in services]
    assert not missing, f"docker-compose.yaml lacks {missing}"


def test_every_service_has_a_health_check(services: dict[str, Any]) -> None:
    without = [name for name, spec in services.items()
               if not healthcheck_command(spec) or (spec.get("healthcheck") or {}).get("disable")]
    assert not without, f"services without a health check: {without}"


@pytest.mark.parametrize(("service", "probe"), [
    ("postgres", "pg_isready"),
    ("redis", "redis-cli ping"),
    ("sandbox", "http://localhost:8765/_admin/health"),
    ("airflow-apiserver", "http://localhost:8080/api/v2/version"),
    ("airflow-scheduler", "http://localhost:8974/health"),
    ("airflow-dag-processor", "airflow jobs check --job-type DagProcessorJob"),
    ("airflow-worker", "inspect ping"),
    ("airflow-triggerer", "airflow jobs check --job-type TriggererJob"),
    ("airflow-init", "</dev/tcp/postgres/5432"),
])
def test_health_checks_probe_the_service_itself(services: dict[str, Any], service: str, probe: str) -> None:
    assert probe in " ".join(healthcheck_command(services[service]))


def test_scheduler_serves_the_health_endpoint_its_check_asks(services: dict[str, Any]) -> None:
    assert environment(services["airflow-scheduler"])["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "true"


def test_sandbox_listens_where_its_health_check_and_the_tenants_look(services: dict[str, Any]) -> None:
    sandbox = services["sandbox"]
    port = environment(sandbox)["SANDBOX_PORT"]
    script = (ROOT / "docker" / "sandbox.sh").read_text(encoding="utf-8")
    assert sandbox["command"] == ["bash", "/opt/airflow/docker/sandbox.sh"]
    assert "python -m sandbox --host 0.0.0.0" in script and '--port "${SANDBOX_PORT' in script
    assert f"localhost:{port}/" in " ".join(healthcheck_command(sandbox))
    assert any(str(p).endswith(f":{port}") for p in sandbox.get("ports", []))


# -- image -----------------------------------------------------------------------------------------------------
def test_airflow_services_and_the_sandbox_run_the_project_image(services: dict[str, Any]) -> None:
    images = set()
    for name in (*AIRFLOW_SERVICES, "sandbox"):
        spec = services[name]
        assert spec.get("build") == ".", f"{name} is not built from this repository's Dockerfile"
        images.add(spec["image"])
    assert len(images) == 1, f"one image for all, found {images}"
    assert (ROOT / "Dockerfile").is_file()


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), " ".join(rest.split())))
    return out


def _pinned(requirement: str) -> str:
    text = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(requirement)}==(\S+)", text, flags=re.M)
    assert match, f"requirements.txt does not pin {requirement}"
    return match.group(1)


def test_dockerfile_builds_on_the_pinned_airflow_and_python() -> None:
    froms = [arg for keyword, arg in _dockerfile_instructions() if keyword == "FROM"]
    python = re.search(r"Python (\d+\.\d+)", (ROOT / "constraints.txt").read_text(encoding="utf-8"))
    assert python, "constraints.txt should say which Python it was frozen on"
    assert froms == [f"apache/airflow:{_pinned('apache-airflow')}-python{python.group(1)}"]
    assert _pinned("apache-airflow") == "3.3.2"


def test_dockerfile_installs_the_requirements_with_the_constraints_and_keeps_airflow() -> None:
    runs = [arg for keyword, arg in _dockerfile_instructions() if keyword == "RUN"]
    installs = [shlex.split(r) for r in runs if "pip install" in r and "requirements.txt" in r]
    assert len(installs) == 1
    argv = installs[0]
    assert "apache-airflow==${AIRFLOW_VERSION}" in argv
    assert any(a.endswith("requirements.txt") for a in argv[argv.index("-r") + 1:][:1])
    assert any(a.endswith("constraints.txt") for a in argv[argv.index("-c") + 1:][:1])


def test_dockerfile_installs_the_project_so_airflow_lists_the_provider() -> None:
    runs = " && ".join(arg for keyword, arg in _dockerfile_instructions() if keyword == "RUN")
    assert "pip install --no-cache-dir --no-deps -e /opt/airflow" in runs
    assert "airflow providers get lexoffice-airflow" in runs
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'name = "lexoffice-airflow"' in pyproject
    assert "[project.entry-points.apache_airflow_provider]" in pyproject
    # The editable install puts <project>/plugins on sys.path: the folder compose mounts the live code over.
    assert 'package-dir = { "" = "plugins" }' in pyproject


def test_dockerfile_copies_only_what_exists() -> None:
    for keyword, arg in _dockerfile_instructions():
        if keyword != "COPY":
            continue
        sources = [a for a in arg.split() if not a.startswith("--")][:-1]
        for source in sources:
            assert (ROOT / source).exists(), f"Dockerfile copies {source}, which is not in the repository"


# -- volumes ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("service", AIRFLOW_SERVICES)
def test_airflow_services_mount_the_project_folders(services: dict[str, Any], service: str) -> None:
    mounts = {}
    for volume in services[service]["volumes"]:
        host, container = volume.split(":")[:2]
        mounts[container] = host
    for folder in ("dags", "plugins", "include", "config", "logs"):
        assert mounts.get(f"/opt/airflow/{folder}") == f"./{folder}", f"{service} does not mount ./{folder}"
    for folder in ("dags", "plugins", "include"):
        assert (ROOT / folder).is_dir()


# -- Airflow wiring --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("service", AIRFLOW_SERVICES)
def test_celery_executor_wiring(services: dict[str, Any], service: str) -> None:
    env = environment(services[service])
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    metadata = sa.make_url(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    postgres_env = environment(services["postgres"])
    assert (metadata.host, metadata.database) == ("postgres", postgres_env["POSTGRES_DB"])
    assert metadata.username == postgres_env["POSTGRES_USER"]
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
    assert re.fullmatch(r"redis://:?@?redis:6379/\d+", env["AIRFLOW__CELERY__BROKER_URL"])
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert env["AIRFLOW_CONFIG"] == "/opt/airflow/config/airflow.cfg"


def test_the_execution_api_is_served_where_workers_look(services: dict[str, Any]) -> None:
    apiserver = services["airflow-apiserver"]
    assert apiserver["command"] == "api-server"
    assert "8080:8080" in apiserver["ports"]
    assert services["airflow-worker"]["command"] == "celery worker"
    assert environment(services["airflow-worker"])["DUMB_INIT_SETSID"] == "0"


@pytest.mark.parametrize("variable", sorted(TEST_SECRETS))
def test_secrets_are_required_from_the_environment(variable: str) -> None:
    without = {k: v for k, v in TEST_SECRETS.items() if k != variable}
    with pytest.raises(MissingRequiredVariable, match=variable):
        load(without)
    with pytest.raises(MissingRequiredVariable, match=variable):
        load({**without, variable: ""})


@pytest.mark.parametrize("service", AIRFLOW_SERVICES)
def test_secrets_reach_the_containers_unchanged(services: dict[str, Any], service: str) -> None:
    env = environment(services[service])
    assert env["LEXOFFICE_TOKEN_KEY"] == TEST_SECRETS["LEXOFFICE_TOKEN_KEY"]
    assert env["AIRFLOW__CORE__FERNET_KEY"] == TEST_SECRETS["AIRFLOW_FERNET_KEY"]
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == TEST_SECRETS["AIRFLOW_JWT_SECRET"]


def test_no_secret_value_is_written_into_the_compose_file() -> None:
    raw = (ROOT / "docker-compose.yaml").read_text(encoding="utf-8")
    for value in TEST_SECRETS.values():
        assert value not in raw
    common = environment(load_raw()["services"]["airflow-worker"])
    assert re.fullmatch(r"\$\{LEXOFFICE_TOKEN_KEY:\?[^}]+\}", common["LEXOFFICE_TOKEN_KEY"])


# -- dependencies ----------------------------------------------------------------------------------------------
def _depends_on(spec: dict[str, Any]) -> dict[str, str]:
    deps = spec.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: "service_started" for name in deps}
    return {name: (value or {}).get("condition", "service_started") for name, value in deps.items()}


@pytest.mark.parametrize("service", AIRFLOW_SERVICES)
def test_airflow_services_wait_for_healthy_postgres_and_redis(services: dict[str, Any], service: str) -> None:
    deps = _depends_on(services[service])
    assert deps.get("postgres") == "service_healthy"
    assert deps.get("redis") == "service_healthy"


@pytest.mark.parametrize("service", LONG_RUNNING_AIRFLOW)
def test_airflow_components_start_after_a_successful_init(services: dict[str, Any], service: str) -> None:
    assert _depends_on(services[service]).get("airflow-init") == "service_completed_successfully"


def test_init_and_worker_wait_for_a_healthy_sandbox_and_api(services: dict[str, Any]) -> None:
    assert _depends_on(services["airflow-init"]).get("sandbox") == "service_healthy"
    worker = _depends_on(services["airflow-worker"])
    assert worker.get("sandbox") == "service_healthy"
    assert worker.get("airflow-apiserver") == "service_healthy"


def test_dependencies_exist_are_healthy_when_asked_and_have_no_cycle(services: dict[str, Any]) -> None:
    graph = {name: _depends_on(spec) for name, spec in services.items()}
    for name, deps in graph.items():
        for target, condition in deps.items():
            assert target in services, f"{name} depends on unknown service {target}"
            if condition == "service_healthy":
                assert healthcheck_command(services[target]), f"{name} waits for {target}, which has no check"
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"dependency cycle: {' -> '.join((*path, name))}"
        if name not in done:
            for target in graph[name]:
                visit(target, (*path, name))
            done.add(name)

    for name in graph:
        visit(name, ())


# -- init ------------------------------------------------------------------------------------------------------
def test_init_migrates_creates_the_admin_and_runs_the_lexoffice_init(services: dict[str, Any]) -> None:
    init = services["airflow-init"]
    env = environment(init)
    assert env["_AIRFLOW_DB_MIGRATE"] == "true"
    assert env["_AIRFLOW_WWW_USER_CREATE"] == "true"
    assert env["_AIRFLOW_WWW_USER_PASSWORD"] == TEST_SECRETS["_AIRFLOW_WWW_USER_PASSWORD"]
    assert init["user"] == "0:0"
    # As root, .pth files on PYTHONPATH are not read: the package folder must be named explicitly.
    assert env["PYTHONPATH"].split(":")[:2] == ["/opt/airflow/plugins", "/opt/airflow"]
    assert init["command"] == ["/opt/airflow/docker/airflow-init.sh"]
    script = (ROOT / "docker" / "airflow-init.sh").read_text(encoding="utf-8")
    last = [ln for ln in script.splitlines() if ln.strip() and not ln.startswith("#")][-1]
    # Through the image's entrypoint: it migrates, creates the user and sets PYTHONPATH for root.
    assert last == "exec /entrypoint python /opt/airflow/docker/lexoffice_init.py"
    assert (ROOT / "docker" / "lexoffice_init.py").is_file()


# -- .env.example ----------------------------------------------------------------------------------------------
def test_env_example_names_every_setting_and_holds_no_secret() -> None:
    example_path = ROOT / ".env.example"
    example = dotenv_values(example_path)
    text = example_path.read_text(encoding="utf-8")
    documented = set(example) | set(re.findall(r"^#\s*([A-Za-z_][A-Za-z0-9_]*)=", text, flags=re.M))
    used = variables((ROOT / "docker-compose.yaml").read_text(encoding="utf-8"))
    assert not used - documented - {"AIRFLOW_PROJ_DIR", "ENV_FILE_PATH", "_PIP_ADDITIONAL_REQUIREMENTS"}
    for secret in TEST_SECRETS:
        assert secret in example and example[secret] == "", f"{secret} must be empty in .env.example"


def test_env_example_with_its_secrets_filled_in_is_a_working_configuration() -> None:
    example = {k: v or "" for k, v in dotenv_values(ROOT / ".env.example").items()}
    with pytest.raises(MissingRequiredVariable):
        load(example)
    services = load({**example, **TEST_SECRETS})["services"]
    assert environment(services["airflow-worker"])["LEXOFFICE_DEMO"] == "true"


def test_interpolation_follows_compose_rules() -> None:
    env = {"SET": "x", "EMPTY": ""}
    assert interpolate("${SET:-d} ${UNSET:-d} ${EMPTY:-d} ${EMPTY-d} $${SET}", env) == "x d d  ${SET}"
    with pytest.raises(MissingRequiredVariable, match="EMPTY: say so"):
        interpolate("${EMPTY:?say so}", env)
    assert interpolate("${EMPTY?only unset fails}", env) == ""

