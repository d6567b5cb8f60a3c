"""Hostile-client review of the report endpoint, the storage and the serving changes of issues 13-14:
each test is a probe that found a real problem (see docs/operators.md, Security and limits)."""
import pytest

from report import PeriodError, parse_period
from tests.test_report_api import AUTH, admin_client  # noqa: F401 - the fixture


@pytest.mark.parametrize("since, until", [("0001-01-01", None), ("0001-01-01", "0001-01-02"), ("9999-12-28", None)])
def test_a_period_at_the_ends_of_the_calendar_is_a_400_not_a_500(admin_client, since, until):
    """Year 1 in the shop's zone (UTC+8) begins in year 0 UTC, a week after 9999-12-28 is year 10000:
    Python's dates overflow, which was a logged 500 (on the request thread or in the report's worker)."""
    with pytest.raises(PeriodError, match="outside the years"):
        parse_period(since, until, 8.0, 31)
    query = f"since={since}" + (f"&until={until}" if until else "")
    response = admin_client.get(f"/v1/report?{query}", headers=AUTH)
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_request"
    assert "outside the years" in response.json["error"]["message"]


def test_the_last_days_of_the_calendar_still_make_a_report(admin_client):
    assert parse_period("0001-01-02", None, 8.0).bounds()[0] == "0001-01-01T16:00:00+00:00"
    response = admin_client.get("/v1/report?since=9999-12-30&until=9999-12-31", headers=AUTH)
    assert response.status_code == 200 and response.json["empty"]


def test_customers_questions_do_not_fill_the_tokenizer_cache(app, client):
    """The spans cache is for the KB's own sentences (a fixed set, cut again for every snippet). Questions
    went into it too: 16,384 distinct 2,000-character questions held ~6 GiB (+378 MiB a thousand)."""
    import random

    tokenizer = app.extensions["kbs_holder"].searcher.index.tokenizer
    rnd = random.Random(3)
    questions = ["".join(chr(rnd.randint(0x4e00, 0x9fff)) for _ in range(2000)) for _ in range(5)]
    for question in questions:
        assert client.post("/v1/suggest", json={"question": question}).status_code == 200
        assert tokenizer.tokens(question)  # a question is still cut as before
    for question in questions:
        hits = tokenizer.spans.cache_info().hits
        tokenizer.spans(question)
        assert tokenizer.spans.cache_info().hits == hits, "the question was kept in the cache"
