"""Hot reload: a newly published index is served without failing requests; a corrupt one is refused."""
import json
import shutil
import threading
import time

from indexer.build import build
from indexer.embed import HashEmbedder
from server import create_app
from tests.helpers import TODAY


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_publish_while_requests_flow_then_refuse_corrupt_index(built, kb_copy, tmp_path, config):
    root = tmp_path / "index"
    # four threads of one address hammer it: far over the per-client rate limit, which is not under test here
    app = create_app(config.replace(reload_interval=0.1, rate_limit_kib_per_s=0), today=lambda: TODAY)
    holder = app.extensions["kbs_holder"]
    assert holder.version == built.version

    failures, served, stop = [], [], threading.Event()

    def hammer():
        client = app.test_client()
        while not stop.is_set():
            response = client.post("/v1/suggest", json={"question": "以旧换新补贴多少", "top_k": 3})
            if response.status_code != 200:
                failures.append(response.status_code)
            else:
                served.append(response.get_json())

    workers = [threading.Thread(target=hammer) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(0.3)
        (kb_copy / "trade-in.md").write_text(
            "---\nid: trade-in\ntitle: 以旧换新\nquestions: [以旧换新补贴多少, 旧衣服能换吗]\n---\n"
            "## 补贴\n以旧换新每件补贴20元。\n", encoding="utf-8")
        new = build(kb_copy, root, HashEmbedder(), config)
        assert wait_for(lambda: holder.version == new.version)
        assert wait_for(lambda: served and served[-1]["index_version"] == new.version)
        time.sleep(0.3)
    finally:
        stop.set()
        for worker in workers:
            worker.join()
        holder.stop()
    assert not failures
    assert {r["index_version"] for r in served} == {built.version, new.version}
    assert served[-1]["suggestions"][0]["article_id"] == "trade-in"

    # a corrupt version published next is refused; the good one keeps serving
    bad = root / "versions" / "99999999T000000000000Z-corrupt"
    shutil.copytree(new.path, bad)
    manifest = json.loads((bad / "manifest.json").read_text("utf-8"))
    (bad / "manifest.json").write_text(json.dumps({**manifest, "version": bad.name}), encoding="utf-8")
    (bad / "chunks.faiss").write_bytes(b"garbage")
    (root / "CURRENT").write_text(bad.name + "\n", encoding="utf-8")
    assert holder.reload() is False
    client = app.test_client()
    ready = client.get("/readyz").get_json()
    assert ready["ready"] is True and ready["index_version"] == new.version
    assert "chunks.faiss does not match its checksum" in ready["reload_error"]
    assert client.post("/v1/suggest", json={"question": "发货"}).get_json()["index_version"] == new.version


def test_index_built_by_another_embedder_is_refused(built, tmp_path, config, kb_copy):
    app = create_app(config, today=lambda: TODAY)
    holder = app.extensions["kbs_holder"]

    class OtherEmbedder(HashEmbedder):
        def __init__(self):
            super().__init__(dim=128)
            self.id = "hash/char-ngrams@128"

    build(kb_copy, tmp_path / "index", OtherEmbedder(), config)
    assert holder.reload() is False
    assert "built with embedder hash/char-ngrams@128" in holder.error
    assert holder.version == built.version
