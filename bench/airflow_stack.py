"""A real Airflow on 127.0.0.1 for the benchmarks that need one, and the night they measure.

``airflow scheduler`` (LocalExecutor), ``dag-processor`` and ``api-server`` as separate processes,
SimpleAuthManager with one known admin, connections in the environment (``AIRFLOW_CONN_*``); the sandbox over
HTTP; a field-service source with companies, customers and one-line drafts; tenants connected to sandbox
organisations. Used by ``tenant_overhead.py`` (N tenants, one draft each) and ``ui_send.py`` (one tenant, a
few drafts, a browser). Standalone on purpose (issue 16: bench/ does not import tests.support).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pendulum
import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PASSWORD = "bench-admin"  # a throwaway Airflow on 127.0.0.1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], Any], *, timeout: float, what: str, every: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if result := check():
                return result
        except Exception as err:  # noqa: BLE001 - keep polling, name the last error on timeout
            last = err
        time.sleep(every)
    raise TimeoutError(f"{what} did not happen within {timeout:.0f} s (last error: {last!r})")


@contextmanager
def running_sandbox() -> Iterator[str]:
    """The sandbox (``python -m sandbox``) on a free port; yields its base URL."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", str(port)],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: requests.get(f"{url}/_admin/health", timeout=5).status_code < 500, timeout=120,
                 what="the sandbox")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def postgres(url: str | None) -> Iterator[str]:
    """The given server, or a throwaway one (as the postgres user when run as root: PostgreSQL refuses root)."""
    if url:
        yield url
        return
    bindir = next(p for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True) if (p / "initdb").exists())
    base = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if run_as:
        shutil.chown(base, "postgres")
    port = free_port()
    subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(base / "data"), "-U", "postgres", "-A", "trust",
                    "-E", "UTF8", "--locale=C"], check=True, capture_output=True)
    subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(base / "data"), "-w", "-l", str(base / "log"),
                    "-o", f"-h 127.0.0.1 -p {port} -k {base} -c max_connections=400", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(base / "data"), "-m", "fast", "stop"],
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def database(server: str, name: str) -> str:
    engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return sa.make_url(server).set(database=name).render_as_string(hide_password=False)


def night() -> tuple[date, pendulum.DateTime]:
    """The day inside the latest nightly interval (03:00 to 03:00 Berlin) and a moment in it, 12:00 Berlin."""
    now = pendulum.now("Europe/Berlin")
    end = now.replace(hour=3, minute=0, second=0, microsecond=0)
    if now < end:
        end = end.subtract(days=1)
    day = end.subtract(days=1)
    return day.date(), day.replace(hour=12).in_timezone("UTC")


def state_connection(url: str) -> dict[str, Any]:
    return {"conn_type": "sqlite" if url.startswith("sqlite") else "postgres", "extra": {"sqlalchemy_url": url}}


def seed_world(n: int, *, sandbox: str, state_url: str, home: Path, drafts: int = 1,
               moment: pendulum.DateTime | None = None, send_mode: str = "all") -> dict[str, Any]:
    """N companies with one customer and ``drafts`` drafts each (ids ``d<i>`` for one, else ``d<i>-<j>``), N
    tenants ``t<i>`` connected to N sandbox organisations; writes and returns the Airflow connections.

    The drafts are of ``moment`` (default: inside the latest nightly interval). ``send_mode`` "all": the night
    sends every valid draft; "requested" (a new tenant's default): only those a person asked to send."""
    from lexoffice.source import tables
    from demo.source_db import create_schema
    from lexoffice.state import tenants
    from lexoffice.state.db import init_db, make_engine

    source_url = f"sqlite:///{home / 'fieldservice.db'}"
    source = make_engine(source_url)
    create_schema(source, "fieldservice")
    day, night_moment = night()
    if moment is None:
        moment = night_moment
    else:
        day = moment.in_timezone("Europe/Berlin").date()
    rows: dict[Any, list[dict[str, Any]]] = {t: [] for t in (tables.companies, tables.customers,
                                                           tables.invoice_drafts, tables.invoice_draft_lines)}
    for i in range(n):
        c = f"c{i}"
        rows[tables.companies].append({
            "id": c, "name": f"Firma {i} GmbH", "street": "Hafenstraße 12", "zip": "20457", "city": "Hamburg",
            "country_code": "DE", "tax_number": "22/815/08151", "vat_id": "DE123456789",
            "accounting_licensed": True, "accounting_software": "lexoffice", "updated_at": moment})
        rows[tables.customers].append({
            "id": f"k{i}", "company_id": c, "kind": "company", "company_name": f"Kunde {i} GmbH",
            "first_name": None, "last_name": None, "street": "Lindenallee 3", "zip": "50667", "city": "Köln",
            "country_code": "DE", "email": f"rechnung+{i}@example.de", "updated_at": moment})
        for j in range(1, drafts + 1):
            draft = f"d{i}" if drafts == 1 else f"d{i}-{j}"
            rows[tables.invoice_drafts].append({
                "id": draft, "company_id": c, "customer_id": f"k{i}", "number": f"RE-{draft[1:]}",
                "origin": "manual", "work_order_id": None, "contract_id": None, "voucher_date": day,
                "title": "Rechnung", "introduction": None, "remark": None, "currency": "EUR", "tax_type": "net",
                "service_date": day, "service_period_start": None, "service_period_end": None,
                "created_at": moment, "updated_at": None, "send_requested_at": None, "source_gross_total": None})
            rows[tables.invoice_draft_lines].append({
                "id": f"{draft}-line", "draft_id": draft, "position": 1, "type": "custom", "name": "Monitoring",
                "description": None, "quantity": 1, "unit_name": "Stück", "unit_price": 49.5, "price_kind": "net",
                "tax_rate": 19, "discount_percentage": None})
    with source.begin() as conn:
        for table, batch in rows.items():
            conn.execute(sa.insert(table), batch)
    state = make_engine(state_url)
    init_db(state)
    conns: dict[str, Any] = {
        "lexoffice_state": state_connection(state_url),
        "lexoffice_fieldservice": {"conn_type": "sqlite", "host": str(home / "fieldservice.db")},
    }
    admin = requests.Session()
    for i in range(n):
        org = admin.post(f"{sandbox}/_admin/organizations", json={"company_name": f"Firma {i} GmbH"}, timeout=30)
        org.raise_for_status()
        conns[f"lexoffice_t{i}"] = {"conn_type": "lexoffice", "host": sandbox, "password": org.json()["api_key"]}
        tenants.add_tenant(state, tenant_id=f"t{i}", name=f"Firma {i} GmbH", lexoffice_conn_id=f"lexoffice_t{i}",
                           invoice_company_id=f"c{i}", export_since=date(2026, 1, 1), send_mode=send_mode)
        tenants.record_connect(state, f"t{i}", organization_id=org.json()["organization_id"],
                               at=pendulum.now("UTC"))
    state.dispose()
    (home / "connections.json").write_text(json.dumps(conns))
    return conns


