"""The harness end to end on the fixture KB with the fake embedder: question loading, reports, files."""
import json

import pytest

from eval.cli import main
from eval.harness import Outcome, Question, QuestionSetError, calibrate, load_questions
from tests.helpers import FIXTURES


@pytest.fixture
def questions(tmp_path):
    path = tmp_path / "q.jsonl"
    rows = [{"q": "退款多久到账", "relevant": ["refund-time"], "type": "short"},
            {"q": "发货时间", "relevant": ["shipping-time"]},
            {"q": "今天天气", "relevant": [], "type": "out_of_scope"}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def test_cli_compares_configurations_and_writes_files(questions, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["--kb", str(FIXTURES / "kb"), "--questions", str(questions), "--index", str(tmp_path / "idx"),
                 "--embedder", "hash", "--compare", "--out", str(out), "--as-of", "2026-11-22"])
    assert code == 0
    text = capsys.readouterr().out
    for name in ("| hybrid |", "| bm25 |", "| dense |", "| questions |", "| hybrid-no-questions |", "by question type", "failures"):
        assert name in text
    report = json.loads((out / "report.json").read_text("utf-8"))
    assert set(report["configs"]) == {"hybrid", "hybrid-rrf", "bm25", "dense", "questions", "hybrid-no-questions"}
    assert report["configs"]["bm25"]["overall"]["recall@1"] == 1.0
    assert (out / "comparison.png").read_bytes()[:4] == b"\x89PNG"


def test_jsonl_kb_is_accepted(tmp_path, capsys):
    kb = tmp_path / "kb.jsonl"
    kb.write_text('{"id": "a", "title": "花呗怎么还款", "text": "花呗怎么还款"}\n'
                  '{"id": "b", "title": "借呗额度", "text": "借呗额度"}\n', encoding="utf-8")
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"q": "花呗还款", "relevant": ["a"]}\n', encoding="utf-8")
    assert main(["--kb", str(kb), "--questions", str(questions), "--index", str(tmp_path / "i"),
                 "--embedder", "hash", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["configs"]["hybrid"]["overall"]["recall@1"] == 1.0


def test_bad_question_lines_are_reported(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"q": "x", "relevant": ["nope"]}\n', encoding="utf-8")
    with pytest.raises(QuestionSetError, match="q.jsonl:1: relevant id"):
        load_questions(path, known_ids={"a"})
    path.write_text('{"relevant": []}\n', encoding="utf-8")
    with pytest.raises(QuestionSetError, match="q.jsonl:1: bad question line"):
        load_questions(path)


def test_calibration_reports_out_of_fold_figures_beside_the_in_sample_fit():
    def outcome(q, evidence, relevant, confident=True):
        ranked = ("a",) if relevant else ("b",)
        return Outcome(Question(q, relevant), ranked, confident, 0.5, 1.0, (evidence, 0.5, 0.0))

    # evidence separates answerable (≥ 0.85) from no-answer questions (≤ 0.84), with one overlap each way
    answerable = [outcome(f"a{i}", 0.85 + 0.01 * (i % 10), ("a",)) for i in range(30)] + [outcome("low", 0.80, ("a",))]
    no_answer = [outcome(f"n{i}", 0.70 + 0.01 * (i % 10), ()) for i in range(15)] + [outcome("high", 0.95, ())]
    result = calibrate(answerable + no_answer, folds=4, max_false_abstain=0.05)
    assert result["folds"] == 4 and result["max_false_abstain"] == 0.05
    assert result["in_sample"]["false_abstain_rate"] <= 0.05
    assert result["in_sample"]["abstain_recall"] == 15 / 16  # all but the no-answer question with high evidence
    assert 0.5 <= result["out_of_fold"]["abstain_recall"] <= 1.0
    assert result["settings"]["confidence_weight_evidence"] > 0
    assert set(result["settings"]) == {"confidence_bias", "confidence_weight_evidence", "confidence_weight_coverage",
                                       "confidence_weight_foreign", "confidence_threshold"}


def test_index_built_with_other_chunking_or_code_is_rebuilt_not_reused(tmp_path, monkeypatch, dictionary_dir):
    from eval.harness import prepare_index
    from core import config as cfg
    from indexer.embed import HashEmbedder

    config = cfg.load({"embedder": "hash", "dictionary_dir": str(dictionary_dir)}, environ={})
    first = prepare_index(FIXTURES / "kb", tmp_path / "idx", HashEmbedder(), config)
    assert prepare_index(FIXTURES / "kb", tmp_path / "idx", HashEmbedder(), config).version == first.version
    finer = prepare_index(FIXTURES / "kb", tmp_path / "idx", HashEmbedder(), config.replace(chunk_max_chars=20))
    assert finer.version != first.version
    assert finer.manifest["chunking"]["max_chars"] == 20
    monkeypatch.setattr("indexer.build.code_fingerprint", lambda: "tokenizer-changed")
    rebuilt = prepare_index(FIXTURES / "kb", tmp_path / "idx", HashEmbedder(), config.replace(chunk_max_chars=20))
    assert rebuilt.version != finer.version


def test_overlap_lists_near_copies_and_writes_the_rest(tmp_path, capsys):
    from eval.overlap import main as overlap_main, nearest

    assert nearest("面霜能放多久呀", ["面霜能放多久", "发货时间"]) == (12 / 13, "面霜能放多久")
    assert nearest("anything", []) == (0.0, "")
    questions = tmp_path / "q.jsonl"
    rows = [{"q": "面霜能放多久呀", "relevant": ["cream-shelf-life"], "type": "emoji"},
            {"q": "我买的东西什么时候能寄出来", "relevant": ["shipping-time"]}]
    questions.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    kept = tmp_path / "far.jsonl"
    code = overlap_main(["--kb", str(FIXTURES / "kb"), "--questions", str(questions),
                         "--keep-below", "0.6", "--write", str(kept)])
    assert code == 0
    out = capsys.readouterr().out
    assert "1 of 2 questions are ≥ 0.8 similar" in out and "面霜能放多久呀" in out
    assert [q.q for q in load_questions(kept)] == ["我买的东西什么时候能寄出来"]
    with pytest.raises(SystemExit):
        overlap_main(["--kb", str(FIXTURES / "kb"), "--questions", str(questions), "--write", str(kept)])


def test_category_holdout_asks_again_without_the_answers_category(tmp_path, dictionary_dir):
    from core import config as cfg
    from eval.harness import category_holdout, prepare_index
    from indexer.embed import HashEmbedder
    from retrieval import QueryEncoder, Searcher

    config = cfg.load({"embedder": "hash", "dictionary_dir": str(dictionary_dir)}, environ={})
    index = prepare_index(FIXTURES / "kb", tmp_path / "idx", HashEmbedder(), config)
    searcher = Searcher(index, QueryEncoder(HashEmbedder(), 16), config)
    asked = [Question("面霜开封后能用多久", ("cream-shelf-life",)), Question("随便问问", ())]
    held = category_holdout(searcher, asked)
    assert [o.question.q for o in held] == ["面霜开封后能用多久"]  # a no-answer question has no twin
    assert held[0].question.relevant == () and held[0].question.type == "category_holdout"
    hidden = index.articles["cream-shelf-life"].category
    assert held[0].ranked and all(index.articles[a].category != hidden for a in held[0].ranked)
