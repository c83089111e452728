"""A person in a browser: headless Chromium (Debian's `chromium` and `chromium-driver`)
driven by Selenium against `newsarchive serve`. The search box finds a known story;
a facet narrows the list.

Skipped, saying why, only where Chromium or its driver cannot be found (.ci/run
installs them); Selenium comes with the test extras.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .browse_helpers import STORIES, build_archive, serving

CHROMIUM = (
    os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
)
CHROMEDRIVER = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")

if not CHROMIUM or not CHROMEDRIVER:
    pytest.skip(
        "headless Chromium not found: install Debian's chromium and chromium-driver "
        "(apt-get install chromium chromium-driver) to run the browser test",
        allow_module_level=True,
    )
# Chromium is here, so the browser test must run: a missing selenium is an error.
from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

WAIT = 30  # seconds: a deadline for each page, not a sleep


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not download anything
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1600",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER, log_output=os.devnull)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def rows(driver: Any) -> list[str]:
    """The titles shown in the table of articles."""
    cells = driver.find_elements(By.CSS_SELECTOR, "table.rows-and-columns td.col-title")
    return [c.text for c in cells]


def test_search_box_and_facets_in_a_real_browser(browser: Any, tmp_path: Path) -> None:
    db = build_archive(tmp_path / "news.db", STORIES)
    wait = WebDriverWait(browser, WAIT)
    with serving(db, cwd=tmp_path) as served:
        browser.get(f"{served.url}/articles")
        wait.until(expected_conditions.presence_of_element_located((By.ID, "_search")))
        assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Articles")
        assert len(rows(browser)) == len(STORIES)

        box = browser.find_element(By.ID, "_search")
        box.send_keys('"sea wall"', Keys.ENTER)
        wait.until(expected_conditions.url_contains("_search="))
        wait.until(lambda d: len(rows(d)) == 1)
        assert rows(browser) == [STORIES[0].title]
        assert "1 row where search matches" in browser.find_element(By.TAG_NAME, "h3").text
        browser.save_screenshot(str(tmp_path / "search.png"))

        browser.get(f"{served.url}/articles")
        facet = wait.until(
            expected_conditions.element_to_be_clickable(
                (By.XPATH, "//div[@id='facet-language']//a[normalize-space()='de']")
            )
        )
        facet.click()
        wait.until(expected_conditions.url_contains("language=de"))
        wait.until(lambda d: len(rows(d)) == 1)
        assert rows(browser) == ["Stadtrat beschließt Sanierung der Hafenmauer"]
        assert 'where language = "de"' in browser.find_element(By.TAG_NAME, "h3").text
        # the other facets now count within the narrowed list
        source = browser.find_element(By.ID, "facet-source").text
        assert "kurier 1" in source and "gazette" not in source
        browser.save_screenshot(str(tmp_path / "facet.png"))
