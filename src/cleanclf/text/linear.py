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

import numbers

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ..errors import InputError, describe


def _check_number(name: str, value, *, low=0.0, integer: bool = False) -> None:
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind) or not np.isfinite(value) or value <= low:
        what = "an integer" if integer else "a finite number"
        raise InputError(f"{name}: expected {what} > {low:g}, got {describe(value)}")


class NBLogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression on naive-Bayes-scaled features (binary; one-vs-rest for more classes).

    Parameters
    ----------
    C : float
        Inverse regularisation strength of the logistic regression.
    alpha : float
        Smoothing added to the per-class feature counts (Laplace: 1.0).
    max_iter : int
        Iterations of the liblinear solver.

    ``X``: a sparse matrix, an array or a list of rows (non-negative counts or
    tf-idf values in practice; the ratios count the rows where a feature is
    non-zero). Fitted attributes: ``r_`` (log-count ratios, ``(n_features,)``
    for two classes, ``(n_classes, n_features)`` for more), ``coef_`` /
    ``intercept_`` (the weights on the *unscaled* features, one row per
    one-vs-rest model), ``classes_``, ``n_features_in_``. With more than two
    classes each class gets its own ratios and binary model, and
    ``predict_proba`` normalises the one-vs-rest probabilities (as
    scikit-learn's ``OneVsRestClassifier`` does).

    >>> clf = NBLogisticRegression(C=10.0).fit([[1, 0, 1], [1, 1, 0], [0, 1, 0], [0, 1, 1]], ["a", "b", "b", "a"])
    >>> clf.predict([[1, 0, 1], [0, 1, 0]]).tolist()
    ['a', 'b']
    >>> clf.predict_proba([[1, 0, 1]]).shape
    (1, 2)
    """

    def __init__(self, C: float = 16.0, alpha: float = 1.0, max_iter: int = 300):
        self.C = C
        self.alpha = alpha
        self.max_iter = max_iter

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def fit(self, X, y, sample_weight=None):
        """Fit on features ``X`` (n, d) and labels ``y`` (n,); returns ``self``."""
        _check_number("alpha", self.alpha)
        _check_number("C", self.C)
        _check_number("max_iter", self.max_iter, integer=True)
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=[np.float64, np.float32])
        check_classification_targets(y)
        classes = np.unique(y)
        if classes.size < 2:
            raise InputError(f"y: expected at least two classes, got one class: {classes.tolist()}")
        X = sp.csr_matrix(X)
        if sample_weight is not None:
            try:
                sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
            except ValueError as exc:
                raise InputError(f"sample_weight: expected {X.shape[0]} finite weights >= 0 ({exc})") from None
        present = X.copy()
        present.data = (present.data != 0).astype(np.float64)
        if sample_weight is not None:
            # Weighted document frequencies: a row that counts twice in the fit counts twice in the ratios.
            present = sp.diags(sample_weight) @ present
        targets = [classes[1]] if classes.size == 2 else list(classes)
        rs, coefs, intercepts, n_iter = [], [], [], []
        for target in targets:
            pos = y == target
            p = np.asarray(present[pos].sum(axis=0)).ravel() + self.alpha
            q = np.asarray(present[~pos].sum(axis=0)).ravel() + self.alpha
            r = np.log((p / p.sum()) / (q / q.sum()))
            lr = LogisticRegression(C=self.C, solver="liblinear", max_iter=self.max_iter)
            lr.fit(X @ sp.diags(r), pos.astype(int), sample_weight=sample_weight)
            rs.append(r.astype(np.float32))
            # Fold the scaling into the weights: w·(r∘x) = (w∘r)·x, so scoring is one dot product.
            coefs.append((lr.coef_ * r).astype(np.float64))
            intercepts.append(lr.intercept_.astype(np.float64))
            n_iter.append(lr.n_iter_)
        self.r_ = rs[0] if classes.size == 2 else np.vstack(rs)
        self.coef_ = np.vstack(coefs)
        self.intercept_ = np.concatenate(intercepts)
        self.classes_ = classes
        self.n_iter_ = np.concatenate(n_iter)
        return self

    def decision_function(self, X):
        """Log-odds of ``classes_[1]`` (n,) for two classes; one-vs-rest log-odds (n, n_classes) otherwise."""
        check_is_fitted(self, "coef_")
        try:
            X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32], reset=False)
        except ValueError as exc:
            if "features" in str(exc):
                raise InputError(f"X: expected {self.n_features_in_} features ({exc})") from None
            raise
        if self.coef_.shape[0] == 1:
            return np.asarray(X @ self.coef_.ravel()).ravel() + self.intercept_[0]
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def predict_proba(self, X):
        """(n, n_classes) probabilities; finite and within [0, 1] at any logit."""
        z = self.decision_function(X)
        if z.ndim == 1:
            p = expit(z)
            return np.column_stack([1.0 - p, p])
        p = expit(z)
        total = p.sum(axis=1, keepdims=True)
        return np.divide(p, total, out=np.full_like(p, 1.0 / p.shape[1]), where=total > 0)

    def predict(self, X):
        """The class of each row (``classes_[1]`` where the log-odds are > 0, for two classes)."""
        z = self.decision_function(X)
        if z.ndim == 1:
            return self.classes_[(z > 0).astype(int)]
        return self.classes_[np.argmax(z, axis=1)]
