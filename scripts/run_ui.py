"""The Lexware Office page on the demo: the sandbox, then Airflow's api-server, scheduler and dag-processor
(LocalExecutor, the demo's SQLite databases) until Ctrl-C. Run ./scripts/demo.sh first; start this through
scripts/ui.sh. Login: SimpleAuthManager, user ``admin``, password in ``.demo/airflow/ui-passwords.json``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time

import requests

from run_demo import BIN, DEMO, ROOT, demo_env, free_port, run, say


def main() -> int:
    if not (DEMO / "state.db").exists():
        raise SystemExit("run ./scripts/demo.sh first: the page shows the demo's tenants and documents")
    port = free_port(int(os.environ.get("LEXOFFICE_SANDBOX_PORT", "8765")))
    base = f"http://127.0.0.1:{port}"
    api_port = free_port(int(os.environ.get("LEXOFFICE_UI_PORT", "8080")))
    passwords = DEMO / "airflow" / "ui-passwords.json"
    if not passwords.exists():
        passwords.write_text(json.dumps({"admin": secrets.token_urlsafe(12)}))
    env = demo_env(base)
    env.update({
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": env.get("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_urlsafe(48)),
    })
    children = [subprocess.Popen([str(BIN / "python"), "-m", "sandbox", "--host", "127.0.0.1", "--port", str(port),
                                  "--state", f"sqlite:///{DEMO / 'sandbox.db'}"], cwd=ROOT,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        say("preparing the Airflow metadata database")
        run([str(BIN / "airflow"), "db", "migrate"], env, quiet=True)
        for name, args in (("api-server", ["api-server", "--host", "127.0.0.1", "--port", str(api_port)]),
                           ("scheduler", ["scheduler"]), ("dag-processor", ["dag-processor"])):
            log = open(DEMO / f"{name}.log", "wb")  # noqa: SIM115 - lives as long as the process
            children.append(subprocess.Popen([str(BIN / "airflow"), *args], env=env, cwd=ROOT, stdout=log,
                                             stderr=subprocess.STDOUT))
        for _ in range(600):
            try:
                if requests.get(f"http://127.0.0.1:{api_port}/api/v2/version", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        say("the DAGs start paused in Airflow; unpause them there (the page never unpauses) so that sends run")
        say(f"open http://127.0.0.1:{api_port}/lexoffice/ (or Airflow's navigation: 'Lexware Office'); "
            f"user admin, its password is in {passwords}. Ctrl-C stops everything.")
        while all(child.poll() is None for child in children):
            time.sleep(1)
        say("a component stopped by itself; stopping the others (logs in .demo/*.log)")
    except KeyboardInterrupt:
        pass
    finally:
        for child in reversed(children):
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops everything like Ctrl-C
    sys.exit(main())
