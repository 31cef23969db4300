"""Every Airflow process loads the plugin, each task process too: loading it must not import the web app."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_loading_the_plugin_imports_no_web_app() -> None:
    probe = ("import sys; from importlib.metadata import entry_points; "
             "[plugin] = [e for e in entry_points(group='airflow.plugins') if e.name == 'lexoffice']; "
             "cls = plugin.load(); assert cls.fastapi_apps[0]['url_prefix'] == '/lexoffice'; "
             "print(sorted(m for m in ('fastapi', 'lexoffice.ui.app', 'airflow.api_fastapi.core_api.security') "
             "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
