"""An emailed approval link in a real browser: Debian's Chromium, headless, JavaScript off.

Open the link: the confirmation page shows what is asked and decides nothing; type a reason and
press the button: the result page says it is recorded, and the drift response goes on. Needs
the Debian packages chromium and chromium-driver (the Makefile installs them); without them
this test fails and says so rather than skipping: an untested page is not a tested one.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlopscp.local import LocalControlPlane
from mlopscp_emulator import Emulator

from tests.e2e.approval_world import ApprovalWorld, counting_task_answers

pytestmark = pytest.mark.e2e
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(
            f"browser tests need Debian's chromium and chromium-driver ({', '.join(missing)} "
            "missing): apt-get install -y chromium chromium-driver (`make e2e` installs them)",
            pytrace=False,
        )
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("browser tests need selenium: pip install -e '.[dev]'", pytrace=False)
    profile = tempfile.mkdtemp(prefix="mlopscp-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    # The pages must work without JavaScript: run the browser with it switched off.
    options.add_experimental_option(
        "prefs", {"profile.managed_default_content_settings.javascript": 2}
    )
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def world() -> Iterator[ApprovalWorld]:
    warnings.filterwarnings("ignore", message=".*moto does not enforce.*")
    with Emulator() as emulator:
        world = ApprovalWorld(LocalControlPlane(emulator).up())
        with counting_task_answers(world):
            yield world


def test_an_emailed_link_is_approved_in_a_browser(browser: Any, world: ApprovalWorld) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    asked = world.ask("ranking")
    browser.get(asked.links["approve"])

    # The confirmation page: what is asked, in plain accessible HTML, and nothing decided yet.
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert browser.title.startswith("Approve retrain of ranking")
    assert [h.text for h in browser.find_elements(By.TAG_NAME, "h1")] == [
        "Approve retrain of ranking?"
    ]
    assert "ranking-owner@example.com" in browser.find_element(By.TAG_NAME, "main").text
    headings = [h.text for h in browser.find_elements(By.TAG_NAME, "h2")]
    assert headings[:2] == ["What is being approved", "Evidence"]
    assert browser.find_elements(By.CSS_SELECTOR, "table caption")
    reason = browser.find_element(By.ID, "reason")
    label = browser.find_element(By.CSS_SELECTOR, "label[for='reason']")
    assert "Reason" in label.text
    assert reason.tag_name == "textarea"
    assert not browser.find_elements(By.TAG_NAME, "script")
    world.emu.wait_idle(timeout=60)
    assert world.status(asked.approval_id) == "pending", "opening the link decides nothing"
    assert world.waiting(asked)
    assert world.task_answers == []

    # Type a reason and confirm: the result page, and the flow goes on.
    reason.send_keys("drift confirmed with the data team")
    confirmation = browser.find_element(By.TAG_NAME, "h1")
    browser.find_element(By.CSS_SELECTOR, "form button[type='submit']").click()
    # The POST loads a new page: wait until the confirmation page's heading is gone.
    WebDriverWait(browser, 15).until(expected_conditions.staleness_of(confirmation))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Thank you: approved"
    assert "Recorded: approved by ranking-owner@example.com" in browser.page_source
    world.emu.wait_idle(timeout=120)
    (approval,) = [a for a in world.plane.approvals() if a["approval_id"] == asked.approval_id]
    assert (approval["status"], approval["decided_channel"], approval["reason"]) == (
        "approved",
        "email",
        "drift confirmed with the data team",
    )
    assert len(world.task_answers) == 1
    assert "StartRetraining" in world.emu.execution_states(asked.execution_arn)

    # The other link now shows what was decided, with nothing to submit.
    browser.get(asked.links["reject"])
    assert "approved by ranking-owner@example.com" in browser.find_element(By.TAG_NAME, "main").text
    assert not browser.find_elements(By.TAG_NAME, "form")


def test_a_tampered_link_shows_an_error_page(browser: Any, world: ApprovalWorld) -> None:
    from selenium.webdriver.common.by import By

    asked = world.ask("ranking")
    browser.get(asked.links["approve"].replace("/approve?", "/reject?"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "This link cannot be used"
    assert not browser.find_elements(By.TAG_NAME, "form")
    world.emu.wait_idle(timeout=60)
    assert world.status(asked.approval_id) == "pending"
