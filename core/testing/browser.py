"""A real browser for the tests marked ``browser``: Debian's chromium driven by Playwright.

``chromium_page`` is a fresh page (1280 × 900, Chinese locale) that records what went wrong on it
(``page.console_errors``: console errors and responses of 400 or more) and every page load of its main frame
(``page.loads``: the URLs, in order). Screenshots go to ``test-artifacts/browser/`` (``ARTIFACTS``) for a person
to look at. The ``browser`` marker skips these tests when chromium or Playwright is missing, except under CI.
"""

from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture
def chromium_page(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test must be allowed
    # beside it. monkeypatch restores the environment afterwards (``check --deploy`` refuses this variable).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900},
                                      locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(15000)
        page.console_errors, page.loads = [], []
        page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
        page.on("response", lambda r: r.status >= 400 and page.console_errors.append(f"{r.status} {r.url}"))
        page.on("framenavigated", lambda frame: frame == page.main_frame and page.loads.append(frame.url))
        try:
            yield page
        finally:
            context.close()
            browser.close()


def screenshot(page, name: str, full_page: bool = True) -> Path:
    """Save what the page shows as ``test-artifacts/browser/<name>.png``; returns the path."""
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
