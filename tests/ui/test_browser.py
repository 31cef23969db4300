"""The page as a person uses it: real headless Chromium (Debian's chromium + chromedriver, via Selenium) against a
real Airflow (api-server, scheduler, dag-processor; LocalExecutor) and the sandbox.

Log in through Airflow's own login form (SimpleAuthManager, user admin), open the page, select one valid and
one invalid draft, click "An die Buchhaltung senden", and wait until the table shows the valid one "gesendet"
with Datum senden and a Lexware id that exists in the sandbox, and the invalid one "fehlgeschlagen" with its
reason. A screenshot is saved in the test's tmp dir.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pendulum
import pytest

from tests.support.airflow_stack import ADMIN_PASSWORD, AirflowStack, wait_for
from tests.support.sandbox_server import SandboxServer
from tests.support.world import World
from tests.ui.support import add_drafts

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
DAG_ID = "lexoffice_invoice_drafts"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,1000")


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


def ui_world(sandbox: SandboxServer, tmp: Path) -> World:
    """Sandbox organisation, tenant 'acme' connected, three drafts: D1 and D2 valid, D3 without a customer."""
    from lexoffice.source.schema import create_schema

    monkeypatch = pytest.MonkeyPatch()
    urls = {name: f"sqlite:///{tmp / (name + '.db')}" for name in ("state", "fieldservice", "bank")}
    world = World(sandbox=sandbox, tmp=tmp, monkeypatch=monkeypatch, state_url=urls["state"],
                  fieldservice_url=urls["fieldservice"], bank_url=urls["bank"])
    create_schema(world.engine(world.fieldservice_url), "fieldservice")
    create_schema(world.engine(world.bank_url), "bank")
    world.add_tenant("acme", company_id="C1", export_since=date(2026, 10, 1), streams=("invoices",))
    add_drafts(world, "C1", [("D1", "RE-1", "K1"), ("D2", "RE-2", "K1"), ("D3", "RE-3", None)])
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


@pytest.fixture
def stack(sandbox: SandboxServer, tmp_path: Path) -> Iterator[tuple[AirflowStack, World]]:
    world = ui_world(sandbox, tmp_path)
    airflow = AirflowStack.prepare(tmp_path / "airflow", stack_connections(world))
    airflow.start()
    try:
        airflow.wait_for_dag(DAG_ID)
        airflow.unpause(DAG_ID)  # an admin's decision in Airflow, not the page's
        yield airflow, world
    except BaseException:
        print(airflow.logs())
        raise
    finally:
        airflow.stop()


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
    from selenium.webdriver.common.by import By

    tr = driver.find_element(By.CSS_SELECTOR, f"tr.doc[data-id='{source_id}']")
    cell = lambda css: tr.find_element(By.CSS_SELECTOR, css).text.strip()  # noqa: E731
    return {"state": cell("td.state"), "sent_at": cell("td.sent-at"), "lexware_id": cell("td.lexware-id"),
            "reasons": cell("td.reasons"), "link": (tr.find_elements(By.CSS_SELECTOR, "td.lexware-id a") or [None])[0]
            and tr.find_element(By.CSS_SELECTOR, "td.lexware-id a").get_attribute("href") or ""}


def test_select_two_drafts_send_and_see_the_outcome(stack: tuple[AirflowStack, World], tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    airflow, world = stack
    driver = browser(tmp_path / "chromium-profile")
    try:
        login(driver, airflow.url)
        driver.get(f"{airflow.url}/lexoffice/tenants/acme/invoices")
        wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "tr.doc"), timeout=60, what="the documents table")
        assert row(driver, "D1")["state"] == "nicht gesendet"
        for source_id in ("D1", "D3"):
            driver.find_element(By.CSS_SELECTOR, f"tr.doc[data-id='{source_id}'] input.pick").click()
        driver.find_element(By.ID, "send").click()
        wait_for(lambda: "angenommen" in driver.find_element(By.ID, "send-result").text, timeout=60,
                 what="the send to be accepted")

        def settled() -> bool:
            valid, invalid = row(driver, "D1"), row(driver, "D3")
            return valid["state"] == "gesendet" and invalid["state"] == "fehlgeschlagen"

        try:
            wait_for(settled, timeout=420, what="D1 'gesendet' and D3 'fehlgeschlagen'", every=2)
        finally:
            driver.save_screenshot(str(tmp_path / "lexoffice-page.png"))
        valid, invalid, untouched = row(driver, "D1"), row(driver, "D3"), row(driver, "D2")
        assert pendulum.from_format(valid["sent_at"], "DD.MM.YYYY HH:mm", tz="Europe/Berlin")
        assert valid["link"].endswith(f"/permalink/invoices/edit/{valid['lexware_id']}")
        in_sandbox = [inv["id"] for inv in world.lexware("acme", "invoices")]
        assert in_sandbox == [valid["lexware_id"]]  # exactly one draft, the valid one, exists in Lexware
        assert "CUSTOMER_MISSING" in invalid["reasons"] and invalid["sent_at"] == "" and invalid["lexware_id"] == ""
        assert untouched["state"] == "nicht gesendet"  # not selected, not sent
        assert (tmp_path / "lexoffice-page.png").stat().st_size > 0
    finally:
        driver.quit()
