"""Import DAG files the way Airflow's DAG processor does: ``python -m bench.dag_probe REPEATS FILE...``.

This process imports Airflow once (and ``airflow.sdk``, which every DAG file uses), then forks one child
per measurement, as the DAG processor forks a parser per file from a process that has Airflow loaded.
Each child times the import of one DAG file and reports it, with the DAG ids it found and the heavy
modules the file pulled in (there should be none: they belong inside the tasks). Prints one JSON line.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

HEAVY = ("pandas", "numpy", "requests", "psycopg", "sqlalchemy", "tenacity", "cryptography",
         "lexoffice.client", "lexoffice.state", "lexoffice.source", "lexoffice.validation", "lexoffice.delivery")


def _heavy(names: set[str]) -> list[str]:
    found = set()
    for name in names:
        for heavy in HEAVY:
            if name == heavy or name.startswith(heavy + "."):
                found.add(heavy)
    return sorted(found)


def _import_dag_file(path: str) -> dict[str, Any]:
    from airflow.sdk import DAG

    before = set(sys.modules)
    began, cpu_began = time.perf_counter(), time.process_time()
    spec = importlib.util.spec_from_file_location(f"bench_dag_{Path(path).stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - cpu_began
    dag_ids = [value.dag_id for value in vars(module).values() if isinstance(value, DAG)]
    return {"file": path, "seconds": seconds, "cpu_seconds": cpu_seconds, "dag_ids": dag_ids,
            "heavy_modules": _heavy(set(sys.modules) - before)}


def _in_child(path: str) -> dict[str, Any]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: measure, report, leave without running the parent's cleanup
        os.close(read_end)
        try:
            report = _import_dag_file(path)
        except BaseException as exc:  # noqa: BLE001 - any failure is the measurement's result
            report = {"file": path, "error": f"{type(exc).__name__}: {exc}"}
        with os.fdopen(write_end, "w") as out:
            out.write(json.dumps(report))
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as source:
        text = source.read()
    os.waitpid(pid, 0)
    return json.loads(text) if text else {"file": path, "error": "the child reported nothing"}


def main(argv: list[str]) -> int:
    repeats, files = int(argv[0]), argv[1:]
    began = time.perf_counter()
    import airflow  # noqa: F401
    import airflow.sdk  # noqa: F401

    airflow_seconds = time.perf_counter() - began
    measurements = [_in_child(path) for _ in range(repeats) for path in files]
    print(json.dumps({"airflow_seconds": airflow_seconds, "measurements": measurements}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
