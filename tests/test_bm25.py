import math

import numpy as np

from indexer.bm25 import BM25


def test_scores_match_a_hand_computed_case(tmp_path):
    docs = [["退货", "运费"], ["退货", "退货", "时间", "到账"], ["发货"]]
    bm25 = BM25.build(docs, k1=1.2, b=0.75)
    avgdl = (2 + 4 + 1) / 3
    idf = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))  # "退货" is in 2 of 3 documents

    def term(tf, dl):
        return idf * tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * dl / avgdl))

    scores = bm25.scores(["退货", "退货", "不存在"])  # repeats and unknown terms add nothing
    np.testing.assert_allclose(scores, [term(1, 2), term(2, 4), 0.0], rtol=1e-6)
    loaded_dir = tmp_path / "bm25"
    loaded_dir.mkdir()
    bm25.save(loaded_dir)
    np.testing.assert_allclose(BM25.load(loaded_dir).scores(["退货"]), scores, rtol=1e-6)


def test_empty_index_scores_nothing():
    assert BM25.build([]).scores(["x"]).shape == (0,)
