"""The journalist's walk in a real browser (Debian's chromium through Playwright).

Open the programs list, narrow it to 贵州省 and 电商 with the form, watch the counts change, open a
program, follow a figure to its highlighted sentence on the source page, switch to English, and
download the CSV and read it. Screenshots go to test-artifacts/browser/ for a person to look at.
"""

import csv
import io
import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from core.testing.world import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser_page(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test must be
    # allowed beside it. monkeypatch restores the environment afterwards, so no later test (such
    # as `check --deploy`, which refuses this variable) inherits it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(
            accept_downloads=True, viewport={"width": 1280, "height": 900}, locale="zh-CN"
        )
        page = context.new_page()
        page.set_default_timeout(15000)
        page.console_errors = []
        page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
        page.on("response", lambda r: r.status >= 400 and page.console_errors.append(f"{r.status} {r.url}"))
        try:
            yield page
        finally:
            context.close()
            browser.close()


def shot(page, name, full_page=True):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def count_on(page):
    return int(page.locator(".count").get_attribute("data-count"))


def test_journalist_walk(live_server, browser_page):
    build_world()
    page = browser_page

    # 1. the list, in Chinese by default
    page.goto(f"{live_server.url}/programs/")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert page.locator("h1").inner_text() == "项目"
    everything = count_on(page)
    assert everything == 5
    shot(page, "01-programs-list-zh")

    # 2. two filters through the form; the facet counts in the options change with each
    province = page.get_by_label("省份")
    assert "贵州省 (3)" in province.inner_text()
    with page.expect_navigation():
        province.select_option("guizhou-sheng")  # the select submits the form itself
    assert "province=guizhou-sheng" in page.url and "area=" not in page.url
    assert count_on(page) == 3
    area = page.get_by_label("领域")
    assert "电商 (1)" in area.inner_text()
    with page.expect_navigation():
        area.select_option("dianshang")
    assert count_on(page) == 1
    assert "贵州省 (1)" in page.get_by_label("省份").inner_text()
    shot(page, "02-programs-guizhou-dianshang")

    # 3. the program's page, with its chart
    with page.expect_navigation():
        page.get_by_role("link", name="电商脱贫").first.click()
    assert page.url.endswith("/programs/dianshangtuopin/")
    assert page.locator("svg.chart").count() == 1
    shot(page, "03-program-detail")

    # 4. a figure to its highlighted sentence on the source page
    with page.expect_navigation():
        page.locator('a[href$="#quote-puan-sales-2020"]').first.click()
    assert page.url.endswith("/sources/alibabatuopinjijindewunian/#quote-puan-sales-2020")
    target = page.locator("mark:target")
    assert target.get_attribute("id") == "quote-puan-sales-2020"
    assert "300万元" in target.inner_text()
    background = target.evaluate("element => getComputedStyle(element).backgroundColor")
    assert background == "rgb(255, 210, 77)"  # the target colour from site.css, not the default mark
    shot(page, "04-source-highlighted-quote", full_page=False)

    # 5. switch language; the choice is remembered on the next page
    with page.expect_navigation():
        page.get_by_label("语言").select_option("en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Article text" in page.content() or "figures from this article" in page.content()
    page.goto(f"{live_server.url}/programs/?province=guizhou-sheng&area=dianshang")
    assert page.locator("h1").inner_text() == "Programs"
    shot(page, "05-programs-english")

    # 6. the CSV of exactly this list
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV (opens in Excel)").click()
    download = download_info.value
    assert download.suggested_filename.startswith("programs-") and download.suggested_filename.endswith(".csv")
    raw = Path(download.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert [row["name"] for row in rows] == ["电商脱贫"]

    page.goto(f"{live_server.url}/")
    shot(page, "06-home-english")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/counties/puan-xian/")
    shot(page, "07-county-phone")

    assert page.console_errors == [], page.console_errors  # e.g. nothing refused by the CSP


# ---------------------------------------------------------------------------
# Screenshots of indicators and the timeline in both languages, on the seed data, kept under a temporary
# folder (tracker-screenshots/) for a person to look at

SCREENSHOTS = Path(tempfile.gettempdir()) / "tracker-screenshots"
DONATIONS = "/indicators/dingliangzhuxiangmujuankuan/"  # 顶梁柱项目捐款: three articles, one axis in 元
TERM = "/indicators/tuopintepaiyuangongzuoshixian/"  # the 特派员's term: 一年 and 兩年 for 2019, disputed
DINGLIANGZHU = "/programs/dingliangzhujiankangfupingongyibaoxian/"


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def visible(locator):
    return locator.count() > 0 and locator.first.is_visible()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_indicator_and_timeline_screenshots(live_server, chromium_page, language):
    call_command("load_seeds", stdout=io.StringIO())
    page = chromium_page
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}])
    disputed = "报道不一致" if language == "zh-hans" else "reported differently"

    page.goto(live_server.url + DONATIONS)
    chart = page.locator("svg.chart").first
    assert chart.is_visible() and chart.locator(".chart-point").count() >= 3
    assert not visible(page.get_by_text(disputed))
    screenshot(page, f"indicator-{language}")

    page.goto(live_server.url + TERM)
    assert page.locator("svg.chart").first.is_visible()
    assert page.locator("svg.chart .chart-disputed").count() == 2
    assert visible(page.get_by_text(disputed, exact=True))  # the mark, beside both quotes
    screenshot(page, f"indicator-disputed-{language}")

    page.goto(live_server.url + DINGLIANGZHU)
    assert page.locator(".chart-small svg.chart").first.is_visible()  # its indicators above its figures
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280  # the charts' hidden tables do not widen it
    screenshot(page, f"program-indicators-{language}")

    page.goto(live_server.url + "/")
    assert page.locator("#h-series").is_visible() and page.locator(".chart-small svg.chart").count() >= 2
    screenshot(page, f"home-{language}")

    page.goto(live_server.url + "/timeline/?sort=-date")
    assert page.locator("h1").inner_text() == ("时间线" if language == "zh-hans" else "Timeline")
    assert page.locator("tr.event").first.is_visible()
    screenshot(page, f"timeline-{language}")
    assert page.console_errors == [], page.console_errors


def test_the_timeline_form_filters_and_orders(live_server, chromium_page):
    build_world()
    page = chromium_page

    page.goto(f"{live_server.url}/timeline/")
    assert page.locator("h1").inner_text() == "时间线"
    rows = page.locator("tr.event")
    assert rows.count() == 11
    # the upgrade of 2021 (a year-only date) comes after the dated events of 2021
    assert rows.last.locator("time").inner_text() == "2021" and "基金升级" in rows.last.inner_text()
    with page.expect_navigation():
        page.get_by_label("县").select_option("puan-xian")  # the select submits the form itself
    assert "county=puan-xian" in page.url and page.locator("tr.event").count() == 5
    with page.expect_navigation():
        page.get_by_label("顺序").select_option("-date")
    assert page.locator("tr.event").first.locator("time").inner_text() == "2021-05-01"
    with page.expect_navigation():
        page.get_by_label("语言").select_option("en")
    assert page.locator("h1").inner_text() == "Timeline"
    assert "envoy posted" in page.locator("tr.event-envoy-posted").inner_text()
    screenshot(page, "timeline-en-puan-newest-first")
    assert page.console_errors == [], page.console_errors
