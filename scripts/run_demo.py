"""The embedded demo: SQLite source and state databases, the local sandbox, two tenants, both DAGs run with
the real Airflow CLI (`airflow dags test`), then the report. Idempotent: a second run sends nothing again.

Run it through scripts/demo.sh, which sets up the virtualenv first.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import re

import requests

ROOT = Path(__file__).resolve().parents[1]
DEMO = Path(os.environ.get("LEXOFFICE_DEMO_DIR", ROOT / ".demo"))
BIN = Path(sys.executable).parent
FROM, TO = "2026-10-01", "2026-10-31"
REPORT_LINE = re.compile(r"\[info\s*\]\s+(.*?)\s+\[lexoffice\.tasks\]")
TENANTS = [
    # tenant id, name, sandbox organisation id, demo API key (sandbox only), field-service and bank company ids
    ("nordschutz", "Nordschutz Schädlingsbekämpfung GmbH", "0b6a4f7e-6a55-4e8e-9c33-2f3c1d1e0001",
     "demo-key-nordschutz", "C001", "B001"),
    ("rheinpflege", "Rheinpflege Facility GmbH & Co. KG", "0b6a4f7e-6a55-4e8e-9c33-2f3c1d1e0002",
     "demo-key-rheinpflege", "C002", "B002"),
]


def say(text: str) -> None:
    print(f"==> {text}", flush=True)


def free_port(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])


def run(cmd: list[str], env: dict[str, str], quiet: bool = False) -> None:
    out = subprocess.DEVNULL if quiet else None
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, stdout=out)


def demo_env(base: str) -> dict[str, str]:
    """The demo's Airflow environment: SQLite databases under .demo/, connections to the sandbox at ``base``."""
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(DEMO / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "LEXOFFICE_TOKEN_KEY": env.get("LEXOFFICE_TOKEN_KEY", "demo-only-token-key-change-me"),
        "AIRFLOW_CONN_LEXOFFICE_STATE": json.dumps({"conn_type": "sqlite", "host": str(DEMO / "state.db")}),
        "AIRFLOW_CONN_LEXOFFICE_FIELDSERVICE": json.dumps({"conn_type": "sqlite", "host": str(DEMO / "fieldservice.db")}),
        "AIRFLOW_CONN_LEXOFFICE_BANK": json.dumps({"conn_type": "sqlite", "host": str(DEMO / "bank.db")}),
    })
    for tenant_id, _, _, key, *_ in TENANTS:
        env[f"AIRFLOW_CONN_LEXOFFICE_{tenant_id.upper()}"] = json.dumps(
            {"conn_type": "lexoffice", "host": base, "password": key})
    return env


def main() -> int:
    DEMO.mkdir(exist_ok=True)
    port = free_port(int(os.environ.get("LEXOFFICE_SANDBOX_PORT", "8765")))
    base = f"http://127.0.0.1:{port}"
    env = demo_env(base)

    say(f"starting the sandbox (local Lexware Office API) on {base}")
    sandbox = subprocess.Popen([str(BIN / "python"), "-m", "sandbox", "--host", "127.0.0.1", "--port", str(port),
                                "--state", f"sqlite:///{DEMO / 'sandbox.db'}"], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                if requests.get(f"{base}/_admin/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            raise SystemExit("the sandbox did not start")
        known = requests.get(f"{base}/_admin/stats", timeout=5).json().get("organizations", {})
        for tenant_id, name, org_id, key, *_ in TENANTS:
            if org_id not in known:
                requests.post(f"{base}/_admin/organizations", timeout=5, json={
                    "organization_id": org_id, "company_name": name, "api_key": key}).raise_for_status()

        if not (DEMO / "fieldservice.db").exists():
            say("generating demo source data (deterministic, seed 42)")
            run([str(BIN / "python"), "-m", "demo", "--fieldservice-url", f"sqlite:///{DEMO / 'fieldservice.db'}",
                 "--bank-url", f"sqlite:///{DEMO / 'bank.db'}", "--seed", "42", "--scale", "small", "--start", FROM, "--days", "30"], env)

        say("preparing the Airflow metadata database (first time takes ~10 s)")
        run([str(BIN / "airflow"), "db", "migrate"], env, quiet=True)

        say("preparing the state database (lexoffice init: tables, or the pending schema migrations)")
        run([str(BIN / "lexoffice"), "init"], env)

        say("registering and connecting the tenants")
        for tenant_id, name, _, _, invoice_company, bank_company in TENANTS:
            run([str(BIN / "lexoffice"), "tenant", "add", tenant_id, "--name", name, "--conn-id",
                 f"lexoffice_{tenant_id}", "--invoice-company", invoice_company, "--bank-company", bank_company,
                 "--export-since", FROM], env)
            run([str(BIN / "lexoffice"), "tenant", "connect", tenant_id, "--export-since", FROM], env)

        conf = json.dumps({"from_date": FROM, "to_date": TO})
        for dag_id in ("lexoffice_invoice_drafts", "lexoffice_transactions"):
            say(f"running {dag_id} for {FROM}..{TO} (airflow dags test)")
            result = subprocess.run([str(BIN / "airflow"), "dags", "test", dag_id, "-c", conf], env=env, cwd=ROOT,
                                    capture_output=True, text=True)
            (DEMO / f"{dag_id}.log").write_text(result.stdout + result.stderr)
            print(f"    run {'succeeded' if result.returncode == 0 else 'ended failed (see the report)'}")
            for line in (result.stdout + result.stderr).splitlines():
                found = REPORT_LINE.search(line)
                if found and ("report for tenant" in line or " · " in line or "BLOCKED" in line
                              or "this run:" in line or "need attention" in line):
                    print("   ", found.group(1))
            print(f"    full log: {DEMO / (dag_id + '.log')}")

        say("report: the first documents (all of them: .venv/bin/lexoffice --state-url sqlite:///.demo/state.db report)")
        run([str(BIN / "lexoffice"), "report", "--limit", "12"], env)
        stats = requests.get(f"{base}/_admin/stats", timeout=5).json()
        say(f"the sandbox now holds: {json.dumps(stats['organizations'], indent=None)}")
        say("run ./scripts/demo.sh again: nothing is sent twice")
        say("the Lexware Office page in the Airflow UI: ./scripts/ui.sh (then open the address it prints)")
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
