"""NBLogisticRegression: the NB-scaled logistic regression the text classifiers use."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression

from cleanclf.errors import InputError
from cleanclf.text.linear import NBLogisticRegression


def _data(seed: int = 0, n: int = 300, d: int = 40):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.15, random_state=seed, format="csr", dtype=np.float64)
    # Features 0-4 mark positives, 5-9 negatives: a learnable signal with noise.
    y = rng.integers(0, 2, n)
    X = X.tolil()
    for i in range(n):
        X[i, int(rng.integers(0, 5)) + (0 if y[i] else 5)] = 1.0
    return X.tocsr(), y


def test_folded_weights_equal_lr_on_scaled_features():
    X, y = _data()
    clf = NBLogisticRegression(C=4.0, alpha=1.0).fit(X, y)
    present = (X.toarray() != 0)
    p = present[y == 1].sum(0) + 1.0
    q = present[y == 0].sum(0) + 1.0
    r = np.log((p / p.sum()) / (q / q.sum()))
    np.testing.assert_allclose(clf.r_, r, rtol=1e-5)
    lr = LogisticRegression(C=4.0, solver="liblinear", max_iter=300).fit(X @ sp.diags(r), y)
    np.testing.assert_allclose(clf.decision_function(X), lr.decision_function(X @ sp.diags(r)), rtol=1e-6, atol=1e-6)
    # The ratio points the right way: positive-marking features get r > 0, negative ones r < 0.
    assert (clf.r_[:5] > 0).all() and (clf.r_[5:10] < 0).all()
    assert (clf.predict(X) == y).mean() > 0.9


def test_probabilities_shape_and_range():
    X, y = _data(1)
    proba = NBLogisticRegression().fit(X, y).predict_proba(X[:7])
    assert proba.shape == (7, 2)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert ((proba >= 0) & (proba <= 1)).all()


def test_clone_pickle_and_calibration():
    X, y = _data(2)
    est = NBLogisticRegression(C=2.0, alpha=0.5)
    assert clone(est).get_params() == {"C": 2.0, "alpha": 0.5, "max_iter": 300}
    cal = CalibratedClassifierCV(est, method="sigmoid", cv=3, ensemble=False).fit(X, y)
    again = pickle.loads(pickle.dumps(cal))
    np.testing.assert_array_equal(cal.predict_proba(X), again.predict_proba(X))


def test_rejects_bad_input():
    X, y = _data(3)
    with pytest.raises(InputError, match="alpha"):
        NBLogisticRegression(alpha=0).fit(X, y)
    with pytest.raises(InputError, match="two classes"):
        NBLogisticRegression().fit(X, np.ones(X.shape[0], dtype=int))
    clf = NBLogisticRegression().fit(X, y)
    with pytest.raises(InputError, match="features"):
        clf.decision_function(X[:, :5])


def test_sample_weight_counts_in_the_nb_ratios_like_repeated_rows():
    """A weight of 2 on a row is the same fit as the row written twice (ratios and weights)."""
    X, y = _data(seed=3, n=120)
    w = np.ones(X.shape[0])
    w[:30] = 2.0
    weighted = NBLogisticRegression(C=4.0).fit(X, y, sample_weight=w)
    Xd = sp.vstack([X, X[:30]]).tocsr()
    yd = np.concatenate([y, y[:30]])
    repeated = NBLogisticRegression(C=4.0).fit(Xd, yd)
    np.testing.assert_allclose(weighted.r_, repeated.r_, rtol=1e-5)
    np.testing.assert_allclose(weighted.decision_function(X), repeated.decision_function(X), rtol=1e-4, atol=1e-4)
    unweighted = NBLogisticRegression(C=4.0).fit(X, y)
    assert not np.allclose(unweighted.r_, weighted.r_)


@pytest.mark.parametrize("bad", [np.ones(5), -np.ones(120), np.full(120, np.nan)])
def test_bad_sample_weight_is_refused(bad):
    X, y = _data(seed=3, n=120)
    with pytest.raises(InputError, match="sample_weight"):
        NBLogisticRegression().fit(X, y, sample_weight=bad)
