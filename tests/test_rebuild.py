"""Rebuilds as editors run them: the previous version's models are reused when retraining would learn
(nearly) the same, the embedder is not loaded when nothing needs embedding, and progress is readable."""
import json
import shutil

import pytest

from core import config as cfg
from indexer.build import build
from indexer.embed import HashEmbedder
from indexer.bm25 import FILES as BM25_FILES
from indexer.store import load_index, read_manifest, resolve
from retrieval.model import RANKER_FILE
from retrieval.train import ranker_trainers
from tests.helpers import BUILT_IN_TEXTS, ROOT


class FakeTrainer:
    """Writes one file and counts its calls: the reuse policy without LightGBM's seconds."""

    fingerprint = "fake-1"

    def __init__(self):
        self.calls = 0

    def __call__(self, index, directory):
        self.calls += 1
        (directory / "fake.txt").write_text(f"model of {len(index.chunks)} chunks\n", encoding="utf-8")
        return {"files": ["fake.txt"]}


def _edit(kb, name="物流/shipping-time.md", old="48小时", new="24小时"):
    article = kb / name
    article.write_text(article.read_text("utf-8").replace(old, new), encoding="utf-8")


def test_the_model_is_reused_within_the_drift_budget_and_retrained_past_it(kb_copy, tmp_path, config):
    root, trainer = tmp_path / "index", FakeTrainer()
    first = build(kb_copy, root, HashEmbedder(), config, trainers={"fake": trainer})
    assert trainer.calls == 1 and first.models["fake"]["trained_on"]["version"] == first.version

    same = build(kb_copy, root, HashEmbedder(), config, trainers={"fake": trainer})
    assert trainer.calls == 1 and same.models["fake"]["reused_from"] == first.version
    assert "reused fake from" in same.summary()
    assert load_index(root).version == same.version, "the copied file passes the loader's checksums"

    _edit(kb_copy)  # 1 article of 6 changed: within a budget of 0.2, past one of 0.1
    loose = build(kb_copy, root, HashEmbedder(), config.replace(model_reuse_max_drift=0.2), trainers={"fake": trainer})
    assert trainer.calls == 1 and loose.models["fake"]["articles_changed_since_training"] == 1
    assert loose.models["fake"]["trained_on"]["version"] == first.version, "drift counts from the training"
    strict = build(kb_copy, root, HashEmbedder(), config.replace(model_reuse_max_drift=0.1), trainers={"fake": trainer})
    assert trainer.calls == 2 and "reused_from" not in strict.models["fake"]

    build(kb_copy, root, HashEmbedder(), config, full=True, trainers={"fake": trainer})
    assert trainer.calls == 3, "--full always retrains"
    other = FakeTrainer()
    other.fingerprint = "fake-2"
    build(kb_copy, root, HashEmbedder(), config, trainers={"fake": other})
    assert other.calls == 1, "other trainer code or settings: retrained"


def test_a_damaged_previous_model_is_not_reused(kb_copy, tmp_path, config):
    root, trainer = tmp_path / "index", FakeTrainer()
    first = build(kb_copy, root, HashEmbedder(), config, trainers={"fake": trainer})
    (first.path / "fake.txt").write_text("damaged\n", encoding="utf-8")
    build(kb_copy, root, HashEmbedder(), config, trainers={"fake": trainer})
    assert trainer.calls == 2


def test_a_reused_ranker_is_byte_identical_to_retraining(tmp_path, dictionary_dir):
    """Nothing changed: training is deterministic, so the reused file is exactly what training writes."""
    config = cfg.load({"embedder": "hash", "dictionary_dir": str(dictionary_dir)}, environ={})
    kb, root = tmp_path / "kb", tmp_path / "index"
    shutil.copytree(ROOT / "kb", kb)
    trained = build(kb, root, HashEmbedder(), config, trainers=ranker_trainers(config))
    reused = build(kb, root, HashEmbedder(), config, trainers=ranker_trainers(config))
    entry = read_manifest(resolve(root))["models"]["ranker"]
    assert entry["reused_from"] == trained.version and reused.training_seconds < 0.5
    assert (reused.path / RANKER_FILE).read_bytes() == (trained.path / RANKER_FILE).read_bytes()
    again = build(kb, tmp_path / "fresh", HashEmbedder(), config, trainers=ranker_trainers(config))
    assert (again.path / RANKER_FILE).read_bytes() == (reused.path / RANKER_FILE).read_bytes()
    assert json.loads((reused.path / "manifest.json").read_text("utf-8"))["files"][RANKER_FILE] == \
        json.loads((trained.path / "manifest.json").read_text("utf-8"))["files"][RANKER_FILE]


