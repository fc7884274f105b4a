"""NB-weighted logistic regression (NBSVM-style) for sparse text features.

Wang & Manning (2012), "Baselines and Bigrams": scale each feature by its
naive-Bayes log-count ratio ``r = log((p / |p|) / (q / |q|))`` (``p``, ``q``: how
many positive / negative rows have the feature, plus ``alpha``), then fit a
logistic regression on the scaled features. On short, disguised spam this
beats a plain logistic regression on the same character n-grams (dev F1 for
``explicit_text``: 0.836 in default@0.2.0 (0.837 in 0.3.0) against 0.816 for 0.1.0's plain LR,
part of it from normaliser rules added at the same time; on a source never
seen in training it does worse, benchmarks/RESULTS-text.md), at no
cost when scoring: the fitted model folds the scaling into its weights, so it
is a plain linear model over the original features (``coef_`` acts on ``X``
itself, which is also what the n-gram evidence reads).

>>> import numpy as np, scipy.sparse as sp
>>> X = sp.csr_matrix(np.array([[1, 0, 1], [1, 1, 0], [0, 1, 0], [0, 1, 1]], dtype=float))
>>> clf = NBLogisticRegression(C=10.0).fit(X, [1, 0, 0, 1])
>>> clf.predict(X).tolist()
[1, 0, 0, 1]
>>> clf.coef_.shape, clf.r_.shape
((1, 3), (3,))
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from ..errors import InputError


class NBLogisticRegression(ClassifierMixin, BaseEstimator):
    """Binary logistic regression on naive-Bayes-scaled features.

    Parameters
    ----------
    C : float
        Inverse regularisation strength of the logistic regression.
    alpha : float
        Smoothing added to the per-class feature counts (Laplace: 1.0).
    max_iter : int
        Iterations of the liblinear solver.

    Fitted attributes: ``r_`` (log-count ratios), ``coef_`` / ``intercept_`` (the
    weights on the *unscaled* features), ``classes_``.
    """

    def __init__(self, C: float = 16.0, alpha: float = 1.0, max_iter: int = 300):
        self.C = C
        self.alpha = alpha
        self.max_iter = max_iter

    def fit(self, X, y, sample_weight=None):
        if not (isinstance(self.alpha, (int, float)) and self.alpha > 0):
            raise InputError(f"alpha: expected a number > 0, got {self.alpha!r}")
        X = sp.csr_matrix(X)
        y = np.asarray(y)
        classes = np.unique(y)
        if classes.size != 2:
            raise InputError(f"y: expected two classes, got {classes.tolist()}")
        pos = y == classes[1]
        present = X.copy()
        present.data = (present.data != 0).astype(np.float64)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
            if sample_weight.shape != (X.shape[0],) or not np.all(np.isfinite(sample_weight)) or (sample_weight < 0).any():
                raise InputError(f"sample_weight: expected {X.shape[0]} finite weights >= 0, "
                                 f"got shape {sample_weight.shape}")
            # Weighted document frequencies: a row that counts twice in the fit counts twice in the ratios.
            present = sp.diags(sample_weight) @ present
        p = np.asarray(present[pos].sum(axis=0)).ravel() + self.alpha
        q = np.asarray(present[~pos].sum(axis=0)).ravel() + self.alpha
        r = np.log((p / p.sum()) / (q / q.sum()))
        lr = LogisticRegression(C=self.C, solver="liblinear", max_iter=self.max_iter)
        lr.fit(X @ sp.diags(r), pos.astype(int), sample_weight=sample_weight)
        self.r_ = r.astype(np.float32)
        # Fold the scaling into the weights: w·(r∘x) = (w∘r)·x, so scoring is one dot product.
        self.coef_ = (lr.coef_ * r).astype(np.float64)
        self.intercept_ = lr.intercept_.astype(np.float64)
        self.classes_ = classes
        self.n_features_in_ = X.shape[1]
        self.n_iter_ = lr.n_iter_
        return self

    def decision_function(self, X):
        check_is_fitted(self, "coef_")
        if X.shape[1] != self.n_features_in_:
            raise InputError(f"X: expected {self.n_features_in_} features, got {X.shape[1]}")
        return np.asarray(X @ self.coef_.ravel()).ravel() + self.intercept_[0]

    def predict_proba(self, X):
        z = self.decision_function(X)
        p = 1.0 / (1.0 + np.exp(-z))
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        return self.classes_[(self.decision_function(X) > 0).astype(int)]
