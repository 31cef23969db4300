"""The sandbox's own output never contains API keys, bearer tokens, client secrets or request bodies."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.sandbox_server import ROOT, free_port

SECRET_KEY = "key-that-must-not-be-logged"
BODY_MARKER = "body-text-that-must-not-be-logged"


def test_verbose_access_log_contains_no_secrets_or_bodies(tmp_path: Path) -> None:
    port = free_port()
    log_path = tmp_path / "sandbox.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", str(port), "--access-log",
             "--log-level", "debug"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 20
            while True:
                try:
                    if requests.get(f"{base}/_admin/health", timeout=1).ok:
                        break
                except requests.ConnectionError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise
                    time.sleep(0.05)
            requests.post(f"{base}/_admin/organizations", timeout=10, json={
                "company_name": "Log GmbH", "api_key": SECRET_KEY, "rate_limit_per_second": None})
            headers = {"Authorization": f"Bearer {SECRET_KEY}"}
            requests.post(f"{base}/v1/contacts", headers=headers, timeout=10,
                          json={"version": 0, "roles": {"customer": {}}, "person": {"lastName": BODY_MARKER}})
            requests.post(f"{base}/v1/invoices", headers=headers, timeout=10, json={"remark": BODY_MARKER})
            requests.post(f"{base}/_admin/faults", json={"mode": "drop_after_commit", "path": "/v1/contacts"},
                          timeout=10)
            try:
                requests.post(f"{base}/v1/contacts", headers=headers, timeout=10,
                              json={"version": 0, "roles": {"customer": {}}, "person": {"lastName": BODY_MARKER}})
            except requests.ConnectionError:
                pass
            requests.post(f"{base}/oauth2/token", auth=("client", "client-secret-not-logged"),
                          data={"grant_type": "refresh_token", "refresh_token": "refresh-not-logged"}, timeout=10)
        finally:
            process.terminate()
            process.wait(timeout=60)
    output = log_path.read_text()
    assert "POST /v1/invoices" in output  # the access log was on
    for secret in (SECRET_KEY, BODY_MARKER, "client-secret-not-logged", "refresh-not-logged"):
        assert secret not in output