def test_the_embedder_is_not_loaded_when_every_text_is_cached(kb_copy, tmp_path, monkeypatch, capsys):
    from indexer import cli, embed

    made = []
    real_init = embed.HashEmbedder.__init__

    def counting_init(self, *args, **kwargs):
        made.append(self)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(embed.HashEmbedder, "__init__", counting_init)
    command = ["build", "--kb", str(kb_copy), "--out", str(tmp_path / "index"), "--embedder", "hash", "--no-progress"]
    assert cli.main(command) == 0 and len(made) == 1
    assert cli.main(command) == 0 and len(made) == 1, "nothing to embed: no model loaded"
    _edit(kb_copy)
    assert cli.main(command) == 0 and len(made) == 2
    assert "embedded 1," in capsys.readouterr().out


def test_lazy_embedder_picks_one_thread_for_a_handful_of_texts(config):
    from indexer.embed import LazyEmbedder

    lazy = LazyEmbedder(config, HashEmbedder.id_for(256), 256)
    lazy.plan(3)
    assert lazy.embed(["发货"], "query").shape == (1, 256) and lazy.loaded is not None
    wrong = LazyEmbedder(config, "hash/other", 256)
    with pytest.raises(Exception, match="not the expected"):
        wrong.embed(["发货"], "query")


def test_only_changed_chunks_are_tokenized_and_exactly_as_before(kb_copy, tmp_path, config, monkeypatch):
    import indexer.build as build_module
    seen = []
    real = build_module.tokenize_texts

    def counting(texts, user_words, folder, progress=None):
        seen.append(len(texts))
        return real(texts, user_words, folder, progress)

    monkeypatch.setattr(build_module, "tokenize_texts", counting)
    root = tmp_path / "index"
    build(kb_copy, root, HashEmbedder(), config)
    build(kb_copy, root, HashEmbedder(), config)
    _edit(kb_copy)
    build(kb_copy, root, HashEmbedder(), config)
    assert seen == [8, 1], "all chunks, then none, then the edited one"
    incremental = resolve(root)
    fresh = build(kb_copy, tmp_path / "fresh", HashEmbedder(), config).path
    for name in BM25_FILES:  # the cached and the sub-dictionary tokens give the very same BM25 index
        assert (incremental / name).read_bytes() == (fresh / name).read_bytes(), name


def test_a_sub_dictionary_cuts_exactly_like_the_whole_dictionary(tmp_path):
    from indexer.parse import parse_kb
    from indexer.chunk import chunk_kb
    from indexer.tokenize import Tokenizer, save_dictionary_arrays, sub_dictionary, normalize, user_words_from

    parsed = parse_kb(ROOT / "kb")
    chunks, phrasings = chunk_kb(parsed.articles, 300)
    words = user_words_from(parsed.articles)
    texts = [c.embed_text for c in chunks] + [p.text for p in phrasings] + ["ＰＰＲ-9087山茶花精华面霜发货吗？", "", "abc 123"]
    assert sub_dictionary(tmp_path, texts) is None, "no arrays yet"
    save_dictionary_arrays(tmp_path)
    whole = Tokenizer(words)
    per_text = Tokenizer(words, dictionary=tmp_path)  # the server's: each text with the entries inside it
    for text in texts:
        base = sub_dictionary(tmp_path, [normalize(text)] + list(words))
        assert Tokenizer(words, base=base).tokens(text) == whole.tokens(text), text
        assert per_text.tokens(text) == whole.tokens(text), text


