"""The page as a person uses it: real headless Chromium (Debian's chromium + chromedriver, via Selenium) against a
real Airflow (api-server, scheduler, dag-processor; LocalExecutor) and the sandbox.

Log in through Airflow's own login form (SimpleAuthManager, user admin), open the page, select one valid and
one invalid draft, click "An die Buchhaltung senden", and wait until the table shows the valid one "gesendet"
with Datum senden and a Lexware id that exists in the sandbox, and the invalid one "fehlgeschlagen" with its
reason. Then sort by a click on a column header, and open "Belege dieses Laufs" for the run the send created
in Airflow's run view. Screenshots are saved in the test's tmp dir.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

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

        # Sorting: a click on the "Nummer" header sorts ascending, a second click descending.
        def ids_in_table() -> list[str]:
            return [tr.get_attribute("data-id") for tr in driver.find_elements(By.CSS_SELECTOR, "tr.doc")]

        for expected_ids, direction in ((["D1", "D2", "D3"], "asc"), (["D3", "D2", "D1"], "desc")):
            driver.find_element(By.CSS_SELECTOR, "a.sort[data-sort='number']").click()
            wait_for(lambda d=direction, e=expected_ids: f"dir={d}" in driver.current_url and ids_in_table() == e,
                     timeout=60, what=f"the table sorted by number, {direction}")
            assert "Nummer" in driver.find_element(By.ID, "sorted-by").text

        # "Belege dieses Laufs": the run the send created, in Airflow's own run view, shows the two documents.
        runs = airflow.api("GET", f"/dags/{DAG_ID}/dagRuns")["dag_runs"]
        (run_id,) = [r["dag_run_id"] for r in runs if r["dag_run_id"].startswith("lexoffice_ui__")]
        driver.get(f"{airflow.url}/dags/{DAG_ID}/runs/{quote(run_id, safe='')}/plugin/lexoffice_run")
        frame = wait_for(lambda: driver.find_element(By.CSS_SELECTOR, "iframe"), timeout=120, what="the run view")
        driver.switch_to.frame(frame)
        wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#run-documents tr.doc"), timeout=60,
                 what="the documents of the run")
        in_run = {tr.get_attribute("data-id"): tr.text for tr in
                  driver.find_elements(By.CSS_SELECTOR, "#run-documents tr.doc")}
        assert set(in_run) == {"D1", "D3"}, in_run
        assert "gesendet" in in_run["D1"] and valid["lexware_id"] in in_run["D1"]
        assert "fehlgeschlagen" in in_run["D3"] and "CUSTOMER_MISSING" in in_run["D3"]
        driver.save_screenshot(str(tmp_path / "lexoffice-run.png"))
        driver.switch_to.default_content()
    finally:
        driver.quit()
