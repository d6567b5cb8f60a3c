"""LightGBM's plain-text model, evaluated with numpy: the server scores candidates without importing
LightGBM (which pulls in scikit-learn and SciPy: about 80 MB of memory and 1.4 s of start-up per process).

Numerical splits only, as ``retrieval.train`` trains them; a model with categorical splits or linear
leaves is refused. The decision is LightGBM's own: NaN counts as 0 unless the split's missing type is
NaN; a missing value (NaN, or a zero under missing type Zero) goes the split's default way; otherwise
``x <= threshold`` goes left. The sum of the trees' leaves is the raw score, as ``Booster.predict``
returns for a ranking objective.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

_CATEGORICAL, _DEFAULT_LEFT = 1, 2
_MISSING_ZERO, _MISSING_NAN = 1, 2
_ZERO = 1e-35  # LightGBM's kZeroThreshold


class TreeModelError(ValueError):
    """A model file this evaluator does not read (damaged, or with features it does not support)."""


@dataclass(frozen=True)
class TreeEnsemble:
    """Every tree's nodes in one set of arrays. A child or a root below 0 is leaf ``~child``."""

    features: np.ndarray  # int, per node
    thresholds: np.ndarray  # float64, per node
    default_left: np.ndarray  # bool, per node
    missing: np.ndarray  # int (0 none, 1 zero, 2 NaN), per node
    left: np.ndarray  # int, per node
    right: np.ndarray  # int, per node
    roots: np.ndarray  # int, per tree
    leaf_values: np.ndarray  # float64, per leaf
    n_features: int

    @classmethod
    def load(cls, path: Path) -> "TreeEnsemble":
        return cls.parse(Path(path).read_text("utf-8"))

    @classmethod
    def parse(cls, text: str) -> "TreeEnsemble":
        blocks = text.split("\nTree=")
        header = _fields(blocks[0])
        if header.get("average_output") is not None:
            raise TreeModelError("random-forest models (average_output) are not supported")
        try:
            n_features = int(header["max_feature_idx"]) + 1
        except (KeyError, ValueError):
            raise TreeModelError("not a LightGBM model file (no max_feature_idx)") from None
        nodes: dict[str, list] = {k: [] for k in ("features", "thresholds", "decision", "left", "right")}
        roots, leaves = [], []
        for block in blocks[1:]:
            tree = _fields(block.split("\nend of trees")[0])
            if tree.get("num_cat", "0") != "0" or tree.get("is_linear", "0") != "0":
                raise TreeModelError("categorical splits and linear leaves are not supported")
            node_base, leaf_base = len(nodes["features"]), len(leaves)
            values = _numbers(tree, "leaf_value", float)
            if int(tree.get("num_leaves", "0")) <= 1:
                roots.append(~leaf_base)
            else:
                roots.append(node_base)
                nodes["features"] += _numbers(tree, "split_feature", int)
                nodes["thresholds"] += _numbers(tree, "threshold", float)
                nodes["decision"] += _numbers(tree, "decision_type", int)
                for side in ("left", "right"):
                    nodes[side] += [c + node_base if c >= 0 else ~(~c + leaf_base)
                                    for c in _numbers(tree, f"{side}_child", int)]
            leaves += values
        decision = np.asarray(nodes["decision"], dtype=np.int64)
        if (decision & _CATEGORICAL).any():
            raise TreeModelError("categorical splits are not supported")
        features = np.asarray(nodes["features"], dtype=np.int64)
        if len(features) and (features.min() < 0 or features.max() >= n_features):
            raise TreeModelError("a split names a feature the model does not have")
        return cls(features, np.asarray(nodes["thresholds"], dtype=np.float64), (decision & _DEFAULT_LEFT) > 0,
                   (decision >> 2) & 3, np.asarray(nodes["left"], dtype=np.int64),
                   np.asarray(nodes["right"], dtype=np.int64), np.asarray(roots, dtype=np.int64),
                   np.asarray(leaves, dtype=np.float64), n_features)

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """The raw score of each row: every node's decision at once, then all trees walked together, one
        level a step; a leaf is a node that leads to itself, so the walk needs no mask."""
        x = np.asarray(matrix, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected a matrix of {self.n_features} features, got shape {x.shape}")
        go_right = ~self._go_left(x)
        n_nodes, walk = len(self.features), self._walk
        width = n_nodes + len(self.leaf_values)
        go_right = np.concatenate([go_right, np.zeros((len(x), len(self.leaf_values)), bool)], axis=1).ravel()
        at = np.broadcast_to(walk.starts, (len(x), len(walk.starts))).copy()
        offsets = (np.arange(len(x)) * width)[:, None]
        for _ in range(walk.depth):
            at = walk.next.take(at * 2 + go_right.take(at + offsets))
        return self.leaf_values[at - n_nodes].sum(axis=1)

    def _go_left(self, x: np.ndarray) -> np.ndarray:
        """(rows, nodes): whether each row goes left at each node. NaN counts as 0, except at the
        nodes whose missing type is Zero or NaN, which send a missing value their default way."""
        go_left = np.nan_to_num(x, nan=0.0)[:, self.features] <= self.thresholds
        for missing_type, nodes in self._special_nodes.items():
            value = x[:, self.features[nodes]]
            if missing_type == _MISSING_ZERO:
                value = np.nan_to_num(value, nan=0.0)
                is_missing = np.abs(value) <= _ZERO
            else:
                is_missing = np.isnan(value)
            go_left[:, nodes] = np.where(is_missing, self.default_left[nodes], value <= self.thresholds[nodes])
        return go_left

    @cached_property
    def _special_nodes(self) -> dict[int, np.ndarray]:
        return {t: np.flatnonzero(self.missing == t) for t in (_MISSING_ZERO, _MISSING_NAN)
                if (self.missing == t).any()}

    @cached_property
    def _walk(self) -> "_Walk":
        """Nodes then leaves in one numbering: node i's children at next[2i] (left) and next[2i+1]; a leaf
        leads to itself."""
        n_nodes, n_leaves = len(self.features), len(self.leaf_values)

        def number(child: np.ndarray) -> np.ndarray:
            return np.where(child >= 0, child, n_nodes + ~child)

        leaves = np.arange(n_nodes, n_nodes + n_leaves)
        following = np.stack([np.concatenate([number(self.left), leaves]),
                              np.concatenate([number(self.right), leaves])], axis=1).ravel()
        return _Walk(number(self.roots), following, _depth(self.left, self.right, self.roots))


@dataclass(frozen=True)
class _Walk:
    starts: np.ndarray
    next: np.ndarray
    depth: int


def _depth(left: np.ndarray, right: np.ndarray, roots: np.ndarray) -> int:
    """The most splits on a way from a root to a leaf, over all trees."""
    deepest, level = 0, [int(r) for r in roots if r >= 0]
    while level:
        deepest += 1
        level = [int(c) for n in level for c in (left[n], right[n]) if c >= 0]
    return deepest


def _fields(block: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in block.splitlines() if "=" in line)


def _numbers(fields: dict[str, str], key: str, kind) -> list:
    try:
        return [kind(v) for v in fields[key].split()]
    except (KeyError, ValueError):
        raise TreeModelError(f"a tree has no readable {key}") from None
