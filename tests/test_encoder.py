"""The query encoder's lanes (issue 14 §1): one shared queue, several lanes, micro-batches under load."""
import threading
import time

import numpy as np
import pytest

from indexer.embed import HashEmbedder
from retrieval import QueryEncoder
from retrieval.types import DeadlineExceeded


class GatedEmbedder:
    """The hash embedder, recording each call's texts; the first call (or the call with ``gate_on``)
    waits for ``release``."""

    def __init__(self, fail_on: str | None = None, gate_on: str | None = None):
        self.inner = HashEmbedder()
        self.id, self.dim = self.inner.id, self.inner.dim
        self.calls: list[list[str]] = []
        self.busy, self.release = threading.Event(), threading.Event()
        self.fail_on, self.gate_on = fail_on, gate_on

    def embed(self, texts, mode):
        gated = self.gate_on in texts if self.gate_on else not self.calls
        self.calls.append(list(texts))
        if gated:
            self.busy.set()
            self.release.wait(10)
        if self.fail_on in texts:
            raise RuntimeError("the model failed")
        return self.inner.embed(texts, mode)


def encode_in_background(encoder, texts, results, deadline_s=None):
    def run(text):
        try:
            deadline = None if deadline_s is None else time.monotonic() + deadline_s
            results[text] = encoder.encode(text, deadline)
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            results[text] = exc

    threads = [threading.Thread(target=run, args=(t,)) for t in texts]
    for thread in threads:
        thread.start()
    return threads


def wait_until(condition, seconds=10):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def occupy(encoder, embedder, results):
    """Start one text and wait until the lane is inside the (gated) embedder with it."""
    thread = encode_in_background(encoder, ["占住车道的第一条"], results)
    assert embedder.busy.wait(10)
    return thread


def test_under_load_a_lane_embeds_the_waiting_texts_in_batches_best_first(monkeypatch):
    from retrieval import encoder as module

    monkeypatch.setattr(module, "SECONDS_PER_CHAR", 10.0)  # length decides, however slow the test machine
    embedder, results = GatedEmbedder(), {}
    encoder = QueryEncoder(embedder, 0, batch=3)
    threads = occupy(encoder, embedder, results)
    long_text = "第五条" + "长" * 57  # the four short ones, though later, are expected to finish first
    waiting = [long_text, "一", "二二", "三三三", "四四四四"]
    for text in waiting:  # one at a time, so that the arrival order is known
        threads += encode_in_background(encoder, [text], results)
        wait_until(lambda: encoder.waiting() == waiting.index(text) + 1)
    embedder.release.set()
    for thread in threads:
        thread.join()
    # expected finish = arrival + length: the short late arrivals overtake the long early one
    assert embedder.calls[1:] == [["一", "二二", "三三三"], ["四四四四", long_text]]
    for text in waiting:
        assert np.allclose(results[text], HashEmbedder().embed([text], "query")[0]), "each caller gets its own vector"
    assert encoder.stats()["calls"] == 3 and encoder.stats()["embedded"] == 6


def test_a_batch_holds_at_most_batch_chars():
    from retrieval.encoder import BATCH_CHARS

    embedder, results = GatedEmbedder(), {}
    encoder = QueryEncoder(embedder, 0, batch=8)
    threads = occupy(encoder, embedder, results)
    texts = [f"{n}" + "长" * 49 for n in range(4)]  # 50 characters each
    threads += encode_in_background(encoder, texts, results)
    wait_until(lambda: encoder.waiting() == 4)
    embedder.release.set()
    for thread in threads:
        thread.join()
    assert [len(call) for call in embedder.calls[1:]] == [2, 2]
    assert all(sum(map(len, call)) <= BATCH_CHARS for call in embedder.calls)


def test_batch_one_never_batches():
    embedder, results = GatedEmbedder(), {}
    encoder = QueryEncoder(embedder, 0, batch=1)
    threads = occupy(encoder, embedder, results) + encode_in_background(encoder, ["甲", "乙", "丙"], results)
    wait_until(lambda: encoder.waiting() == 3)
    embedder.release.set()
    for thread in threads:
        thread.join()
    assert all(len(call) == 1 for call in embedder.calls)


