"""The import direction of the installed package follows the data flow.

The folder tree tells the architecture (extract -> validate -> stage -> deliver -> report) only if the imports
agree with it: a lower layer never imports an upper one, no two modules import each other (directly or round a
longer loop), and no module reaches for another module's private names. The imports are read with ``ast``
(module level and inside functions alike: a lazy import is still a dependency), so nothing is imported here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[2] / "plugins"
PACKAGE = "lexoffice"

#: Layers from the bottom up, by the first name below ``lexoffice``. A module may import its own layer and the
#: ones below it.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"__init__", "settings", "documents", "payloads", "lexware_totals"}),  # values, no I/O
    frozenset({"client"}),  # HTTP to Lexware, no database
    frozenset({"state"}),  # the state database
    frozenset({"streams"}),  # what differs between the two streams, described once per stream
    frozenset({"source"}),  # extract
    frozenset({"validation"}),
    frozenset({"staging"}),
    frozenset({"delivery"}),
    # after delivery: what became of sent documents, and the report of it (the optional write-back publishes the
    # report's rows into the source database, the report shows the follow-up's columns)
    frozenset({"followup", "report"}),
    frozenset({"cli", "ui", "provider"}),  # what a person or Airflow calls: the command, the UI page, the Airflow wing
)


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    imported: str  # dotted module name
    names: tuple[str, ...]  # the names taken from it (``from x import a, b``), empty for ``import x``
    line: int


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted((PACKAGE_ROOT / PACKAGE).rglob("*.py"))}


def imports_of(module: str, text: str, *, is_package: bool, known: set[str]) -> Iterator[Import]:
    """Every import of a ``lexoffice`` module in ``text``; ``from pkg import mod`` counts as importing ``pkg.mod``."""
    for node in ast.walk(ast.parse(text, filename=module)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    yield Import(module, alias.name, (), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            if base.split(".")[0] != PACKAGE:
                continue
            plain = tuple(a.name for a in node.names if f"{base}.{a.name}" not in known)
            if plain or base not in known:
                yield Import(module, base, plain, node.lineno)
            for alias in node.names:
                if f"{base}.{alias.name}" in known:
                    yield Import(module, f"{base}.{alias.name}", (), node.lineno)


def all_imports() -> list[Import]:
    modules = package_modules()
    known = set(modules)
    return [imp for module, path in modules.items()
            for imp in imports_of(module, path.read_text(), is_package=path.name == "__init__.py", known=known)]


def layer_of(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    for index, members in enumerate(LAYERS):
        if top in members:
            return index
    raise AssertionError(f"{module}: no layer declared for {top!r}; add it to LAYERS in {__file__}")


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each a list of module names."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_module_has_a_layer() -> None:
    for module in package_modules():
        layer_of(module)


def test_no_lower_layer_imports_an_upper_one() -> None:
    upward = [f"{imp.importer} (layer {layer_of(imp.importer)}) imports {imp.imported} "
              f"(layer {layer_of(imp.imported)}), line {imp.line}"
              for imp in all_imports() if layer_of(imp.imported) > layer_of(imp.importer)]
    assert not upward, "imports against the data flow:\n" + "\n".join(upward)


def test_no_import_cycles() -> None:
    edges: dict[str, set[str]] = {}
    for imp in all_imports():
        # ``import lexoffice.a.b`` also runs lexoffice/a/__init__.py, but a package's __init__ importing one of its
        # modules is how packages work, not a cycle of ideas: only module-to-module edges count.
        if imp.imported != imp.importer:
            edges.setdefault(imp.importer, set()).add(imp.imported)
    found = [loop for loop in cycles(edges)
             if not any(other.startswith(f"{m}.") for m in loop for other in loop)]
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(loop) for loop in found)


def test_no_private_names_imported_from_another_module() -> None:
    private = [f"{imp.importer} imports {name} from {imp.imported}, line {imp.line}"
               for imp in all_imports() for name in imp.names
               if name.startswith("_") and not (name.startswith("__") and name.endswith("__"))]
    assert not private, "private names used across modules (make them public where they belong):\n" + "\n".join(
        private)


@pytest.mark.parametrize("text, expected", [
    ("from lexoffice.state import outbox\n", "lexoffice.state.outbox"),
    ("from lexoffice.state.outbox import stage\n", "lexoffice.state.outbox"),
    ("import lexoffice.state.outbox\n", "lexoffice.state.outbox"),
    ("from .outbox import stage\n", "lexoffice.state.outbox"),
    ("from . import outbox\n", "lexoffice.state.outbox"),
    ("def f():\n    from lexoffice.state import outbox\n", "lexoffice.state.outbox"),
])
def test_the_reader_sees_every_form_of_import(text: str, expected: str) -> None:
    """The checks above are only as good as this reader: each way of writing an import is found."""
    found = imports_of("lexoffice.state.probe", text, is_package=False,
                       known={"lexoffice.state", "lexoffice.state.outbox"})
    assert expected in {imp.imported for imp in found}


def test_the_checks_catch_what_they_are_for() -> None:
    """A cycle, an upward import and a private name are each reported (the checks can fail)."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert layer_of("lexoffice.state.outbox") < layer_of("lexoffice.staging.background")
    found = imports_of("lexoffice.delivery.probe", "from lexoffice.delivery.invoices import _blocked_message\n",
                       is_package=False, known={"lexoffice.delivery", "lexoffice.delivery.invoices"})
    assert [imp.names for imp in found] == [("_blocked_message",)]


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("folder", ["bench", "plugins", "dags", "demo", "sandbox"])
def test_nothing_outside_tests_imports_the_tests(folder: str) -> None:
    """The benchmark, the package, the DAGs, the demo and the sandbox stand on their own (issue 16): tests may
    use them, never the other way round."""
    root = PACKAGE_ROOT.parent / folder
    offenders = [str(path.relative_to(root.parent)) for path in sorted(root.rglob("*.py"))
                 if "tests" in _imported_roots(path)]
    assert offenders == []
