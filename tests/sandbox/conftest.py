"""Fixtures for the sandbox tests: organisations on the session's sandbox (reset per test)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.sandbox.support import OrgClient, create_org
from tests.support.sandbox_server import SandboxServer


@pytest.fixture
def make_org(sandbox: SandboxServer) -> Callable[..., OrgClient]:
    def make(**settings: Any) -> OrgClient:
        return create_org(sandbox, **settings)

    return make


@pytest.fixture
def api(make_org: Callable[..., OrgClient]) -> OrgClient:
    """One organisation without a rate limit (the rate-limit tests make their own)."""
    return make_org()
