"""An Airflow cluster with the CeleryExecutor on 127.0.0.1, without containers.

Redis is the Celery broker; PostgreSQL holds the Airflow metadata DB (also the Celery result backend) and the
project's state and source databases. The Airflow components run as separate processes, as on separate
machines: api-server (also the Execution API the workers report to), scheduler, dag-processor, and
``airflow celery worker``s, each with its own hostname, queues, concurrency and log-server port.

Every process runs in its own process group. Airflow puts each task process into a group of its own, so
stopping a component (or SIGKILLing a worker, as a machine that dies) goes through its whole process tree,
the task processes included. Logs stay in the cluster's folder; ``log_tails`` returns their ends.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
import requests
import sqlalchemy as sa

from tests.cluster.hostname import HOSTNAME_ENV
from tests.cluster.settings import Endpoints, cluster_only_settings, shared_settings
from tests.support.postgres import PostgresServer
from tests.support.sandbox_server import ROOT, free_port

if TYPE_CHECKING:
    from tests.support.world import World

BIN = Path(sys.executable).parent
QUEUE = "default"  # [operators] default_queue: where the DAGs' tasks go


def wait_for(condition: Callable[[], Any], *, timeout: float, what: str, poll: float = 1.0) -> Any:
    """Poll until ``condition()`` is truthy and return it; generous deadlines, no timing assertions."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)


@dataclass(frozen=True)
class WorkerSpec:
    """One ``airflow celery worker``: its hostname (as a machine's), the queues it serves and its slots."""

    hostname: str
    concurrency: int
    queues: tuple[str, ...] = (QUEUE,)


# The cluster test's two workers, as two machines: each its own hostname; they differ in slots, and serve the
# DAGs' queue.
WORKERS = [WorkerSpec("worker-a", concurrency=3), WorkerSpec("worker-b", concurrency=4)]


