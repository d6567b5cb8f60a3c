"""The editors' report page /admin/ in a real browser (Debian's Chromium, headless, Playwright) against the
real server process: the token asked for and kept in sessionStorage, never in a URL; the report shown under
the strict CSP with no violation; a question with <script> shown as text.

``shoot`` also takes the editors' page's screenshot (docs/report.png) from a demo server:
    python -c "from tests.test_report_browser import shoot; shoot('http://127.0.0.1:8080', '<token>', '2026-11-16',
                                                                'docs/report.png', until='2026-11-23')"
"""
import datetime as dt
import json
import os
import urllib.request
import shutil
import time

import pytest

from tests.helpers import ROOT
from tests.test_report import HOSTILE, plant
from tests.test_sidebar_browser import _chromium_or_skip, launch_chromium

pytestmark = pytest.mark.browser
TOKEN = "browser-test-token"


def open_report(page, url: str, token: str, since: str, until: str | None = None) -> None:
    """Log in on /admin/ and wait until the report of exactly this period is shown: logging in first shows the
    default period's (the week before the server's today), which must not satisfy the wait."""
    page.goto(url + "/admin/")
    page.fill("#token", token)
    page.click("#save-token")
    page.fill("#since", since)
    until = until or (dt.date.fromisoformat(since) + dt.timedelta(days=7)).isoformat()
    page.fill("#until", until)
    page.click("#load")
    page.wait_for_selector(f'#report[data-period="{since}/{until}"] .kbs-report', timeout=120_000)
    page.wait_for_function("() => document.querySelector('#downloads a')")


def shoot(url: str, token: str, since: str, path: str, until: str | None = None, height: int = 1750) -> None:
    """A screenshot of the top of the report page (figures, hot-spots, the first TOP10 rows), saved with a
    128-colour palette: a third of the bytes, no visible loss on a page of flat colours."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1100, "height": height}, locale="zh-CN")
        open_report(page, url, token, since, until)
        page.screenshot(path=path, full_page=False)
        browser.close()
    Image.open(path).convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory, server_process):
    from core import config as cfg
    from indexer.build import build
    from indexer.embed import HashEmbedder
    from tests.helpers import FIXTURES

    tmp = tmp_path_factory.mktemp("report-browser")
    shutil.copytree(FIXTURES / "kb", tmp / "kb")
    config = cfg.load({"embedder": "hash", "query_log_db": str(tmp / "ql.sqlite3"),
                       "feedback_db": str(tmp / "fb.sqlite3")}, environ={})
    build(tmp / "kb", tmp / "index", HashEmbedder(), config)
    plant(config)
    plant(config, log=[("2026-11-19T02:00:00", HOSTILE, ["shipping-time"], False, 5, "物流", "high", "angry")],
          feedback=[])
    os.environ["KBS_ADMIN_TOKEN"] = TOKEN  # by environment, as docs/operators.md says; the child inherits it
    try:
        process = server_process(tmp / "index", "--embedder", "hash", "--reload-interval", "0", "--query-log", "off",
                                 "--query-log-db", config.query_log_db, "--feedback-db", config.feedback_db, cwd=tmp)
    finally:
        del os.environ["KBS_ADMIN_TOKEN"]
    yield process.url
    process.stop()


@pytest.fixture(scope="module")
def browser():
    sync_api = _chromium_or_skip()
    with sync_api.sync_playwright() as p:
        browser = launch_chromium(p)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")  # its own sessionStorage
    page = context.new_page()
    page.violations, page.requests = [], []
    page.on("console", lambda m: page.violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("request", lambda r: page.requests.append(r.url))
    yield page
    context.close()


def test_the_report_page_with_the_token(page, server):
    open_report(page, server, TOKEN, "2026-11-16", "2026-11-23")
    assert page.locator("#top table tbody tr").count() == 4  # 发货没, 你们卖手机吗, 退款多久到账, the hostile one
    assert page.locator("#hotspots svg").count() == 3
    assert "亲，发货没？" in page.inner_text("#top")
    assert page.evaluate("sessionStorage.getItem('kbs-admin-token')") == TOKEN
    assert not any(TOKEN in url for url in page.requests), "the token never goes into a URL"
    assert not page.violations, page.violations
    names = page.eval_on_selector_all("#downloads a", "links => links.map(a => a.download)")
    assert {"report.html", "report.md", "top_clusters.csv"} <= set(names)
    (ROOT / "artifacts").mkdir(exist_ok=True)
    page.screenshot(path=str(ROOT / "artifacts" / "report.png"), full_page=True)


def test_a_question_with_script_is_shown_as_text(page, server):
    open_report(page, server, TOKEN, "2026-11-16", "2026-11-23")
    assert "<script>alert(1)</script>" in page.inner_text("#gaps")
    assert page.locator("#report script, #report img").count() == 0


def test_a_wrong_token_asks_again(page, server):
    page.goto(server + "/admin/")
    page.fill("#token", "wrong")
    page.click("#save-token")
    page.wait_for_selector("#login:not([hidden])")
    assert "令牌不对" in page.inner_text("#status")
    assert page.evaluate("sessionStorage.getItem('kbs-admin-token')") is None


def test_logging_in_shows_the_week_before_the_servers_today(page, server):
    """The page has no clock of its own: asked for no dates, the server picks the week before its today (the
    shop's day), and the page shows that report with those dates in its fields."""
    request = urllib.request.Request(server + "/v1/report", headers={"Authorization": f"Bearer {TOKEN}"})
    for _ in range(240):
        with urllib.request.urlopen(request, timeout=30) as response:
            body = json.load(response)
        if response.status == 200:
            break
        time.sleep(0.5)
    since, until = body["period"]["since"], body["period"]["until"]
    page.goto(server + "/admin/")
    page.fill("#token", TOKEN)
    page.click("#save-token")
    page.wait_for_selector(f'#report[data-period="{since}/{until}"] .kbs-report', timeout=120_000)
    assert (page.input_value("#since"), page.input_value("#until")) == (since, until)
    assert dt.date.fromisoformat(until) - dt.date.fromisoformat(since) == dt.timedelta(days=7)
