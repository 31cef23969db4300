"""Driving the Lexware Office page in Debian's headless Chromium (Selenium), for the browser test and the UI
benchmark: a small world in the sandbox, the connections a deployment would set, login, reading table rows."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.support.airflow_stack import ADMIN_PASSWORD, wait_for
from tests.support.sandbox_server import SandboxServer
from tests.support.world import World

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,1000",
                  "--lang=de-DE")


def browser(profile: Path) -> Any:
    """Debian's Chromium with a fresh profile, driven by Debian's chromedriver (no downloads)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.fail("chromium/chromedriver missing: run ./scripts/ensure-chromium.sh (scripts/test.sh does)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def add_drafts(world: Any, company_id: str, drafts: list[tuple[str, str, str | None]]) -> None:
    """Drafts (id, number, customer id or None) of 2026-10-05 with the usual lines (tests.support.sources)."""
    from tests.support import sources

    engine = world.engine(world.fieldservice_url)
    sources.company(engine, company_id)
    for customer in sorted({c for _, _, c in drafts if c}):
        sources.customer(engine, customer, company_id, name=f"Kunde {customer} GmbH")
    for draft_id, number, customer in drafts:
        sources.draft(engine, draft_id, company_id, customer, number=number)


def ui_world(sandbox: SandboxServer, tmp: Path, drafts: list[tuple[str, str, str | None]]) -> World:
    """Sandbox organisation, tenant 'acme' connected, ``drafts`` (id, number, customer or None) in its source."""
    from demo.source_db import create_schema


    monkeypatch = pytest.MonkeyPatch()
    urls = {name: f"sqlite:///{tmp / (name + '.db')}" for name in ("state", "fieldservice", "bank")}
    world = World(sandbox=sandbox, tmp=tmp, monkeypatch=monkeypatch, state_url=urls["state"],
                  fieldservice_url=urls["fieldservice"], bank_url=urls["bank"])
    create_schema(world.engine(world.fieldservice_url), "fieldservice")
    create_schema(world.engine(world.bank_url), "bank")
    world.add_tenant("acme", company_id="C1", export_since=date(2026, 10, 1), streams=("invoices",))
    add_drafts(world, "C1", drafts)
    monkeypatch.undo()
    return world


def stack_connections(world: World) -> dict[str, dict[str, Any]]:
    conns: dict[str, dict[str, Any]] = {
        f"lexoffice_{name}": {"conn_type": "sqlite", "host": url[len("sqlite:///"):]}
        for name, url in (("state", world.state_url), ("fieldservice", world.fieldservice_url),
                          ("bank", world.bank_url))}
    for tenant_id, info in world.tenants.items():
        conns[f"lexoffice_{tenant_id}"] = {"conn_type": "lexoffice", "host": world.sandbox.base_url,
                                           "password": info.api_key}
    return conns


def login(driver: Any, base: str) -> None:
    """Airflow's own login form (SimpleAuthManager)."""
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/auth/login/?next={base}/")
    password = wait_for(lambda: driver.find_element(By.CSS_SELECTOR, "input[type=password]"), timeout=120,
                        what="the login form")
    username = driver.find_element(By.CSS_SELECTOR, "input:not([type=password]):not([type=hidden])")
    username.send_keys("admin")
    password.send_keys(ADMIN_PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(lambda: driver.get_cookie("_token"), timeout=60, what="the login cookie")


def row(driver: Any, source_id: str) -> dict[str, str]:
    """What a person reads in one table row (the cells the page marks with classes)."""
    from selenium.webdriver.common.by import By

    tr = driver.find_element(By.CSS_SELECTOR, f"tr.doc[data-id='{source_id}']")
    cells = {name: tr.find_element(By.CSS_SELECTOR, f"td.{name}").text.strip()
             for name in ("state", "sent-at", "lexware-id", "reasons")}
    links = tr.find_elements(By.CSS_SELECTOR, "td.lexware-id a")
    return {"state": cells["state"], "sent_at": cells["sent-at"], "lexware_id": cells["lexware-id"],
            "reasons": cells["reasons"], "link": links[0].get_attribute("href") if links else ""}
