"""The confidence model's fitting and out-of-fold machinery, against worked examples."""
import math

import numpy as np
import pytest

from eval.calibration import Fitted, cross_validate, fit, fit_logistic, fold_of, predict, threshold_for
from retrieval.confidence import probability


def test_probability_is_the_logistic_of_the_weighted_signals():
    assert probability((1.0, 0.0, 0.0), -1.0, (2.0, 5.0, 5.0)) == pytest.approx(1 / (1 + math.exp(-1)))
    assert probability((0.0, 0.0, 0.0), 1e6, (1.0, 1.0, 1.0)) == pytest.approx(1.0)  # no overflow


def test_threshold_leaves_the_allowed_share_of_answerable_questions_below_it():
    p = np.array([0.9, 0.2, 0.6, 0.4])
    answerable = np.array([True, True, True, False])
    # answerable scores sorted: 0.2, 0.6, 0.9; one of three (33%) may fall below → threshold 0.6
    assert threshold_for(p, answerable, 0.34) == 0.6
    assert threshold_for(p, answerable, 0.0) == 0.2


def test_logistic_fit_finds_the_direction_and_the_boundary():
    x = np.linspace(0, 1, 41)[:, None]
    y = (x[:, 0] > 0.5).astype(float)
    bias, weights = fit_logistic(x, y)
    assert weights[0] > 0
    assert -bias / weights[0] == pytest.approx(0.5, abs=0.03)  # p = 0.5 at the boundary


def test_cross_validation_judges_each_fold_with_a_model_fitted_on_the_others():
    rng = np.random.default_rng(0)
    questions = [f"q{i}" for i in range(60)]
    signals = np.column_stack([rng.random(60), rng.random(60), np.zeros(60)])
    answerable = signals[:, 0] > 0.3
    answered = answerable.copy()
    flags = cross_validate(questions, signals, answered, answerable, 3, 0.05)
    folds = np.array([fold_of(q, 3) for q in questions])
    held = folds == 0
    fitted = fit(signals[~held], answered[~held], answerable[~held], 0.05)
    assert (flags[held] == (predict(fitted, signals[held]) >= fitted.threshold)).all()
    assert fold_of("q1", 3) == fold_of("q1", 3)


def test_fitted_model_reads_back_as_settings():
    settings = Fitted(-2.0, (3.0, 1.0, 0.5), 0.42).settings()
    assert settings == {"confidence_bias": -2.0, "confidence_weight_evidence": 3.0, "confidence_weight_coverage": 1.0,
                        "confidence_weight_foreign": 0.5, "confidence_threshold": 0.42}


def test_added_negatives_teach_the_weights_but_not_the_prior():
    rng = np.random.default_rng(1)
    x = rng.random((200, 3))
    answered = x[:, 0] > 0.4
    asked = np.arange(200) < 120  # the last 80 rows are added negatives (e.g. the category hold-out)
    answered[~asked] = False
    answerable = answered.copy()
    plain = fit(x, answered, answerable, 0.05)
    shifted = fit(x, answered, answerable, 0.05, asked)
    assert shifted.weights == plain.weights
    odds = lambda p: math.log(p / (1 - p))  # noqa: E731
    assert shifted.bias - plain.bias == pytest.approx(odds(answered[asked].mean()) - odds(answered.mean()))
    # the same questions are confident either way: only the probability scale moves
    assert ((predict(plain, x) >= plain.threshold) == (predict(shifted, x) >= shifted.threshold)).all()
