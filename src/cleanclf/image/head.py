"""The scikit-learn head on top of the open_nsfw embedding.

open_nsfw ends in one fully connected layer and a 2-way softmax
``p = softmax(e @ W + b)``. A 2-way softmax is a logistic regression on the
logit difference, ``p_nsfw = sigmoid(e @ (W[:, 1] - W[:, 0]) + (b[1] - b[0]))``,
so :meth:`LogitHead.from_softmax` turns the upstream layer into this head and
the default ``lewd_images`` score *is* open_nsfw's score. Researchers refit it
on their own labelled embeddings with :meth:`LogitHead.fit`.

Stored as plain JSON (never pickle): ``coef``, ``intercept``, ``classes`` and
the preprocessing mode the head was trained with.

>>> import numpy as np
>>> W = np.array([[0.0, 1.0], [0.0, -1.0]]); b = np.array([0.0, 0.5])
>>> head = LogitHead.from_softmax(W, b)
>>> X = np.array([[1.0, 0.0], [0.0, 2.0]])
>>> z = X @ W + b
>>> np.allclose(head.predict_proba(X)[:, 1], np.exp(z[:, 1]) / np.exp(z).sum(1))
True
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def validate_data(est, *args, **kwargs):
        return est._validate_data(*args, **kwargs)

from ..errors import BundleError, InputError, describe
from .decode import MODES

FORMAT = "cleanclf.image.LogitHead/1"


def _expit(z: np.ndarray) -> np.ndarray:
    # numerically stable sigmoid without importing scipy.special at module import
    out = np.empty_like(z, dtype=np.float64)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


class LogitHead(ClassifierMixin, BaseEstimator):
    """Binary logistic head: ``P(positive) = sigmoid(X @ coef_ + intercept_)``.

    Parameters
    ----------
    C, class_weight, max_iter :
        Passed to :class:`sklearn.linear_model.LogisticRegression` by :meth:`fit`.
    preprocessing : {"exact", "fast"}
        The image preprocessing the training embeddings were made with
        (recorded with the head; the default head is ``"exact"``).

    The positive class is ``classes_[1]`` (for 0/1 or False/True labels: 1).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 8)); y = (X[:, 0] > 0).astype(int)
    >>> head = LogitHead(C=10.0).fit(X, y)
    >>> head.score(X, y) > 0.95
    True
    """

    def __init__(self, C=1.0, class_weight=None, max_iter=1000, preprocessing="exact"):
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.preprocessing = preprocessing

    def fit(self, X, y, sample_weight=None):
        """Fit a logistic regression on embeddings ``X`` (n, d) and binary labels ``y``; returns ``self``."""
        from sklearn.linear_model import LogisticRegression

        if self.preprocessing not in MODES:
            raise InputError(f"preprocessing: expected one of {MODES}, got {describe(self.preprocessing)}")
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        classes = np.unique(y)
        if len(classes) < 2:
            raise InputError(f"y: expected two classes (e.g. 0 = benign, 1 = lewd), got one class: {classes.tolist()!r}")
        if len(classes) > 2:
            raise InputError("y: Only binary classification is supported. The type of the target is "
                             f"{type_of_target(y)}: expected two classes (e.g. 0 = benign, 1 = lewd), "
                             f"got {classes.tolist()[:10]!r}")
        lr = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=self.max_iter)
        lr.fit(X, y, sample_weight=sample_weight)
        self.classes_ = lr.classes_
        self.coef_ = lr.coef_.ravel().astype(np.float64)
        self.intercept_ = float(lr.intercept_[0])
        self.n_iter_ = lr.n_iter_
        return self

    def decision_function(self, X) -> np.ndarray:
        """The logit ``X @ coef_ + intercept_`` (float64)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X @ self.coef_ + self.intercept_

    def predict_proba(self, X) -> np.ndarray:
        """``(n, 2)`` probabilities of ``classes_[0]`` and ``classes_[1]``."""
        p = _expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X) -> np.ndarray:
        """``classes_[1]`` where the logit is >= 0, else ``classes_[0]``."""
        z = self.decision_function(X)
        return self.classes_[(z >= 0).astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False  # one logit: binary only
        return tags

    # ------------------------------------------------------------ upstream / JSON
    @classmethod
    def from_softmax(cls, W, b, *, preprocessing: str = "exact") -> "LogitHead":
        """The head equal to ``softmax(X @ W + b)[:, 1]`` for a 2-column layer ``W`` (d, 2), ``b`` (2,)."""
        W = np.asarray(W, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64).ravel()
        if W.ndim != 2 or W.shape[1] != 2 or b.shape != (2,):
            raise InputError(f"W, b: expected shapes (d, 2) and (2,), got {W.shape} and {b.shape}")
        head = cls(preprocessing=preprocessing)
        head.coef_ = W[:, 1] - W[:, 0]
        head.intercept_ = float(b[1] - b[0])
        head.classes_ = np.array([0, 1])
        head.n_features_in_ = W.shape[0]
        return head

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-safe; floats round-trip exactly)."""
        check_is_fitted(self)
        return {
            "format": FORMAT,
            "params": self.get_params(),
            "preprocessing": self.preprocessing,
            "classes": self.classes_.tolist(),
            "n_features_in": int(self.n_features_in_),
            "coef": [float(v) for v in self.coef_],
            "intercept": float(self.intercept_),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LogitHead":
        """Inverse of :meth:`to_dict`; raises ``BundleError`` on a malformed record."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise BundleError(f"head: expected a dict with format {FORMAT!r}, got {describe(data)}")
        try:
            head = cls(**data.get("params", {}))
            head.coef_ = np.asarray(data["coef"], dtype=np.float64)
            head.intercept_ = float(data["intercept"])
            head.classes_ = np.asarray(data["classes"])
            head.n_features_in_ = int(data["n_features_in"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"head: malformed {FORMAT} record ({type(exc).__name__}: {exc})") from exc
        if head.coef_.shape != (head.n_features_in_,) or head.classes_.shape != (2,):
            raise BundleError(f"head: coef has shape {head.coef_.shape} and classes {head.classes_.tolist()}, "
                              f"expected ({head.n_features_in_},) and two classes")
        return head

    def save_json(self, path: str | os.PathLike) -> Path:
        """Write the head as JSON; returns the path."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load_json(cls, path: str | os.PathLike) -> "LogitHead":
        """Read a head written by :meth:`save_json`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BundleError(f"path: cannot read head {os.fspath(path)!r} ({exc})") from exc
        return cls.from_dict(data)


__all__ = ["LogitHead"]
