"""The installed provider registers the `lexoffice` connection type, as `airflow providers list` shows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

AIRFLOW = str(Path(sys.executable).parent / "airflow")


def _airflow(*args: str) -> str:
    env = {**os.environ, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    out = subprocess.run([AIRFLOW, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_airflow_providers_list_shows_the_project() -> None:
    assert "lexoffice-airflow" in _airflow("providers", "list")


def test_lexoffice_is_a_connection_type_with_its_hook_and_form() -> None:
    hooks = _airflow("providers", "hooks")
    line = next(ln for ln in hooks.splitlines() if ln.strip().startswith("lexoffice"))
    assert "lexoffice.provider.hooks.LexofficeHook" in line
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert "lexoffice" in manager.hooks
    behaviour = manager.field_behaviours["lexoffice"]
    assert behaviour["placeholders"]["host"] == "https://api.lexware.io"
    assert "schema" in behaviour["hidden_fields"]
