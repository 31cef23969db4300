"""No dependency without a use: every pinned top-level requirement is imported by the project, or its use
without an import is named here and checked; and the project reaches into no library's private internals."""

from __future__ import annotations

import ast
import re
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CODE_DIRS = ("plugins", "dags", "sandbox", "demo", "bench", "tests", "scripts")
REQUIREMENT_FILES = ("requirements.txt", "requirements-dev.txt")

#: Requirements used without an ``import`` of their own: (file, text in it that shows the use).
USED_WITHOUT_IMPORT = {
    # the "postgres" connection type in Airflow's UI, read by connections.py
    "apache-airflow-providers-postgres": ("plugins/lexoffice/provider/connections.py", '"postgres"'),
    # the CeleryExecutor of the compose stack and tests/cluster, with Redis as its broker
    "apache-airflow-providers-celery": ("docker-compose.yaml", "CeleryExecutor"),
    "celery": ("docker-compose.yaml", "CeleryExecutor"),
    "redis": ("docker-compose.yaml", "redis://"),
    # pytest plugin, used through the timeout marker
    "pytest-timeout": ("tests/bench/test_smoke.py", "pytest.mark.timeout"),
}
#: Requirements pinned because another pinned one needs them (checked against the installed metadata).
REQUIRED_BY = {
    "apache-airflow-providers-common-sql": "apache-airflow-providers-postgres",
    "apache-airflow-providers-standard": "apache-airflow-core",  # airflow.sdk's @task lives there
    "psycopg-binary": "psycopg",  # psycopg's compiled implementation (the [binary] extra)
}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pinned() -> list[str]:
    names = []
    for file in REQUIREMENT_FILES:
        for line in (ROOT / file).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                names.append(_normalise(re.split(r"[=<>!~\[ ;]", line, maxsplit=1)[0]))
    return names


def _module_for(dist: str) -> str:
    """The module a distribution is imported as."""
    if dist == "apache-airflow":
        return "airflow"
    if dist == "apache-airflow-task-sdk":
        return "airflow.sdk"
    if dist.startswith("apache-airflow-providers-"):
        return "airflow.providers." + dist.removeprefix("apache-airflow-providers-").replace("-", ".")
    tops = [top for top, dists in metadata.packages_distributions().items()
            if dist in {_normalise(d) for d in dists}]
    plain = dist.replace("-", "_")
    return plain if plain in tops or not tops else tops[0]


def _imported_modules() -> set[str]:
    modules: set[str] = set()
    for folder in CODE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    modules.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    modules.add(node.module)
    return modules


def _requires(dist: str) -> set[str]:
    return {_normalise(re.split(r"[=<>!~\[ ;(]", r, maxsplit=1)[0]) for r in metadata.requires(dist) or []}


def test_every_pinned_requirement_has_a_use() -> None:
    imported = _imported_modules()
    unused = []
    for dist in _pinned():
        module = _module_for(dist)
        if any(m == module or m.startswith(module + ".") for m in imported):
            continue
        if dist in USED_WITHOUT_IMPORT:
            file, marker = USED_WITHOUT_IMPORT[dist]
            assert marker in (ROOT / file).read_text(), f"{dist}: {file} no longer shows its use ({marker!r})"
            continue
        if dist in REQUIRED_BY:
            assert dist in _requires(REQUIRED_BY[dist]), f"{dist}: {REQUIRED_BY[dist]} no longer requires it"
            continue
        unused.append(dist)
    assert unused == [], f"pinned but never used (remove them, or name their use in this test): {unused}"


def test_airflow_providers_http_is_not_a_dependency() -> None:
    """Decided in docs/architecture.md: LexofficeHook builds its own client; HttpHook is not used."""
    for file in ("requirements.txt", "pyproject.toml", "constraints.txt"):
        assert "apache-airflow-providers-http" not in (ROOT / file).read_text(), file


@pytest.mark.parametrize("folder", ["plugins", "dags"])
def test_no_private_attributes_of_other_libraries(folder: str) -> None:
    """``x._name`` / ``getattr(x, "_name")`` only for names the project defines itself: a library's private
    internals (such as pandas' ``StringArray._ndarray``) may change in any release."""
    own: set[str] = set()
    trees = [(p, ast.parse(p.read_text(), str(p))) for p in (ROOT / folder).rglob("*.py")]
    for _, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                own.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                own.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                own.add(node.attr)
            elif isinstance(node, ast.alias):
                own.add(node.asname or node.name.rsplit(".", 1)[-1])
            elif isinstance(node, ast.arg):
                own.add(node.arg)
    foreign = []
    for path, tree in trees:
        for node in ast.walk(tree):
            name = None
            if isinstance(node, ast.Attribute):
                name = node.attr
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
                  and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
                  and isinstance(node.args[1].value, str)):
                name = node.args[1].value
            if name and name.startswith("_") and not name.startswith("__") and name not in own:
                foreign.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
    assert foreign == []