def test_an_idle_lane_takes_the_work_while_another_is_busy():
    long_text = "很长的第一条客户消息" * 5
    first, second, results = GatedEmbedder(gate_on=long_text), GatedEmbedder(gate_on=long_text), {}
    encoder = QueryEncoder(first, 0, more=[second])
    assert encoder.lanes == 2
    threads = encode_in_background(encoder, [long_text], results)
    wait_until(lambda: first.busy.is_set() or second.busy.is_set())
    busy, idle = (first, second) if first.busy.is_set() else (second, first)
    started = time.monotonic()
    encoder.encode("发货时间", deadline=time.monotonic() + 5)
    assert time.monotonic() - started < 1, "the second lane did not wait for the busy one"
    assert ["发货时间"] in idle.calls
    busy.release.set()
    for thread in threads:
        thread.join()


def test_a_failure_reaches_every_caller_of_the_batch_and_the_lane_lives_on():
    embedder, results = GatedEmbedder(fail_on="坏"), {}
    encoder = QueryEncoder(embedder, 0, batch=4)
    threads = occupy(encoder, embedder, results) + encode_in_background(encoder, ["好", "坏"], results)
    wait_until(lambda: encoder.waiting() == 2)
    embedder.release.set()
    for thread in threads:
        thread.join()
    assert isinstance(results["好"], RuntimeError) and isinstance(results["坏"], RuntimeError)
    assert encoder.encode("之后").shape == (embedder.dim,)


def _deadline_passes(encoder):
    with pytest.raises(DeadlineExceeded):
        encoder.encode("放弃的问题", deadline=time.monotonic() + 0.05)


def _cancelled(encoder):
    encoder.submit("放弃的问题").cancel()


@pytest.mark.parametrize("give_up", [_deadline_passes, _cancelled], ids=["deadline", "cancel"])
def test_a_text_whose_caller_gave_up_is_not_embedded_in_a_batch(give_up):
    embedder, results = GatedEmbedder(), {}
    encoder = QueryEncoder(embedder, 0, batch=4)
    threads = occupy(encoder, embedder, results)
    give_up(encoder)
    threads += encode_in_background(encoder, ["还在等的问题"], results)
    wait_until(lambda: encoder.waiting() == 2)
    embedder.release.set()
    for thread in threads:
        thread.join()
    assert embedder.calls[1:] == [["还在等的问题"]]


def test_submit_returns_while_the_lane_embeds_and_result_waits_for_it():
    embedder = GatedEmbedder()
    encoder = QueryEncoder(embedder, 8)
    started = time.monotonic()
    pending = encoder.submit("发货时间")
    assert embedder.busy.wait(10) and time.monotonic() - started < 1, "submit waited for the embedding"
    with pytest.raises(DeadlineExceeded):
        pending.result(deadline=time.monotonic() + 0.05)
    embedder.release.set()
    assert np.allclose(encoder.submit("发货时间").result(), HashEmbedder().embed(["发货时间"], "query")[0])


def test_search_reads_the_words_while_the_lane_embeds_and_drops_the_text_if_it_fails(index_root, config):
    from indexer.store import load_index
    from retrieval import Query, Searcher

    embedder, results = GatedEmbedder(), {}
    encoder = QueryEncoder(embedder, 0)
    searcher = Searcher(load_index(index_root), encoder, config)
    threads = occupy(encoder, embedder, results)
    seen = []

    def lexical(query, text, wanted):
        seen.append(encoder.waiting())  # the question is queued, not yet embedded, while its words are read
        raise RuntimeError("tokeniser failed")

    searcher.lexical = lexical
    with pytest.raises(RuntimeError):
        searcher.search(Query("运费谁出"))
    assert seen == [1]
    embedder.release.set()
    for thread in threads:
        thread.join()
    encoder.encode("之后的问题")  # queued after it: once this is embedded, the lane has passed it
    assert all("运费谁出" not in call for call in embedder.calls)
