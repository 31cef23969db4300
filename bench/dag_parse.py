"""DAG parse cost: each DAG file imported in its own process after Airflow, the median of several runs.

A process per measurement, because a second import in the same process is a dictionary lookup; each is a
fork of one process that imported Airflow (see ``bench.dag_probe``). Airflow gets a throwaway home and a
SQLite metadata URL so that nothing touches a real installation.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.table import Row
from bench.infra import ROOT

TARGET_SECONDS = 0.2
DAG_FILES = sorted((ROOT / "dags").glob("*.py"))


@dataclass(frozen=True)
class ParseCost:
    dag_file: Path
    dag_seconds: list[float]
    cpu_seconds: list[float]
    airflow_seconds: float
    dag_ids: list[str]
    heavy_modules: list[str]
    error: str | None = None


def airflow_env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
    }


def measure(repeats: int, dag_files: list[Path] = DAG_FILES) -> list[ParseCost]:
    """Every DAG file ``repeats`` times, each import in its own child of one Airflow-loaded process."""
    with tempfile.TemporaryDirectory(prefix="lexoffice-bench-airflow-") as home:
        done = subprocess.run([sys.executable, "-m", "bench.dag_probe", str(repeats), *map(str, dag_files)],
                              cwd=ROOT, env=airflow_env(Path(home)), capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()
        why = tail[-1] if tail else f"exit {done.returncode}"
        return [ParseCost(f, [], [], 0.0, [], [], error=why) for f in dag_files]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    costs = []
    for dag_file in dag_files:
        mine = [m for m in report["measurements"] if m["file"] == str(dag_file)]
        errors = [m["error"] for m in mine if "error" in m]
        ok = [m for m in mine if "error" not in m]
        costs.append(ParseCost(dag_file, [m["seconds"] for m in ok], [m["cpu_seconds"] for m in ok],
                               report["airflow_seconds"],
                               ok[-1]["dag_ids"] if ok else [], ok[-1]["heavy_modules"] if ok else [],
                               error=errors[0] if errors else None))
    return costs


def row(cost: ParseCost) -> Row:
    """Judged on CPU time: on a shared machine the wall time mostly measures the run queue (both are shown)."""
    key = f"4.parse.{cost.dag_file.stem}"
    label = f"DAG parse: import {cost.dag_file.name} after Airflow (median of {len(cost.dag_seconds) or '?'})"
    target = f"< {TARGET_SECONDS} s CPU"
    if cost.error:
        return Row.failed(key, label, cost.error, target)
    cpu, wall = statistics.median(cost.cpu_seconds), statistics.median(cost.dag_seconds)
    heavy = ", ".join(cost.heavy_modules) or "none"
    result = (f"{cpu:.3f} s CPU, {wall:.3f} s wall (wall {min(cost.dag_seconds):.3f} to {max(cost.dag_seconds):.3f} s; "
              f"importing Airflow itself took {cost.airflow_seconds:.1f} s); DAG {', '.join(cost.dag_ids) or 'NONE'}; "
              f"heavy imports at parse time: {heavy}")
    return Row.judged(key, label, result, target, cpu < TARGET_SECONDS and bool(cost.dag_ids))
