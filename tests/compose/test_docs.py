"""The guides' commands still match the code: every `lexoffice` and `airflow` command line in
docs/operations.md and docs/configuration.md parses with the real command-line parsers, DAG ids exist,
trigger confs pass the DAG's own params, and the reason-code table is the catalogue's.

The guide's commands were run against the demo once by hand; this keeps them from rotting when a flag, a
param or a reason code changes.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.compose import reason_table

ROOT = Path(__file__).resolve().parents[2]
GUIDES = [ROOT / "docs" / "operations.md", ROOT / "docs" / "configuration.md"]
WRAPPERS = (["docker", "compose", "exec", "airflow-worker"],)


def _bash_blocks(text: str) -> Iterator[str]:
    yield from re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def command_lines(path: Path) -> list[list[str]]:
    """Every command line of the guide's bash blocks, as argv, wrappers such as `docker compose exec …` removed."""
    out = []
    for block in _bash_blocks(path.read_text(encoding="utf-8")):
        for line in block.replace("\\\n", " ").splitlines():
            try:
                argv = shlex.split(line, comments=True)
            except ValueError:
                continue
            for wrapper in WRAPPERS:
                if argv[: len(wrapper)] == wrapper:
                    argv = argv[len(wrapper):]
            if argv:
                out.append(argv)
    return out


def _commands(program: str) -> list[tuple[str, list[str]]]:
    found = [(path.name, argv) for path in GUIDES for argv in command_lines(path) if argv[0] == program]
    return found


def _dag_ids() -> set[str]:
    text = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "dags").glob("*.py"))
    return set(re.findall(r'dag_id="([a-z_]+)"', text))


@pytest.fixture(scope="module")
def airflow_parser() -> Any:
    from airflow.cli.cli_parser import get_parser

    return get_parser()


def test_the_guides_show_lexoffice_and_airflow_commands() -> None:
    assert len(_commands("lexoffice")) >= 10
    assert len(_commands("airflow")) >= 5


@pytest.mark.parametrize(("guide", "argv"), _commands("lexoffice"), ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_lexoffice_commands_parse(guide: str, argv: list[str]) -> None:
    from lexoffice.cli import build_parser

    args = build_parser().parse_args(argv[1:])
    assert callable(args.func)


def test_airflow_commands_parse_and_name_real_dags(airflow_parser: Any) -> None:
    dag_ids = _dag_ids()
    assert dag_ids == {"lexoffice_invoice_drafts", "lexoffice_transactions"}
    for guide, argv in _commands("airflow"):
        args = airflow_parser.parse_args(argv[1:])
        dag_id = getattr(args, "dag_id", None)
        if dag_id is not None and argv[1] != "standalone":
            assert dag_id in dag_ids, f"{guide}: {' '.join(argv)} names an unknown DAG"


def _dag(dag_id: str) -> Any:
    """The DAG object of dags/<dag_id>.py, as the dag-processor builds it."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"guide_{dag_id}", ROOT / "dags" / f"{dag_id}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


def test_trigger_confs_pass_the_dag_params(airflow_parser: Any) -> None:
    triggers = [(g, argv) for g, argv in _commands("airflow") if argv[1:3] == ["dags", "trigger"]]
    assert triggers
    for guide, argv in triggers:
        args = airflow_parser.parse_args(argv[1:])
        params = _dag(args.dag_id).params
        conf = json.loads(args.conf)
        unknown = set(conf) - set(params.keys())
        assert not unknown, f"{guide}: trigger conf has no such params {unknown}"
        for name, value in conf.items():
            params.get_param(name).resolve(value)  # raises ParamValidationError as the trigger would


def test_reason_code_table_is_generated_from_the_catalogue() -> None:
    guide = reason_table.GUIDE.read_text(encoding="utf-8")
    assert reason_table.current(guide) == reason_table.render(), (
        "docs/operations.md's reason codes differ from the catalogue; run "
        "`.venv/bin/python -m tests.compose.reason_table`"
    )
    from lexoffice.validation.reasons import CATALOGUE

    for code in CATALOGUE:
        assert f"| `{code}` |" in guide
