"""GET /v1/report and the editors' page /admin/: the admin token, the period bounds, the background build."""
import re
import threading

import pytest

from server import reports
from tests.helpers import ROOT
from tests.test_report import HOSTILE, plant

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def admin_client(index_root, config, hash_embedder):
    from server import create_app
    from tests.helpers import TODAY, make_searcher

    config = config.replace(admin_token=TOKEN)
    plant(config)
    app = create_app(config, searcher=make_searcher(index_root, hash_embedder, config), today=lambda: TODAY)
    return app.test_client()


def test_report_needs_the_admin_token(client, admin_client):
    assert client.get("/v1/report?since=2026-11-16").json["error"]["code"] == "admin_disabled"  # no token set
    assert client.get("/v1/report?since=2026-11-16").status_code == 403
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = admin_client.get("/v1/report?since=2026-11-16", headers=headers)
        assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"


def test_report_with_the_token(admin_client):
    response = wait_done(admin_client, "/v1/report?since=2026-11-16&until=2026-11-23")
    assert response.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    body = response.json
    assert body["status"] == "done" and body["period"] == {"since": "2026-11-16", "until": "2026-11-23"}
    assert body["summary"]["questions"] == 7 and body["summary"]["feedback"]["copy"] == 2
    assert "亲，发货没？" in body["html"] and "亲，发货没？" in body["markdown"]
    assert "<script" not in body["html"] and not re.search(r"\sstyle\s*=", body["html"])
    assert set(body["csv"]) >= {"top_clusters.csv", "kb_gaps.csv"}


def test_no_dates_is_the_week_before_the_servers_today(admin_client):
    """The admin page sends no dates on its first load: the server's injected today (2026-11-22, the planted
    week's last day) decides, never the machine's clock."""
    body = wait_done(admin_client, "/v1/report").json
    assert body["period"] == {"since": "2026-11-15", "until": "2026-11-22"}
    assert body["summary"]["questions"] > 0, "the planted week falls in it"


def wait_done(client, url: str):
    """The 200 response: a first build may outlast the request's brief wait (202), as on a busy machine."""
    for _ in range(200):
        response = client.get(url, headers=AUTH)
        if response.status_code == 200:
            return response
        assert response.status_code == 202
    raise AssertionError(f"{url} never finished")


@pytest.mark.parametrize("query, message", [
    ("until=2026-11-23", "since is required with until"), ("since=2026-02-30", "not a date"), ("since=2026-11-16&until=2026-11-16", "must come after"),
    ("since=2026-01-01&until=2026-03-01", "at most 31"), ("since=2026-11-16&format=pdf", "unknown parameter")])
def test_bad_periods_are_400(admin_client, query, message):
    response = admin_client.get(f"/v1/report?{query}", headers=AUTH)
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_request"
    assert message in response.json["error"]["message"]


def test_the_request_thread_waits_at_most_briefly(admin_client, monkeypatch):
    """A slow build answers 202 with Retry-After; the same request again gets the finished report."""
    release = threading.Event()
    build = reports.ReportJobs._build

    def slow(self, *args):
        release.wait(10)
        return build(self, *args)

    monkeypatch.setattr(reports.ReportJobs, "_build", slow)
    monkeypatch.setattr(reports, "WAIT_S", 0.05)
    first = admin_client.get("/v1/report?since=2026-11-16", headers=AUTH)
    assert first.status_code == 202 and first.json == {"status": "running"} and first.headers["Retry-After"] == "1"
    release.set()
    monkeypatch.setattr(reports, "WAIT_S", 5)
    again = admin_client.get("/v1/report?since=2026-11-16", headers=AUTH)
    assert again.status_code == 200 and again.json["summary"]["questions"] == 7


def test_too_many_waiting_reports_are_refused(admin_client, monkeypatch):
    release = threading.Event()
    monkeypatch.setattr(reports.ReportJobs, "_build", lambda self, *args: release.wait(10) and {})
    monkeypatch.setattr(reports, "WAIT_S", 0.01)
    try:
        for day in range(16, 16 + reports.MAX_WAITING):
            assert admin_client.get(f"/v1/report?since=2026-10-{day}", headers=AUTH).status_code == 202
        busy = admin_client.get("/v1/report?since=2026-10-01", headers=AUTH)
        assert busy.status_code == 503 and busy.json["error"]["code"] == "report_busy" and busy.headers["Retry-After"]
    finally:
        release.set()


def test_the_admin_page_has_no_inline_script_and_never_puts_the_token_in_a_url(client):
    page = client.get("/admin/")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="/static/' in attrs and not body.strip() for attrs, body in scripts)
    assert not re.search(r"\son\w+\s*=|\sstyle\s*=|<style", html)
    assert "<form" not in html  # a form without script would submit the token in a GET URL
    js = (ROOT / "server" / "static" / "admin.js").read_text("utf-8")
    assert "sessionStorage" in js and '"Bearer " + token' in js and "localStorage" not in js
    assert not re.search(r"[?&]token=|URLSearchParams\(\{[^}]*token", js)
    css = client.get("/admin/report.css")
    assert css.status_code == 200 and css.mimetype == "text/css" and ".kbs-report" in css.get_data(as_text=True)
    assert client.get("/static/admin.js").status_code == 200


def test_hostile_question_is_escaped_in_the_served_report(index_root, config, hash_embedder):
    from server import create_app
    from tests.helpers import TODAY, make_searcher

    config = config.replace(admin_token=TOKEN)
    plant(config, log=[("2026-11-16T02:00:00", HOSTILE, ["shipping-time"], False, 5, "物流", "high", "angry")],
          feedback=[])
    app = create_app(config, searcher=make_searcher(index_root, hash_embedder, config), today=lambda: TODAY)
    html = app.test_client().get("/v1/report?since=2026-11-16", headers=AUTH).json["html"]
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
