"""The numpy evaluator of LightGBM's model file (issue 14: the server runs without LightGBM)."""
import lightgbm
import numpy as np
import pytest

from retrieval.trees import TreeEnsemble, TreeModelError


def noisy(rng, rows, columns):
    """Random features with zeros and NaN, the cases where LightGBM's missing-value rules matter."""
    x = rng.random((rows, columns))
    x[rng.random(x.shape) < 0.15] = 0.0
    x[rng.random(x.shape) < 0.15] = np.nan
    return x


@pytest.mark.parametrize("params", [
    {"objective": "lambdarank"},  # what retrieval.train trains
    {"objective": "regression"},  # NaN as missing
    {"objective": "regression", "zero_as_missing": True},
    {"objective": "regression", "use_missing": False},
], ids=["lambdarank", "nan-missing", "zero-missing", "no-missing"])
def test_scores_equal_lightgbms_own(params):
    rng = np.random.default_rng(7)
    x, y = noisy(rng, 400, 6), rng.integers(0, 3, 400)
    group = {"group": [40] * 10} if params["objective"] == "lambdarank" else {}
    booster = lightgbm.train({**params, "verbose": -1, "num_leaves": 7, "min_data_in_leaf": 3},
                             lightgbm.Dataset(x, y, **group), num_boost_round=30)
    trees = TreeEnsemble.parse(booster.model_to_string())
    probe = noisy(rng, 300, 6)
    assert np.allclose(trees.predict(probe), booster.predict(probe), rtol=0, atol=1e-12)


def test_a_single_leaf_tree_and_a_worked_example():
    """Two trees by hand: a split on feature 1 at 0.5 (default left, missing type None), and a lone leaf."""
    text = ("tree\nversion=v4\nmax_feature_idx=1\n\nTree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=1\n"
            "threshold=0.5\ndecision_type=2\nleft_child=-1\nright_child=-2\nleaf_value=1 10\n\n"
            "Tree=1\nnum_leaves=1\nnum_cat=0\nleaf_value=0.25\n\nend of trees\n")
    trees = TreeEnsemble.parse(text)
    x = np.array([[9.0, 0.2], [9.0, 0.7], [9.0, 0.5], [9.0, np.nan]])
    assert trees.predict(x).tolist() == [1.25, 10.25, 1.25, 1.25]  # NaN counts as 0 under missing type None


@pytest.mark.parametrize("text, message", [
    ("not a model", "max_feature_idx"),
    ("tree\nmax_feature_idx=1\n\nTree=0\nnum_leaves=2\nnum_cat=1\nleaf_value=1 2\n", "categorical"),
    ("tree\nmax_feature_idx=1\n\nTree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=5\nthreshold=0.5\n"
     "decision_type=2\nleft_child=-1\nright_child=-2\nleaf_value=1 2\n", "feature"),
    ("tree\nmax_feature_idx=1\n\nTree=0\nnum_leaves=2\nnum_cat=0\nleaf_value=1 2\n", "split_feature"),
])
def test_a_model_it_cannot_read_is_refused_clearly(text, message):
    with pytest.raises(TreeModelError, match=message):
        TreeEnsemble.parse(text)


def test_a_matrix_of_the_wrong_width_is_refused():
    trees = TreeEnsemble.parse("tree\nmax_feature_idx=1\n\nTree=0\nnum_leaves=1\nnum_cat=0\nleaf_value=1\n")
    with pytest.raises(ValueError, match="2 features"):
        trees.predict(np.zeros((3, 5)))
