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
from datetime import UTC, datetime, timedelta
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


PHONE = (390, 844)  # CSS pixels of a common phone screen
DECIDE_BLUE = "rgba(31, 95, 168, 1)"  # .decide's background: only if the CSP let the style in


@pytest.fixture(scope="module")
def screenshots() -> Path:
    """Where the pages' screenshots go (docs/approvals.md describes them); kept after the run."""
    folder = Path(tempfile.mkdtemp(prefix="mlopscp-pages-"))
    print(f"\npage screenshots: {folder}")
    return folder


def headers_of(url: str) -> dict[str, str]:
    import urllib.request

    with urllib.request.urlopen(url, timeout=30) as response:
        return {k.lower(): v for k, v in response.headers.items()}


def full_page_screenshot(browser: Any, path: Path) -> None:
    """The whole page at phone width (the window grows to the page's height, then shrinks)."""
    from selenium.webdriver.common.by import By

    height = browser.find_element(By.TAG_NAME, "html").size["height"]
    browser.set_window_size(PHONE[0], max(PHONE[1], height + 120))
    browser.save_screenshot(str(path))
    browser.set_window_size(*PHONE)


def assert_self_contained(browser: Any) -> None:
    """Nothing on the page loads from anywhere: no script, image, stylesheet, frame or font."""
    from selenium.webdriver.common.by import By

    for tag in ("script", "img", "link", "iframe", "object", "embed"):
        assert not browser.find_elements(By.TAG_NAME, tag), f"a <{tag}> on the page"
    assert not browser.find_elements(By.CSS_SELECTOR, "[src], [style]")
    assert not browser.find_elements(By.CSS_SELECTOR, "a[href]")


def test_pages_draw_the_evidence_and_put_the_decision_first_on_a_phone(
    browser: Any, world: ApprovalWorld, screenshots: Path
) -> None:
    from selenium.webdriver.common.by import By

    asked = world.ask("ranking")
    assert asked.details, "the approval email carries a View details link"
    browser.set_window_size(*PHONE)
    try:
        browser.get(asked.links["approve"])
        button = browser.find_element(By.CSS_SELECTOR, "form button[type='submit']")
        first_section = browser.find_elements(By.TAG_NAME, "h2")[0]
        assert button.location["y"] < first_section.location["y"], "the button comes first"
        assert button.location["y"] + button.size["height"] < PHONE[1], "visible at once"
        assert button.value_of_css_property("background-color") == DECIDE_BLUE
        assert button.text == "Approve retrain"
        charts = browser.find_elements(By.CSS_SELECTOR, "main figure.chart svg")
        assert charts, "the drift evidence is drawn"
        width = browser.find_element(By.TAG_NAME, "main").size["width"]
        assert all(200 < chart.size["width"] <= width + 1 for chart in charts), "fits the phone"
        captions = [c.text for c in browser.find_elements(By.TAG_NAME, "figcaption")]
        assert any("threshold" in caption for caption in captions)
        assert_self_contained(browser)
        full_page_screenshot(browser, screenshots / "approval-page-phone.png")

        csp = headers_of(asked.links["approve"])["content-security-policy"]
        assert "default-src 'none'" in csp
        assert "unsafe-inline" not in csp

        # The evidence page: the same evidence, read only.
        browser.get(asked.details)
        assert not browser.find_elements(By.TAG_NAME, "form")
        assert not browser.find_elements(By.TAG_NAME, "button")
        assert "Waiting for a decision until" in browser.find_element(By.TAG_NAME, "main").text
        assert browser.find_elements(By.CSS_SELECTOR, "main figure.chart svg")
        assert_self_contained(browser)
        full_page_screenshot(browser, screenshots / "evidence-page-phone.png")
        assert world.status(asked.approval_id) == "pending", "viewing decides nothing"

        # An evidence link turned into a decision link is a forgery.
        forged = asked.details.replace("/view?", "/approve?")
        browser.get(forged)
        assert browser.find_element(By.TAG_NAME, "h1").text == "This link cannot be used"
        assert "Open the newest message" in browser.find_element(By.TAG_NAME, "main").text
        assert not browser.find_elements(By.TAG_NAME, "form")

        # Past its deadline the approval expires: no page asks the question any more.
        world.plane.move_deadline(asked.approval_id, datetime.now(UTC) - timedelta(minutes=1))
        world.plane.sweep()
        world.emu.wait_idle(timeout=120)
        assert world.status(asked.approval_id) == "expired"
        for url in (asked.links["approve"], asked.details):
            browser.get(url)
            text = browser.find_element(By.TAG_NAME, "main").text
            assert "This approval expired at" in text
            assert "counts as rejected" in text
            assert not browser.find_elements(By.TAG_NAME, "form")
        full_page_screenshot(browser, screenshots / "evidence-page-expired-phone.png")
    finally:
        browser.set_window_size(1280, 900)
