"""Read docker-compose.yaml the way Docker Compose does, for the parts a test can check without an engine.

Compose substitutes ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?message}``,
``${VAR?message}`` and ``$$`` in every string before it reads the file; the tests need the same, so they can
check a value (a connection's JSON, a URL) as the containers will see it, and that a required secret
really is required. YAML anchors and ``<<`` merge keys are resolved by PyYAML.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
# What a user puts into .env for the variables the compose file requires (test values, not secrets).
TEST_SECRETS = {
    "AIRFLOW_FERNET_KEY": "test-fernet-key",
    "AIRFLOW_JWT_SECRET": "test-jwt-secret",
    "LEXOFFICE_TOKEN_KEY": "test-token-key",
    "_AIRFLOW_WWW_USER_PASSWORD": "test-admin-password",
}

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\})"
)


class MissingRequiredVariable(LookupError):
    """A ``${VAR:?message}`` whose variable is unset (or empty): Compose refuses to start."""


def interpolate(text: str, env: Mapping[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name, op, arg = match["name"], match["op"], match["arg"] or ""
        value = env.get(name)
        missing = value is None or (value == "" and op is not None and op.startswith(":"))
        if op in (":?", "?") and missing:
            raise MissingRequiredVariable(f"{name}: {arg}")
        if op in (":-", "-") and missing:
            return arg
        return value or ""

    return _VARIABLE.sub(substitute, text)


def variables(text: str) -> set[str]:
    """The names of the variables ``text`` substitutes (``$${X}`` is an escaped literal, not a variable)."""
    return {m["name"] for m in _VARIABLE.finditer(text) if m["name"]}


def _interpolate_tree(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [_interpolate_tree(item, env) for item in node]
    if isinstance(node, dict):
        return {key: _interpolate_tree(value, env) for key, value in node.items()}
    return node


def load_raw(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The file as written (variables not substituted), anchors and merge keys resolved."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load(env: Mapping[str, str], path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The file as Compose sees it with ``env`` as the environment (and .env)."""
    return _interpolate_tree(load_raw(path), env)


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's environment as a dict, whichever of the two Compose spellings it uses."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def healthcheck_command(service: Mapping[str, Any]) -> list[str]:
    """The healthcheck test as an argv-like list (``CMD``/``CMD-SHELL`` removed)."""
    test = (service.get("healthcheck") or {}).get("test")
    if isinstance(test, str):
        return ["sh", "-c", test]
    if not test:
        return []
    kind, *rest = test
    return ["sh", "-c", *rest] if kind == "CMD-SHELL" else list(rest)
