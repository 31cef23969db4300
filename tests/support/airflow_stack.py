"""A real Airflow on 127.0.0.1 for the browser test and the UI benchmark: ``airflow api-server``, ``scheduler``
and ``dag-processor`` as separate processes (LocalExecutor, SQLite metadata DB), SimpleAuthManager with one
known admin, the project's connections in the environment as a deployment would set them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.support.sandbox_server import ROOT, free_port

BIN = Path(sys.executable).parent
ADMIN_PASSWORD = "ui-test-admin"  # a throwaway password of a throwaway Airflow; never a real secret


def wait_for(check: Callable[[], Any], *, timeout: float, what: str, every: float = 0.5) -> Any:
    """Poll ``check`` until it returns something truthy; generous deadlines, the machine may be loaded."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as err:  # noqa: BLE001 - keep polling; report the last error on timeout
            last_error = err
        time.sleep(every)
    raise TimeoutError(f"{what} did not happen within {timeout:.0f} s (last error: {last_error!r})")


@dataclass
class AirflowStack:
    home: Path
    env: dict[str, str]
    port: int
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @classmethod
    def prepare(cls, home: Path, connections: dict[str, dict[str, Any]], extra_env: dict[str, str] | None = None
                ) -> AirflowStack:
        home.mkdir(parents=True, exist_ok=True)
        port = free_port()
        passwords = home / "passwords.json"
        passwords.write_text(json.dumps({"admin": ADMIN_PASSWORD}))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTEST"))}
        env.update({
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__AUTH_MANAGER":
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": "ui-test-jwt-secret-" + "x" * 48,
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "600",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "LEXOFFICE_TOKEN_KEY": "ui-test-token-key",
        })
        for conn_id, conn in connections.items():
            env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)
        env.update(extra_env or {})
        stack = cls(home=home, env=env, port=port)
        stack.run("db", "migrate")
        return stack

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run(self, *args: str) -> str:
        result = subprocess.run([str(BIN / "airflow"), *args], env=self.env, cwd=ROOT, capture_output=True,
                                text=True, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result.stdout

    def start(self) -> None:
        for name, args in (("api-server", ["api-server", "--host", "127.0.0.1", "--port", str(self.port)]),
                           ("dag-processor", ["dag-processor"]), ("scheduler", ["scheduler"])):
            log = open(self.home / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
            self.processes[name] = subprocess.Popen([str(BIN / "airflow"), *args], env=self.env, cwd=ROOT,
                                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(lambda: requests.get(f"{self.url}/api/v2/version", timeout=5).ok, timeout=180,
                 what="the api-server answering")

    def token(self) -> str:
        resp = requests.post(f"{self.url}/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD},
                             timeout=30)
        resp.raise_for_status()
        return str(resp.json()["access_token"])

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = requests.request(method, f"{self.url}/api/v2{path}", timeout=30,
                                headers={"Authorization": f"Bearer {self.token()}"}, **kwargs)
        resp.raise_for_status()
        return resp.json()

    def wait_for_dag(self, dag_id: str, timeout: float = 240) -> None:
        wait_for(lambda: self.api("GET", f"/dags/{dag_id}"), timeout=timeout, what=f"DAG {dag_id} parsed")

    def unpause(self, dag_id: str) -> None:
        """Test set-up, as an admin would do it in Airflow; the page itself never unpauses."""
        self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def stop(self) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for name, proc in self.processes.items():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} (last lines)\n" + p.read_text(errors="replace")[-4000:]
                         for p in sorted(self.home.glob("*.log")))
