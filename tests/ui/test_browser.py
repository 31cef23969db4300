"""The page as a person uses it: real headless Chromium (Debian's chromium + chromedriver, via Selenium) against a
real Airflow (api-server, scheduler, dag-processor; LocalExecutor) and the sandbox.

Log in through Airflow's own login form (SimpleAuthManager, user admin), open the page, select one valid and
one invalid draft, click "An die Buchhaltung senden", and wait until the table shows the valid one "gesendet"
with Datum senden and a Lexware id that exists in the sandbox, and the invalid one "fehlgeschlagen" with its
reason. A screenshot is saved in the test's tmp dir.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pendulum
import pytest

from tests.support.airflow_stack import AirflowStack, wait_for
from tests.support.sandbox_server import SandboxServer
from tests.support.ui_browser import browser, login, row, stack_connections, ui_world
from tests.support.world import World

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
DAG_ID = "lexoffice_invoice_drafts"


@pytest.fixture
def stack(sandbox: SandboxServer, tmp_path: Path) -> Iterator[tuple[AirflowStack, World]]:
    world = ui_world(sandbox, tmp_path, [("D1", "RE-1", "K1"), ("D2", "RE-2", "K1"), ("D3", "RE-3", None)])
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


def test_select_two_drafts_send_and_see_the_outcome(stack: tuple[AirflowStack, World], tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    airflow, world = stack
    driver = browser(tmp_path / "chromium-profile")
    try:
        login(driver, airflow.url)
        # Airflow's navigation entry shows the page inside the UI (an external view, same origin, same login)
        driver.get(f"{airflow.url}/plugin/lexoffice")
        frame = wait_for(lambda: driver.find_element(By.CSS_SELECTOR, "iframe"), timeout=120, what="the view")
        driver.switch_to.frame(frame)
        wait_for(lambda: "Mandanten" in driver.find_element(By.TAG_NAME, "h1").text, timeout=60,
                 what="the tenants view in Airflow's frame")
        assert "acme GmbH" in driver.find_element(By.ID, "tenants").text
        driver.switch_to.default_content()
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