def test_the_server_never_loads_the_whole_dictionary(index_root, config):
    """It cuts each question with the entries inside it, from the arrays the build wrote (~100 MB less)."""
    from indexer import tokenize
    from indexer.embed import HashEmbedder
    from retrieval import Query, QueryEncoder
    from server.holder import IndexHolder

    tokenize._base_dictionary.cache_clear()
    holder = IndexHolder(index_root, QueryEncoder(HashEmbedder(), 8), config)
    assert holder.reload()
    assert holder.assistant.searcher.search(Query("山茶花面霜几天发货")).suggestions
    assert tokenize._base_dictionary.cache_info().currsize == 0


def test_progress_in_a_log_is_a_few_plain_lines_one_per_stage(kb_copy, tmp_path, capsys):
    from indexer import cli

    assert cli.main(["build", "--kb", str(kb_copy), "--out", str(tmp_path / "index"), "--embedder", "hash"]) == 0
    err = capsys.readouterr().err  # pytest's capture is not a terminal
    assert "\r" not in err
    # one closing line per stage (a stage slower than 2 s on a busy machine adds quarter lines before it)
    stages = [line.split()[1] for line in err.splitlines() if line.startswith("build: ") and "%)" not in line]
    assert stages == ["parse", "chunk", "embed", "bm25", "write", "train", "publish"]
    assert f"build: embed {26 + BUILT_IN_TEXTS}/{26 + BUILT_IN_TEXTS} texts in " in err

    assert cli.main(["build", "--kb", str(kb_copy), "--out", str(tmp_path / "index"), "--embedder", "hash",
                     "--no-progress"]) == 0
    assert "build:" not in capsys.readouterr().err


def test_a_long_stage_in_a_log_prints_its_quarters_with_an_eta(monkeypatch):
    import io

    from indexer import progress as progress_module

    clock = iter(range(0, 1000, 3))
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: next(clock))
    out = io.StringIO()
    reporter = progress_module.Progress(stream=out, interactive=False)
    tick = reporter.stage("embed", 8, "texts")
    for _ in range(8):
        tick(1)
    reporter.finish()
    lines = out.getvalue().splitlines()
    assert lines[:3] == ["build: embed 2/8 texts (25%), 6.0s elapsed, ETA 18s",
                         "build: embed 4/8 texts (50%), 12.0s elapsed, ETA 12s",
                         "build: embed 6/8 texts (75%), 18.0s elapsed, ETA 6s"]
    assert lines[3] == "build: embed 8/8 texts in 27.0s" and len(lines) == 4


def test_on_a_terminal_each_stage_is_a_bar_with_an_eta():
    import io

    from indexer.progress import Progress

    out = io.StringIO()
    reporter = Progress(stream=out, interactive=True)
    tick = reporter.stage("embed", 4, "texts")
    tick(2)
    reporter.stage("bm25", 1, "chunks")(1)
    reporter.finish()
    text = out.getvalue()
    assert "embed" in text and "bm25" in text and "\r" in text and "<" in text  # tqdm's [elapsed<ETA]


def test_pinyin_from_a_sub_dictionary_is_pypinyins_own(tmp_path):
    import sys

    from pypinyin import lazy_pinyin

    from indexer.parse import parse_kb
    from indexer.chunk import chunk_kb
    from indexer.pinyin import han_runs, run_syllables, save_pinyin_arrays

    parsed = parse_kb(ROOT / "kb")
    chunks, phrasings = chunk_kb(parsed.articles, 300)
    runs = {run for text in [c.embed_text for c in chunks] + [p.text for p in phrasings] for run in han_runs(text)}
    runs |= {"重新发货", "重量超重", "银行行长", "一丁点儿都不行", "朝阳长大了"}  # polyphones, phrases
    assert run_syllables(tmp_path, runs) is None, "no arrays yet"
    save_pinyin_arrays(tmp_path)
    before = sys.modules["pypinyin"]
    known = run_syllables(tmp_path, runs)
    assert known == {run: lazy_pinyin(run) for run in runs}
    assert sys.modules["pypinyin"] is before, "the private copy is gone again"
