"""Normalisation, pinyin rewriting and snippets against worked examples."""
from indexer.tokenize import Tokenizer, normalize
from retrieval.rewrite import PinyinLexicon
from retrieval.snippet import highlight, make_snippet


def test_normalize_folds_full_width_and_case_one_character_for_one():
    text = "ＡＢＣ１２３　面霜Ｘ"
    assert normalize(text) == "abc123 面霜x"
    assert len(normalize(text)) == len(text), "offsets into the original stay valid"


LEXICON = PinyinLexicon([("发货", 5), ("复活", 1), ("保质期", 3), ("阿姨", 1), ("x", 9), ("非常长的一个七字词", 2),
                         ("保修", 2), ("多久", 4)])


def test_full_pinyin_spellings_are_rewritten_anywhere():
    assert LEXICON.rewrite("fahuo了吗") == "发货了吗"
    assert LEXICON.rewrite("when fahuo") == "when 发货"


def test_initials_count_only_inside_chinese_text_and_pick_the_frequent_word():
    assert LEXICON.rewrite("什么时候fh") == "什么时候发货"  # 发货 (5) beats 复活 (1) for 'fh'
    assert LEXICON.rewrite("面霜bzq多久") == "面霜保质期多久"
    assert LEXICON.rewrite("when fh") == "when fh"  # English text: initials stay English


def test_syllables_typed_apart_are_joined_only_when_they_are_a_words_syllables():
    assert LEXICON.rewrite("bao xiu duo jiu") == "保修多久"
    assert LEXICON.rewrite("wo de bao xiu ne") == "wo de保修ne"  # wo, de, ne spell no KB word: left as typed
    assert LEXICON.rewrite("ba oxiu") == "ba oxiu"  # 'baoxiu' split off its syllables is not 保修
    assert LEXICON.rewrite("how long is the warranty") == "how long is the warranty"


def test_initials_with_vowels_are_not_rewritten():
    assert LEXICON.rewrite("问ay") == "问ay"  # 'ay' could be English; only the full spelling counts
    assert LEXICON.rewrite("问ayi") == "问阿姨"


def test_snippet_picks_the_sentence_with_the_query_terms_and_joins_a_short_one():
    tokenizer = Tokenizer()
    text = "七天内可以退货。运费由买家承担。赠品需要一起寄回。"
    snippet = make_snippet(text, {"运费"}, tokenizer, lambda term: 1.0)
    assert snippet.text == "运费由买家承担。赠品需要一起寄回。"  # short best sentence + the next one
    assert snippet.highlights == ((0, 2),)


def test_snippet_without_matches_starts_at_the_first_sentence():
    snippet = make_snippet("第一句。第二句。", {"运费"}, Tokenizer(), lambda term: 1.0)
    assert snippet.text == "第一句。第二句。" and snippet.highlights == ()


def test_adjacent_highlights_merge():
    tokenizer = Tokenizer(["七天无理由"])
    spans = highlight("七天无理由退货", {"七天无理由", "退货"}, tokenizer)
    assert spans == ((0, 7),)