class Airflow:
    """scheduler + dag-processor + api-server on 127.0.0.1, connections in the environment, as a deployment sets
    them (``seed_world`` writes them to ``connections.json`` in the Airflow home)."""

    def __init__(self, home: Path, metadata_url: str, parallelism: int) -> None:
        self.home, self.port = home, free_port()
        (home / "passwords.json").write_text(json.dumps({"admin": PASSWORD}))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTEST"))}
        self.env.update({
            "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor", "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(parallelism),
            "AIRFLOW__CORE__MAX_MAP_LENGTH": "10000",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
            "AIRFLOW__CORE__AUTH_MANAGER":
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__API__PORT": str(self.port), "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{self.port}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": "bench-jwt-secret-" + "x" * 48,
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "3600",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "LEXOFFICE_TOKEN_KEY": "bench-token-key",
        })
        # One environment variable per connection: a task's lookup reads just its own. (A connections file
        # behind LocalFilesystemBackend is read whole at every lookup, and Airflow's secrets masker compiles a
        # regex over every password it has seen so far: with 2,000 tenants each task spent minutes there.)
        for conn_id, conn in json.loads((home / "connections.json").read_text()).items():
            self.env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def run(self, *args: str) -> None:
        subprocess.run([str(BIN / "airflow"), *args], env=self.env, cwd=ROOT, check=True, capture_output=True,
                       timeout=600)

    def start(self) -> None:
        self.run("db", "migrate")
        for name, args in (("api-server", ["api-server", "--host", "127.0.0.1", "--port", str(self.port)]),
                           ("dag-processor", ["dag-processor"]), ("scheduler", ["scheduler"])):
            log = open(self.home / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
            self.processes[name] = subprocess.Popen([str(BIN / "airflow"), *args], env=self.env, cwd=ROOT,
                                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(lambda: requests.get(f"{self.url}/api/v2/version", timeout=5).ok, timeout=300, what="api-server")

    def wait_for_dag(self, dag_id: str) -> None:
        wait_for(lambda: self.api("GET", f"/dags/{dag_id}"), timeout=600, what=f"{dag_id} parsed", every=3)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        token = requests.post(f"{self.url}/auth/token", json={"username": "admin", "password": PASSWORD},
                              timeout=30).json()["access_token"]
        resp = requests.request(method, f"{self.url}/api/v2{path}", timeout=60,
                                headers={"Authorization": f"Bearer {token}"}, **kwargs)
        resp.raise_for_status()
        return resp.json()

    def cpu_seconds(self) -> float:
        """CPU of every process of this Airflow: own time of the living ones plus what their reaped children
        (task processes, finished LocalExecutor workers) used."""
        import psutil

        total = 0.0
        for top in self.processes.values():
            try:
                procs = [psutil.Process(top.pid), *psutil.Process(top.pid).children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            for proc in procs:
                try:
                    t = proc.cpu_times()
                    total += t.user + t.system + t.children_user + t.children_system
                except psutil.NoSuchProcess:
                    pass
        return total

    def stop(self) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.processes.values():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


