"""A finished interface in a real browser (issue 15): table cells that never break into one character a
line, at a desktop and a phone width, and a county page that prints as a clean report.
Screenshots go to test-artifacts/browser/interface-*.png."""

import pytest
from django.urls import reverse

from core import registry
from core.testing.browser import screenshot
from core.testing.world import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": 1280, "phone": 390}

#: For every cell of every table on the page: its text, the classes of the cell, how many lines the text
#: takes and how many characters the fullest line holds (each character's box from a Range, lines told
#: apart by their top).
CELL_LINES = """
() => [...document.querySelectorAll("table td, table th")]
    .filter(cell => cell.checkVisibility() && !cell.closest(".visually-hidden")).map(cell => {
  const lines = new Map();
  const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let i = 0; i < node.data.length; i++) {
      if (/\\s/.test(node.data[i])) continue;
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      const box = range.getClientRects()[0];
      if (!box || box.width === 0) continue;
      const top = Math.round(box.top);
      const line = [...lines.keys()].find(t => Math.abs(t - top) < box.height / 2);
      lines.set(line ?? top, (lines.get(line ?? top) || 0) + 1);
    }
  }
  const counts = [...lines.values()];
  return {text: cell.innerText.trim(), css: cell.className, lines: counts.length,
          widest: counts.length ? Math.max(...counts) : 0};
})
"""


def broken_cells(page) -> list[dict]:
    """Cells whose text of two characters or more shows one character a line."""
    return [cell for cell in page.evaluate(CELL_LINES) if cell["lines"] >= 2 and cell["widest"] <= 1]


def wrapped_short_cells(page) -> list[dict]:
    """Cells of the narrow columns (numbers, dates, kinds: class num or nowrap) that wrap at all."""
    return [cell for cell in page.evaluate(CELL_LINES)
            if cell["lines"] >= 2 and ({"num", "nowrap", "kind"} & set(cell["css"].split()))]


def pages_with_tables(world) -> list[str]:
    """Every public list, and the record pages whose tables list figures (a county's, a program's)."""
    urls = [reverse(record_type.list_url) for record_type in registry.public_lists()]
    urls += [world["puan"].get_absolute_url(), world["dianshang"].get_absolute_url(),
             world["fund"].get_absolute_url()]
    return urls


@pytest.mark.parametrize("width", WIDTHS)
def test_no_table_cell_breaks_into_single_characters(live_server, chromium_page, width):
    world = build_world()
    page = chromium_page
    page.set_viewport_size({"width": WIDTHS[width], "height": 900})
    found, cells = [], 0
    for url in pages_with_tables(world):
        page.goto(f"{live_server.url}{url}")
        measured = page.evaluate(CELL_LINES)
        cells += len(measured)
        found += [f"{url}: {cell}" for cell in broken_cells(page)]
        found += [f"{url} (narrow column wraps): {cell}" for cell in wrapped_short_cells(page)]
        name = url.strip("/").replace("/", "-") or "home"
        screenshot(page, f"interface-cells-{width}-{name}")
    assert cells > 100  # the tables were there and measured
    assert not found, "\n".join(found)
    assert page.console_errors == [], page.console_errors


def test_the_measure_sees_a_cell_broken_into_characters(chromium_page):
    """The check itself: a column squeezed to one character's width is found, a nowrap one is not (on a
    blank page: the site's Content-Security-Policy would refuse the inline styles)."""
    page = chromium_page
    page.set_content("""<table style="width: 300px"><tr><td style="width: 1px; padding: 0">实际完成</td>
        <td class="nowrap" style="white-space: nowrap">实际完成</td>
        <td>一段很长的文字一段很长的文字一段很长的文字</td></tr></table>""")
    broken = broken_cells(page)
    assert [cell["text"] for cell in broken] == ["实际完成"] and broken[0]["lines"] == 4
    assert wrapped_short_cells(page) == []


def test_a_county_page_prints_as_a_clean_report(live_server, chromium_page):
    world = build_world()
    page = chromium_page
    page.goto(f"{live_server.url}{world['puan'].get_absolute_url()}")
    page.emulate_media(media="print")
    hidden = page.evaluate("""() => Object.fromEntries(
        [".site-header", ".site-nav", ".site-footer", ".skip-link", ".language-form", ".breadcrumbs",
         ".filters", ".exports", ".pagination", "button"]
        .map(selector => [selector, [...document.querySelectorAll(selector)]
            .every(element => !element.checkVisibility())]))""")
    assert all(hidden.values()), hidden
    assert page.locator("h1").is_visible()
    # tables use the whole width of the paper, and links say where they go
    # (a chart's table for screen readers is left out: it is never seen)
    widths = page.evaluate("""() => [...document.querySelectorAll("main table")]
        .filter(table => table.checkVisibility() && !table.closest(".visually-hidden"))
        .map(table => table.getBoundingClientRect().width
                      / document.querySelector("main").getBoundingClientRect().width)""")
    assert widths and min(widths) > 0.98, widths
    after = page.evaluate(
        """() => getComputedStyle(document.querySelector("main .facts a[href^='/']"), "::after").content""")
    assert after.startswith('" (') and "/" in after, after
    in_tables = page.evaluate("""() => [...document.querySelectorAll("main table a[href]")].map(
        link => getComputedStyle(link, "::after").content)""")
    assert in_tables and set(in_tables) <= {"none", "normal"}, in_tables  # no addresses crowding the columns
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    screenshot(page, "interface-print-county")
    page.emulate_media(media="screen")
    assert page.locator(".site-nav").is_visible()  # on screen the navigation is back


def test_the_admin_shows_the_site_name_in_its_colours(live_server, chromium_page, django_user_model):
    django_user_model.objects.create_superuser("chief", "chief@example.org", "chief-password")
    page = chromium_page
    page.goto(f"{live_server.url}/admin/login/")
    assert page.locator("#site-name").inner_text().strip() == "乡村项目追踪"
    page.fill("#id_username", "chief")
    page.fill("#id_password", "chief-password")
    with page.expect_navigation():
        page.click("input[type=submit]")
    assert page.title().endswith("| 乡村项目追踪")
    header = page.evaluate("() => getComputedStyle(document.querySelector('#header')).backgroundColor")
    assert header == "rgb(140, 47, 27)"  # the seal red of site.css, not Django's blue
    link = page.evaluate("() => getComputedStyle(document.querySelector('#content-main th[scope=row] a')).color")
    assert link == "rgb(140, 47, 27)"
    assert "Django" not in page.content()
    screenshot(page, "interface-admin-index")
    assert page.console_errors == [], page.console_errors  # nothing refused by the Content-Security-Policy
