"""The page on a state database whose schema is older than the code: a 503 that says what to run, through
Airflow's real api-server app and auth manager; after `lexoffice db upgrade` the page works."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from lexoffice.cli import main as cli
from lexoffice.state import migrations
from tests.support.world import World

pytestmark = pytest.mark.e2e


def test_the_page_names_the_upgrade_command_until_it_ran(client: Any, world: World, tokens: dict[str, str]) -> None:
    world.add_tenant("acme", company_id="C1")
    with world.engine(world.state_url).begin() as conn:  # the last release without migrations; not world.state
        conn.execute(sa.text(f"DROP TABLE {migrations.VERSION_TABLE}"))
    headers = {"Authorization": f"Bearer {tokens['viewer']}"}
    refused = client.get("/lexoffice/", headers=headers)
    assert refused.status_code == 503 and "lexoffice db upgrade" in refused.text
    assert cli(["--state-url", world.state_url, "db", "upgrade"]) == 0
    page = client.get("/lexoffice/", headers=headers)
    assert page.status_code == 200 and "acme" in page.text
