from indexer.chunk import chunk_article, pack, phrasings, split_sentences
from indexer.parse import parse_kb
from tests.helpers import FIXTURES


def test_sentences_split_at_chinese_and_western_punctuation():
    assert split_sentences("签收后可退。“吊牌完好”！要吗？ok. Next\n第二行；第三") == [
        "签收后可退。", "“吊牌完好”！", "要吗？", "ok.", "Next", "第二行；", "第三"]


def test_packing_keeps_whole_sentences_and_cuts_only_overlong_ones():
    assert pack(["一二三。", "四五六七八九十。", "甲。"], 11) == ["一二三。", "四五六七八九十。\n甲。"]
    assert pack(["x" * 25], 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_chunk_ids_are_deterministic_and_long_sections_split():
    (article,) = [a for a in parse_kb(FIXTURES / "kb").articles if a.id == "seven-day-return"]
    chunks = chunk_article(article, max_chars=300)
    assert [c.id for c in chunks] == ["seven-day-return#适用条件", "seven-day-return#运费"]
    assert chunks[0].embed_text.startswith("七天无理由退货 › 适用条件\n")
    small = chunk_article(article, max_chars=20)
    assert [c.id for c in small][:2] == ["seven-day-return#适用条件~1", "seven-day-return#适用条件~2"]
    assert all(len(c.text) <= 20 for c in small)
    assert [c.content_hash for c in chunk_article(article, 300)] == [c.content_hash for c in chunks]


def test_title_is_the_first_phrasing_and_duplicates_collapse():
    (article,) = [a for a in parse_kb(FIXTURES / "kb").articles if a.id == "seven-day-return"]
    assert [p.text for p in phrasings(article)] == ["七天无理由退货", "不想要了能退吗", "七天内可以退货吗"]