@dataclass
class Cluster:
    folder: Path
    endpoints: Endpoints
    env: dict[str, str]
    workers: dict[str, WorkerSpec]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _session: requests.Session = field(default_factory=requests.Session)

    # -- start and stop --------------------------------------------------------------------------------------
    @classmethod
    def create(cls, folder: Path, postgres: PostgresServer, *, workers: list[WorkerSpec],
               extra_env: dict[str, str] | None = None) -> Cluster:
        """Databases, settings and a migrated metadata DB; nothing runs yet (see ``start``)."""
        ep = Endpoints(postgres_port=postgres.port, redis_port=free_port(), api_port=free_port(),
                       scheduler_health_port=free_port())
        for name in (ep.metadata_db, ep.state_db, ep.fieldservice_db, ep.bank_db):
            postgres.create_database(name)
        home = folder / "airflow-home"
        home.mkdir(parents=True)
        env = {**os.environ,
               **shared_settings(ep, fernet_key=_fernet_key(), jwt_secret=secrets.token_urlsafe(32),
                                 token_key=secrets.token_urlsafe(24)),
               **cluster_only_settings(ep, home=str(home), root=str(ROOT)),
               "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               **(extra_env or {})}
        # The test session's own Airflow settings (SQLite metadata DB etc.) must not leak into the cluster.
        for key in [k for k in env if k.startswith("AIRFLOW__") and k not in _cluster_keys(ep, home)]:
            if key not in (extra_env or {}):
                del env[key]
        cluster = cls(folder=folder, endpoints=ep, env=env, workers={w.hostname: w for w in workers})
        cluster._airflow("db", "migrate")
        return cluster

    def start(self) -> None:
        """Redis, then the Airflow components and the workers; returns once the scheduler is healthy and both
        DAGs are parsed."""
        redis_server = os.environ.get("LEXOFFICE_REDIS_SERVER") or shutil.which("redis-server")
        if not redis_server:
            raise RuntimeError("redis-server not found: run ./scripts/ensure-redis.sh (or set LEXOFFICE_REDIS_SERVER)")
        self._spawn("redis", [redis_server, "--bind", "127.0.0.1", "--port", str(self.endpoints.redis_port),
                              "--save", "", "--appendonly", "no", "--dir", str(self.folder)])
        self._spawn("api-server", ["airflow", "api-server"], hostname="api-server")
        self._spawn("scheduler", ["airflow", "scheduler"], hostname="scheduler")
        self._spawn("dag-processor", ["airflow", "dag-processor"], hostname="dag-processor")
        for name in self.workers:
            self.start_worker(name)
        wait_for(self._healthy, timeout=300, what="api-server, scheduler and dag-processor to be healthy",
                 poll=2)

    def start_worker(self, name: str) -> None:
        spec = self.workers[name]
        self._spawn(name, ["airflow", "celery", "worker", "--celery-hostname", f"{name}@cluster",
                           "--queues", ",".join(spec.queues), "--concurrency", str(spec.concurrency)],
                    hostname=name, extra={"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())})

    def kill(self, name: str) -> None:
        """SIGKILL a process and everything it started (a worker: its task processes too), as a dead machine."""
        process = self.processes[name]
        frozen = _tree(process.pid)
        for proc in frozen:  # stopped first, so that nothing forks a new child between listing and killing
            _send(proc, signal.SIGSTOP)
        for proc in _tree(process.pid) + frozen:
            _send(proc, signal.SIGKILL)
        process.wait(timeout=30)

    def runs_in(self, name: str, pid: int) -> bool:
        """Whether ``pid`` is ``name``'s process or one of its descendants (e.g. a task process of a worker)."""
        return any(proc.pid == pid for proc in _tree(self.processes[name].pid))

    def stop(self) -> None:
        """SIGTERM every process group (workers first), then SIGKILL what is still there."""
        order = [n for n in self.processes if n in self.workers] + \
                [n for n in ("scheduler", "dag-processor", "api-server", "redis") if n in self.processes]
        trees = {name: _tree(self.processes[name].pid) for name in order}  # before orphans lose their parent
        for name in order:
            if trees[name]:
                _send(trees[name][0], signal.SIGTERM)  # the component's own shutdown first
        deadline = time.monotonic() + 30
        for name in order:
            process = self.processes[name]
            try:
                process.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            for proc in trees[name]:  # whatever did not exit with its parent
                _send(proc, signal.SIGKILL)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def _spawn(self, name: str, argv: list[str], *, hostname: str | None = None,
               extra: dict[str, str] | None = None) -> None:
        env = {**self.env, **(extra or {})}
        if hostname:
            env[HOSTNAME_ENV] = hostname
        with open(self.folder / f"{name}.log", "ab") as log:
            self.processes[name] = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                                    start_new_session=True)

    def _airflow(self, *args: str, timeout: float = 600) -> str:
        done = subprocess.run(["airflow", *args], cwd=ROOT, env=self.env, capture_output=True, text=True,
                              timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n"
                               f"{done.stderr[-3000:]}")
        return done.stdout

    # -- looking -----------------------------------------------------------------------------------------------
    def _healthy(self) -> bool:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AssertionError(f"{name} exited with {process.returncode}:\n{self.log_tail(name)}")
        try:
            health = self._session.get(f"{self.api_url}/api/v2/monitor/health", timeout=5).json()
        except (requests.RequestException, ValueError):
            return False
        return all((health.get(k) or {}).get("status") == "healthy"
                   for k in ("metadatabase", "scheduler", "dag_processor"))

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.endpoints.api_port}"

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """The Airflow REST API (v2); SimpleAuthManager with all-admins needs no login."""
        resp = self._session.request(method, f"{self.api_url}/api/v2{path}", timeout=60, **kwargs)
        if not resp.ok:
            raise AssertionError(f"{method} {path} -> {resp.status_code}: {resp.text[:2000]}")
        return resp.json() if resp.content else None

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.endpoints.postgres_port}/{database}"

    @contextmanager
    def metadata(self) -> Iterator[sa.Connection]:
        engine = sa.create_engine(self.url(self.endpoints.metadata_db))
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()

    def task_instances(self) -> list[dict[str, Any]]:
        """Every task instance of every run (both DAGs), with the hostname it ran on."""
        with self.metadata() as conn:
            rows = conn.execute(sa.text(
                "SELECT ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.rendered_map_index, ti.state, "
                "ti.hostname, ti.try_number, dr.run_type FROM task_instance ti "
                "JOIN dag_run dr ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id")).mappings().all()
        return [dict(r) for r in rows]

    def dag_runs(self) -> list[dict[str, Any]]:
        with self.metadata() as conn:
            rows = conn.execute(sa.text("SELECT dag_id, run_id, run_type, state FROM dag_run")).mappings().all()
        return [dict(r) for r in rows]

    def log_tail(self, name: str, lines: int = 60) -> str:
        path = self.folder / f"{name}.log"
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def failed_task_logs(self, files: int = 6, lines: int = 25) -> str:
        """The ends of the task logs that mention an error (Airflow writes one file per task try)."""
        logs = sorted((self.folder / "airflow-home" / "logs").rglob("attempt=*.log"), key=lambda p: p.stat().st_mtime)
        failing = [p for p in logs if "error" in p.read_text(errors="replace").lower()][-files:]
        return "\n\n".join(f"===== {p} =====\n" + "\n".join(p.read_text(errors="replace").splitlines()[-lines:])
                           for p in failing)

    def log_tails(self, lines: int = 60) -> str:
        return "\n\n".join(f"===== {name} ({self.folder / (name + '.log')}) =====\n{self.log_tail(name, lines)}"
                           for name in self.processes)


def _cluster_keys(ep: Endpoints, home: Path) -> set[str]:
    return set(shared_settings(ep, fernet_key="", jwt_secret="", token_key="")) | set(
        cluster_only_settings(ep, home=str(home), root=str(ROOT)))


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def _tree(pid: int) -> list[psutil.Process]:
    """The process and all its descendants (empty if it is gone)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _send(proc: psutil.Process, sig: signal.Signals) -> None:
    try:
        proc.send_signal(sig)  # psutil checks that the pid still is this process (no pid reuse)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        pass


@dataclass
class ClusterWorld:
    """A cluster and the world (sandbox organisations, state and source databases) its tasks work on."""

    cluster: Cluster
    world: World
