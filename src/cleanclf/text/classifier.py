"""``TextClassifier``: the text model as one scikit-learn classifier.

Texts in (a 1-D iterable of ``str``), probabilities out. ``fit`` normalises the
texts, fits the feature union of :func:`cleanclf.text.features.make_text_features`
once, groups near-duplicates (:func:`near_duplicate_groups`) and fits one
:class:`GroupCalibratedClassifier` per output: a linear model on every row plus
a sigmoid (Platt) calibration of its out-of-fold scores from a group K-fold, so
copies of one spam never sit on both sides of a fold. Nothing stores fold
indices: ``clone`` + ``fit`` on other data, ``Pipeline``, ``GridSearchCV`` and
pickling work as for any scikit-learn classifier.

``y`` is 1-D (binary or multiclass: one-vs-rest, probabilities normalised as
``OneVsRestClassifier`` does) or a 2-D 0/1 indicator matrix (multilabel, one
column per category) in which -1 (or None / NaN) means "not labelled for this
column": the row is left out of that column's model.

>>> from cleanclf.text.classifier import TextClassifier
>>> texts = ["同城 包夜 加微信", "上门 包夜 加微信", "包夜 全套 加微信", "楼凤 包夜 私聊", "约 包夜 加微信",
...          "外卖很好吃", "今天天气很好", "空调上门维修", "头疼吃什么药", "酒店干净 服务好"]
>>> y = ["ad"] * 5 + ["ok"] * 5
>>> clf = TextClassifier(char_min_df=1, slang=False).fit(texts, y)
>>> clf.classes_.tolist(), clf.predict(["上门 包夜 加微信", "外卖很好吃"]).tolist()
(['ad', 'ok'], ['ad', 'ok'])
>>> clf.predict_proba(["楼凤 包夜"]).shape
(1, 2)
"""

from __future__ import annotations

import copy
import numbers
import os
import re
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ..categories import TEXT_CATEGORIES
from ..errors import InputError, describe
from .normalize import as_texts, text_input_tags

__all__ = ["TextClassifier", "GroupCalibratedClassifier", "near_duplicate_groups", "near_duplicate_key"]

#: ``C`` when ``TextClassifier(C=None)``: per ``classifier``.
DEFAULT_C = {"nblr": 16.0, "lr": 8.0}
CLASSIFIERS = ("nblr", "lr")
CALIBRATION = "sigmoid on out-of-fold scores, group K-fold by near-duplicate key"


def near_duplicate_key(normalized: str) -> str:
    """The key near-duplicates share: the normalised text without ASCII letters, digits, spaces
    and punctuation, first 24 characters (the text's first 24 characters when nothing is left).
    tg-spam varies mostly its codes and numbers, so its copies collapse onto one key.

    >>> near_duplicate_key("加v abc123 包夜") == near_duplicate_key("加v xyz789 包夜")
    True
    """
    return re.sub(r"[\sa-z0-9\W_]+", "", normalized)[:24] or normalized[:24]


def near_duplicate_groups(normalized: Sequence[str]) -> np.ndarray:
    """Group ids (one per normalised text) so that near-duplicates share a CV fold
    (:func:`near_duplicate_key`).

    >>> near_duplicate_groups(["加微信 abc123 包夜", "加微信 xyz999 包夜", "外卖很好吃"]).tolist()
    [0, 0, 1]
    """
    keys = [near_duplicate_key(t) for t in normalized]
    ids = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    return np.array([ids[k] for k in keys], dtype=np.int64)


# ----------------------------------------------------------------------------- helpers
def _check_int(name: str, value, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise InputError(f"{name}: expected an integer >= {low}, got {describe(value)}")


def _check_positive(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value <= 0:
        raise InputError(f"{name}: expected a finite number > 0, got {describe(value)}")


def _check_bool(name: str, value) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise InputError(f"{name}: expected True or False, got {describe(value)}")


def _decision(est, X) -> np.ndarray:
    """The binary score of a fitted estimator: ``decision_function``, else ``predict_proba[:, 1]``."""
    if hasattr(est, "decision_function"):
        z = np.asarray(est.decision_function(X), dtype=np.float64)
    else:
        z = np.asarray(est.predict_proba(X), dtype=np.float64)[:, 1]
    return z.reshape(z.shape[0], -1)[:, -1] if z.ndim > 1 else z


def _platt(f: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None) -> tuple[float, float]:
    """Platt's sigmoid ``P(y=1) = expit(a * f + b)``, fitted as scikit-learn's sigmoid calibration does.

    Regularised targets ``(N+ + 1) / (N+ + 2)`` and ``1 / (N- + 2)``, L-BFGS-B from
    the prior log-odds, scores over 30 in absolute value rescaled for the search.
    """
    f = np.asarray(f, dtype=np.float64)
    scale = float(np.max(np.abs(f))) if f.size else 1.0
    scale = scale if scale >= 30 else 1.0
    F = f / scale
    w = np.ones_like(F) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    pos = y > 0
    prior1, prior0 = float(w[pos].sum()), float(w[~pos].sum())
    T = np.where(pos, (prior1 + 1.0) / (prior1 + 2.0), 1.0 / (prior0 + 2.0))

    def loss_grad(ab):
        z = ab[0] * F + ab[1]
        loss = float(np.sum(w * (np.logaddexp(0.0, z) - T * z)))
        g = w * (expit(z) - T)
        return loss, np.array([g @ F, g.sum()], dtype=np.float64)

    ab0 = np.array([0.0, np.log((prior1 + 1.0) / (prior0 + 1.0))])
    res = minimize(loss_grad, ab0, method="L-BFGS-B", jac=True,
                   options={"gtol": 1e-6, "ftol": 64 * np.finfo(float).eps})
    return float(res.x[0] / scale), float(res.x[1])


def _fit(est, X, y, sample_weight):
    return est.fit(X, y) if sample_weight is None else est.fit(X, y, sample_weight=sample_weight)


# ----------------------------------------------------------------------------- per-output model
class GroupCalibratedClassifier(ClassifierMixin, BaseEstimator):
    """A binary linear model with a sigmoid calibration fitted on group K-fold out-of-fold scores.

    What ``CalibratedClassifierCV(estimator, method="sigmoid", cv=GroupKFold(cv),
    ensemble=False)`` fitted with ``groups`` does, without storing fold
    indices: ``estimator`` is fitted on every row (``estimator_``, whose
    ``coef_`` the evidence reads), and Platt's sigmoid on the out-of-fold
    scores of ``GroupKFold(n_splits=min(cv, number of groups))``. When there
    are fewer than two groups, or a fold's training part lacks a class (tiny
    data), the sigmoid is fitted on the in-sample scores of ``estimator_``
    instead (``calibration_ == "in-sample"``).

    Parameters
    ----------
    estimator : classifier or None
        A binary classifier with ``decision_function`` (or ``predict_proba``);
        None means :class:`~cleanclf.text.linear.NBLogisticRegression`.
    cv : int
        Folds of the group K-fold (>= 2).

    Fitted attributes: ``estimator_``, ``classes_``, ``platt_coef_`` and
    ``platt_intercept_`` (``P(classes_[1]) = expit(platt_coef_ * score +
    platt_intercept_)``), ``calibration_`` (``"group-kfold"`` or
    ``"in-sample"``), ``n_splits_``, ``oof_proba_`` (the calibrated
    out-of-fold probability of ``classes_[1]`` of each training row, what
    thresholds are picked on).

    >>> import numpy as np
    >>> X = np.array([[1.0, 0], [0, 1], [1, 0.2], [0.1, 1], [1, 0.1], [0.3, 1]] * 3)
    >>> clf = GroupCalibratedClassifier(cv=3).fit(X, [1, 0, 1, 0, 1, 0] * 3, groups=np.arange(18) // 2)
    >>> clf.predict([[1.0, 0.0], [0.0, 1.0]]).tolist(), clf.oof_proba_.shape, clf.calibration_
    ([1, 0], (18,), 'group-kfold')
    """

    def __init__(self, estimator=None, cv: int = 3):
        self.estimator = estimator
        self.cv = cv

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_class = False
        return tags

    def fit(self, X, y, sample_weight=None, groups=None):
        """Fit on ``X`` (n, d), binary ``y`` (n,); ``groups`` (n,) keeps a group in one fold; returns ``self``."""
        from sklearn.model_selection import GroupKFold

        _check_int("cv", self.cv, 2)
        X, y = validate_data(self, X, y, accept_sparse="csr")
        check_classification_targets(y)
        classes = np.unique(y)
        if classes.size < 2:
            raise InputError(f"y: expected two classes (a binary target), got one class: {classes.tolist()}")
        if classes.size > 2:
            raise InputError(f"y: Only binary classification is supported. The type of the target is "
                             f"{type_of_target(y)} (classes {classes.tolist()[:10]}); TextClassifier fits "
                             "one-vs-rest models for more")
        yb = (y == classes[1]).astype(np.int64)
        n = X.shape[0]
        if sample_weight is not None:
            try:
                sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
            except ValueError as exc:
                raise InputError(f"sample_weight: expected {n} finite weights >= 0 ({exc})") from None
        if groups is None:
            groups = np.arange(n)
        else:
            groups = np.asarray(groups)
            if groups.shape != (n,):
                raise InputError(f"groups: expected one group id per row, shape ({n},), got shape {groups.shape}")
        if self.estimator is None:
            from .linear import NBLogisticRegression

            base = NBLogisticRegression()
        else:
            base = self.estimator
        k = min(int(self.cv), int(np.unique(groups).size))
        f = None
        if k >= 2:
            f = np.empty(n, dtype=np.float64)
            for train, test in GroupKFold(n_splits=k).split(X, yb, groups):
                if np.unique(yb[train]).size < 2:
                    f = None  # a fold without one of the classes: no out-of-fold scores
                    break
                sw = None if sample_weight is None else sample_weight[train]
                f[test] = _decision(_fit(clone(base), X[train], yb[train], sw), X[test])
        self.estimator_ = _fit(clone(base), X, yb, sample_weight)
        if f is None:
            f = _decision(self.estimator_, X)
            self.calibration_, self.n_splits_ = "in-sample", 0
        else:
            self.calibration_, self.n_splits_ = "group-kfold", k
        self.platt_coef_, self.platt_intercept_ = _platt(f, yb, sample_weight)
        self.oof_proba_ = expit(self.platt_coef_ * f + self.platt_intercept_)
        self.classes_ = classes
        return self

    def decision_function(self, X) -> np.ndarray:
        """Calibrated log-odds of ``classes_[1]``, shape (n,)."""
        check_is_fitted(self, "estimator_")
        X = validate_data(self, X, accept_sparse="csr", reset=False)
        return self.platt_coef_ * _decision(self.estimator_, X) + self.platt_intercept_

    def predict_proba(self, X) -> np.ndarray:
        """(n, 2) calibrated probabilities of ``classes_[0]`` and ``classes_[1]``."""
        p = expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X) -> np.ndarray:
        """``classes_[1]`` where the calibrated probability is > 0.5, else ``classes_[0]``."""
        z = self.decision_function(X)
        return self.classes_[(z > 0).astype(int)]


# ----------------------------------------------------------------------------- the classifier
class TextClassifier(ClassifierMixin, BaseEstimator):
    """Texts -> calibrated probabilities: cleanclf's text model as a scikit-learn classifier.

    Parameters
    ----------
    classifier : {"nblr", "lr"}
        ``"nblr"``: logistic regression on naive-Bayes-scaled features
        (:class:`~cleanclf.text.linear.NBLogisticRegression`); ``"lr"``: plain
        logistic regression (liblinear).
    C : float or None
        Inverse regularisation; None means 16 for ``"nblr"`` and 8 for ``"lr"``.
    nb_alpha : float
        Smoothing of the naive-Bayes ratios (``"nblr"`` only).
    char_ngram_range, char_min_df, char_max_features :
        The character n-gram tf-idf block (:func:`~cleanclf.text.features.char_ngrams`).
    words : bool
        Add jieba word n-grams.
    lexicons : dict, path or None
        ``{list_name: {"terms": [...], "regexes": [...]}}`` or a directory of
        lexicon files (:func:`~cleanclf.text.lexicon.read_lexicon_dir`).
    slang : bool
        Merge cleanclf's own slang and context lexicon into ``lexicons``.
    cue_columns : bool
        The contact-cue context columns of :class:`~cleanclf.text.features.LexiconFeatures`.
    cv : int
        Folds of the near-duplicate-grouped K-fold the calibration is fitted on.
    max_chars : int
        Texts are read up to this many characters.
    augment : int
        Disguised copies (:func:`cleanclf.text.perturb.perturb`: homoglyphs, separators, pinyin,
        sound-alikes, emoji, leetspeak, ...) added to the training rows: ``augment`` copies of every
        row with a positive label and of a share ``augment_negative_share`` of the others (so that
        disguise characters do not become a shortcut for "positive"). A copy keeps its row's labels,
        weight and near-duplicate group (it never lands in another calibration fold than its
        original); ``oof_proba_`` covers the original rows only. 0 (the default) adds none.
    augment_negative_share : float
        Share of rows without a positive label that get copies (each decided per row).
    random_state : int
        Seed of the copies (each row's copy is seeded by ``random_state``, its copy number and
        its position, so the result does not depend on anything else).

    ``fit(X, y, sample_weight=None)``: ``X`` a 1-D iterable of str; ``y`` 1-D
    (binary / multiclass) or a 2-D 0/1 indicator matrix (multilabel; -1, None or
    NaN = not labelled for that column). Fitted attributes: ``features_`` (the
    fitted feature union, on normalised text), ``estimators_`` (one
    :class:`GroupCalibratedClassifier` per output: the positive class of a
    binary ``y``, each class of a multiclass one, each column of a multilabel
    one), ``classes_`` (column indices for multilabel ``y``), ``multilabel_``,
    ``n_outputs_`` (columns of ``y``: 1 unless multilabel), ``oof_proba_``
    (n, len(estimators_): out-of-fold calibrated probabilities of each output,
    NaN where a row was not labelled), ``label_counts_``, ``lexicon_info_``,
    ``n_features_``.

    >>> texts = ["同城 包夜 加微信", "上门 包夜 加微信", "包夜 全套 加微信", "楼凤 包夜 私聊", "约 包夜 加微信",
    ...          "卖片 资源 网盘", "黄片 资源 私聊", "看片 资源 网址", "色情 资源 打包", "福利 资源 网盘",
    ...          "外卖很好吃", "今天天气很好", "空调上门维修", "头疼吃什么药", "酒店干净 服务好",
    ...          "手机电池耐用", "这本书很好看", "按摩椅质量不错", "电视机维修", "咖啡很香"]
    >>> Y = [[0, 1]] * 5 + [[1, 0]] * 4 + [[1, -1]] + [[0, 0]] * 10   # columns: explicit, solicitation; -1: not labelled
    >>> clf = TextClassifier(char_min_df=1, slang=False).fit(texts, Y)
    >>> clf.classes_.tolist(), clf.predict(["上门 包夜 加微信", "外卖很好吃"]).tolist()
    ([0, 1], [[0, 1], [0, 0]])
    >>> clf.oof_proba_.shape, [c["labelled"] for c in clf.label_counts_]
    ((20, 2), [20, 19])
    >>> tm = clf.to_text_model()                       # a TextModel, as bundles hold
    >>> tm.score_texts(["上门 包夜 加微信"])[0]["labels"]
    ['solicitation']
    """

    def __init__(self, classifier: str = "nblr", C: float | None = None, nb_alpha: float = 1.0,
                 char_ngram_range=(1, 3), char_min_df=2, char_max_features: int | None = 300_000,
                 words: bool = False, lexicons=None, slang: bool = True, cue_columns: bool = False,
                 cv: int = 3, max_chars: int = 10_000, augment: int = 0,
                 augment_negative_share: float = 0.15, random_state: int = 0):
        self.classifier = classifier
        self.C = C
        self.nb_alpha = nb_alpha
        self.char_ngram_range = char_ngram_range
        self.char_min_df = char_min_df
        self.char_max_features = char_max_features
        self.words = words
        self.lexicons = lexicons
        self.slang = slang
        self.cue_columns = cue_columns
        self.cv = cv
        self.max_chars = max_chars
        self.augment = augment
        self.augment_negative_share = augment_negative_share
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = text_input_tags(super().__sklearn_tags__())
        tags.classifier_tags.multi_label = True
        return tags

    # ------------------------------------------------------------- validation
    def _check_params(self) -> None:
        if self.classifier not in CLASSIFIERS:
            raise InputError(f"classifier: expected one of {list(CLASSIFIERS)}, got {describe(self.classifier)}")
        if self.C is not None:
            _check_positive("C", self.C)
        _check_positive("nb_alpha", self.nb_alpha)
        r = self.char_ngram_range
        if (not isinstance(r, (tuple, list)) or len(r) != 2
                or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in r)
                or not 1 <= r[0] <= r[1]):
            raise InputError(f"char_ngram_range: expected (low, high) integers with 1 <= low <= high, got {describe(r)}")
        m = self.char_min_df
        if isinstance(m, bool) or not (
                (isinstance(m, numbers.Integral) and m >= 1) or (isinstance(m, numbers.Real) and 0 < m <= 1)):
            raise InputError(f"char_min_df: expected an integer >= 1 or a fraction in (0, 1], got {describe(m)}")
        if self.char_max_features is not None:
            _check_int("char_max_features", self.char_max_features, 1)
        for name in ("words", "slang", "cue_columns"):
            _check_bool(name, getattr(self, name))
        lex = self.lexicons
        if lex is not None and not isinstance(lex, (dict, str, os.PathLike)):
            raise InputError(f"lexicons: expected a dict of name -> {{'terms': [...]}}, a directory or None, "
                             f"got {describe(lex)}")
        _check_int("cv", self.cv, 2)
        _check_int("max_chars", self.max_chars, 1)
        _check_int("augment", self.augment, 0)
        share = self.augment_negative_share
        if isinstance(share, bool) or not isinstance(share, numbers.Real) or not 0 <= share <= 1:
            raise InputError(f"augment_negative_share: expected a number in [0, 1], got {describe(share)}")
        _check_int("random_state", self.random_state, 0)

    def _lexicons(self) -> tuple[dict | None, dict]:
        """The lexicons the features use (``lexicons`` + the slang lexicon) and what each list is."""
        lex, info = self.lexicons, {}
        if isinstance(lex, (str, os.PathLike)):
            from .lexicon import read_lexicon_dir

            if not Path(lex).is_dir():
                raise InputError(f"lexicons: {os.fspath(lex)!r} is not a directory")
            full = read_lexicon_dir(Path(lex))
            lex = {k: {"terms": v["terms"], "regexes": v["regexes"]} for k, v in full.items()}
            info = {k: {"source": v["source"], "licence": v["licence"], "category": v["category"],
                        "terms": len(v["terms"]), "regexes": len(v["regexes"])} for k, v in full.items()}
        elif isinstance(lex, dict):
            info = {str(k): {"terms": len(v.get("terms", [])) if isinstance(v, dict) else len(v),
                             "regexes": len(v.get("regexes", [])) if isinstance(v, dict) else 0}
                    for k, v in lex.items()}
        if self.slang:
            from .lexicon import read_slang_lexicon

            own = read_slang_lexicon()
            lex = {**(lex or {}), **{k: {"terms": v["terms"], "regexes": v["regexes"], "meanings": v["meanings"]}
                                     for k, v in own.items()}}
            info.update({k: {"source": v["source"], "licence": v["licence"], "category": v["category"],
                             "terms": len(v["terms"]), "regexes": 0} for k, v in own.items()})
        return (lex or None), info

    def _targets(self, y, n: int) -> tuple[np.ndarray, bool]:
        """(Y, multilabel): Y is (n,) labels, or (n, k) floats with NaN where not labelled."""
        if y is None:
            raise InputError(f"y: {type(self).__name__} requires y to be passed, but the target y is None")
        arr = np.asarray(y)
        if arr.ndim == 2 and arr.shape[1] == 1:
            warnings.warn("A column-vector y was passed when a 1d array was expected; y was raveled "
                          "(pass a 2-D y with two or more columns for multilabel)", DataConversionWarning, stacklevel=3)
            arr = arr.ravel()
        if arr.ndim not in (1, 2):
            raise InputError(f"y: expected a 1-D array of labels or a 2-D indicator matrix, got shape {arr.shape}")
        if arr.shape[0] != n:
            raise InputError(f"y: expected {n} labels (one per text), got {arr.shape[0]}")
        if arr.ndim == 1:
            check_classification_targets(arr)
            return arr, False
        try:
            Y = np.array(arr, dtype=np.float64)  # None -> NaN
        except (TypeError, ValueError):
            raise InputError("y: a 2-D y is a multilabel indicator matrix: expected 0, 1 or -1 / None "
                             f"(not labelled), got dtype {arr.dtype}") from None
        Y[Y == -1] = np.nan
        bad = ~np.isnan(Y) & (Y != 0) & (Y != 1)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise InputError(f"y[{i}, {j}]: a 2-D y is a multilabel indicator matrix: expected 0, 1 or -1 / None "
                             f"(not labelled), got {arr[i, j]!r}")
        return Y, True

    def _normalized(self, X) -> list[str]:
        from .normalize import normalize

        texts = as_texts(X)
        m = self.max_chars
        return [normalize(t[:m]) for t in texts]

    # ------------------------------------------------------------- fitting
    def fit(self, X, y, sample_weight=None):
        """Fit on texts ``X`` and labels ``y`` (see the class docstring); returns ``self``."""
        from sklearn.linear_model import LogisticRegression

        from .features import make_text_features
        from .linear import NBLogisticRegression

        self._check_params()
        X = as_texts(X)  # once: a generator can be read only once, and copies need the raw texts
        normalized = self._normalized(X)
        n = len(normalized)
        if n == 0:
            raise InputError("X: expected at least one text, got none")
        Y, multilabel = self._targets(y, n)
        if sample_weight is not None:
            try:
                sample_weight = np.asarray(sample_weight, dtype=np.float64)
            except (TypeError, ValueError):
                sample_weight = np.full(n + 1, np.nan)  # refused below
            if (sample_weight.shape != (n,) or not np.all(np.isfinite(sample_weight))
                    or (sample_weight < 0).any()):
                raise InputError(f"sample_weight: expected {n} finite weights >= 0 (one per text), "
                                 f"got shape {sample_weight.shape}")
        groups = near_duplicate_groups(normalized)
        if self.augment:
            normalized, Y, sample_weight, groups = self._augmented(X, normalized, Y, multilabel, sample_weight,
                                                                   groups)
        if multilabel:
            classes = np.arange(Y.shape[1])
            columns = [(Y[:, j], f"y[:, {j}]") for j in range(Y.shape[1])]
        else:
            classes = np.unique(Y)
            if classes.size < 2:
                raise InputError(f"y: expected at least two classes, got one class: {classes.tolist()}")
            targets = [classes[1]] if classes.size == 2 else list(classes)
            columns = [((Y == c).astype(np.float64), f"y == {c!r}") for c in targets]
        lexicons, info = self._lexicons()
        C = DEFAULT_C[self.classifier] if self.C is None else float(self.C)
        if self.classifier == "nblr":
            base = NBLogisticRegression(C=C, alpha=self.nb_alpha)
        else:
            base = LogisticRegression(C=C, solver="liblinear", max_iter=200)
        features = make_text_features(lexicons, char_ngram_range=tuple(self.char_ngram_range),
                                      char_min_df=self.char_min_df, char_max_features=self.char_max_features,
                                      words=self.words, cue_columns=self.cue_columns)
        Xf = features.fit_transform(normalized).tocsr()
        estimators, counts = [], []
        oof = np.full((len(normalized), len(columns)), np.nan)
        for j, (col, what) in enumerate(columns):
            mask = ~np.isnan(col)
            yj = col[mask].astype(np.int64)
            if np.unique(yj).size < 2:
                raise InputError(f"{what}: needs both 0 and 1 labels among the labelled rows, got "
                                 f"{int((yj == 0).sum())} zeros and {int((yj == 1).sum())} ones "
                                 "(a classifier cannot train when only one class is present)")
            everyone = bool(mask.all())
            est = GroupCalibratedClassifier(base, cv=self.cv).fit(
                Xf if everyone else Xf[mask], yj,
                sample_weight=None if sample_weight is None else sample_weight[mask],
                groups=groups if everyone else groups[mask])
            estimators.append(est)
            oof[mask, j] = est.oof_proba_
            counts.append({"labelled": int(mask.sum()), "positive": int(yj.sum())})
        oof = oof[:n]  # the original rows only (copies follow them)
        self.n_augmented_ = len(normalized) - n
        self.features_ = features
        self.estimators_ = estimators
        self.classes_ = classes
        self.multilabel_ = multilabel
        self.n_outputs_ = Y.shape[1] if multilabel else 1
        self.oof_proba_ = oof
        self.label_counts_ = counts
        self.lexicon_info_ = info
        self.n_features_ = int(Xf.shape[1])
        return self

    def _augmented(self, X, normalized, Y, multilabel, sample_weight, groups):
        """The training rows plus ``augment`` disguised copies of the positive rows and of a share
        of the others (see the class docstring): (normalized, Y, sample_weight, groups)."""
        import random

        from .normalize import normalize
        from .perturb import perturb

        texts, m = X, self.max_chars
        if multilabel:
            positive = (np.nan_to_num(Y, nan=0.0) == 1).any(axis=1)
        else:
            positive = Y != np.unique(Y)[0]
        extra_idx, extra_text = [], []
        for k in range(int(self.augment)):
            for i, text in enumerate(texts):
                rng = random.Random(f"{self.random_state}:{k}:{i}")
                if not positive[i] and rng.random() >= self.augment_negative_share:
                    continue
                copy = normalize(perturb(text[:m], rng)[:m])
                if copy != normalized[i]:
                    extra_idx.append(i)
                    extra_text.append(copy)
        idx = np.asarray(extra_idx, dtype=np.int64)
        normalized = [*normalized, *extra_text]
        Y = np.concatenate([Y, Y[idx]]) if idx.size else Y
        if sample_weight is not None and idx.size:
            sample_weight = np.concatenate([sample_weight, sample_weight[idx]])
        groups = np.concatenate([groups, groups[idx]]) if idx.size else groups
        return normalized, Y, sample_weight, groups

    # ------------------------------------------------------------- scoring
    def _features(self, X):
        from .features import transform_with_details

        check_is_fitted(self, "estimators_")
        normalized = self._normalized(X)
        return transform_with_details(self.features_, normalized)[0].tocsr()

    def decision_function(self, X) -> np.ndarray:
        """Calibrated log-odds: (n,) for a binary ``y``, (n, len(estimators_)) otherwise."""
        Xf = self._features(X)
        Z = np.column_stack([est.decision_function(Xf) for est in self.estimators_])
        return Z[:, 0] if len(self.estimators_) == 1 and not self.multilabel_ else Z

    def predict_proba(self, X) -> np.ndarray:
        """(n, n_classes) probabilities; multilabel: (n, k), column j = P(label j)."""
        Z = self.decision_function(X)
        P = expit(Z[:, None] if Z.ndim == 1 else Z)
        if self.multilabel_:
            return P
        if P.shape[1] == 1:
            return np.column_stack([1.0 - P[:, 0], P[:, 0]])
        total = P.sum(axis=1, keepdims=True)
        return np.divide(P, total, out=np.full_like(P, 1.0 / P.shape[1]), where=total > 0)

    def predict(self, X) -> np.ndarray:
        """Labels; multilabel: a 0/1 matrix (n, k), 1 where P(label j) >= 0.5."""
        Z = self.decision_function(X)
        if self.multilabel_:
            return (Z >= 0).astype(np.int64)
        if Z.ndim == 1:
            return self.classes_[(Z > 0).astype(int)]
        return self.classes_[np.argmax(Z, axis=1)]

    # ------------------------------------------------------------- export
    def to_text_model(self, categories: Sequence[str] = TEXT_CATEGORIES, thresholds: dict | None = None,
                      meta: dict | None = None):
        """The fitted model as a :class:`~cleanclf.text.model.TextModel` (scoring with evidence, bundles).

        Needs a multilabel fit with one column per category: column j becomes
        ``categories[j]``. ``thresholds`` default to 0.5; ``meta`` to the
        parameters, label counts and lexicons of this fit. The out-of-fold
        probabilities stay behind (they are for choosing thresholds, not scoring).
        """
        from .model import TextModel

        check_is_fitted(self, "estimators_")
        categories = tuple(categories)
        if sorted(categories) != sorted(TEXT_CATEGORIES) or len(set(categories)) != len(categories):
            raise InputError(f"categories: expected the text categories {list(TEXT_CATEGORIES)} in the order of "
                             f"y's columns, got {list(categories)}")
        if not self.multilabel_ or len(self.estimators_) != len(categories):
            raise InputError(f"categories: this model was fitted on {'a multilabel' if self.multilabel_ else 'a 1-D'} y "
                             f"with {len(self.estimators_)} output(s); a TextModel needs a 2-D y with one column "
                             f"per category ({len(categories)})")
        if thresholds is None:
            thresholds = {c: 0.5 for c in categories}
        thresholds = dict(thresholds)
        for c in categories:
            v = thresholds.get(c)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0.0 <= v <= 1.0:
                raise InputError(f"thresholds[{c!r}]: expected a number in [0, 1], got {describe(v)}")
        extra = set(thresholds) - set(categories)
        if extra:
            raise InputError(f"thresholds: unknown categories {sorted(extra)}; expected {list(categories)}")
        classifiers = {}
        for c, est in zip(categories, self.estimators_):
            slim = copy.copy(est)
            slim.__dict__.pop("oof_proba_", None)
            classifiers[c] = slim
        if meta is None:
            meta = self.model_meta(categories)
        return TextModel(self.features_, classifiers, {c: float(thresholds[c]) for c in categories},
                         meta=meta, max_chars=self.max_chars)

    def model_meta(self, categories: Sequence[str] = TEXT_CATEGORIES) -> dict:
        """What a bundle records about this fit: parameters, label counts, lexicons, feature count."""
        check_is_fitted(self, "estimators_")
        params = self.get_params()
        lex = params.pop("lexicons")
        if isinstance(lex, os.PathLike):
            lex = os.fspath(lex)
        params["lexicons"] = lex if isinstance(lex, str) else (None if lex is None else sorted(map(str, lex)))
        params["char_ngram_range"] = list(params["char_ngram_range"])
        params["C"] = DEFAULT_C[self.classifier] if self.C is None else self.C
        if self.classifier != "nblr":
            params.pop("nb_alpha")
        params["calibration"] = CALIBRATION
        return {"params": params,
                "label_counts": dict(zip(categories, copy.deepcopy(self.label_counts_))),
                "lexicons": copy.deepcopy(self.lexicon_info_),
                "n_features": self.n_features_,
                "augmented_rows": int(getattr(self, "n_augmented_", 0))}

    def save_bundle(self, directory: str | os.PathLike, *, categories: Sequence[str] = TEXT_CATEGORIES,
                    thresholds: dict | None = None, thresholds_from: str | None = None, meta: dict | None = None,
                    name: str | None = None, version: str | None = None, section: dict | None = None) -> dict:
        """Write this fit as the ``text`` component of the bundle in ``directory``; returns the manifest.

        ``cleanclf.load(path, trust=True)`` reads it back. Other components of an
        existing bundle are kept. ``section`` adds keys to the component's manifest
        entry (training data, metrics, ...).
        """
        from ..models import update_component

        model = self.to_text_model(categories, thresholds, meta)
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        filename = model.save(directory)
        entry = {
            "categories": list(model.thresholds),
            "thresholds": model.thresholds,
            "thresholds_from": thresholds_from or ("given" if thresholds is not None else "fixed 0.5"),
            "model": "char n-grams + lexicon hits + contact features of normalised text; one "
                     + ("logistic regression on naive-Bayes-scaled features (NBSVM)" if self.classifier == "nblr"
                        else "logistic regression") + " per category, sigmoid-calibrated",
            "params": model.meta.get("params", {}),
            "label_counts": model.meta.get("label_counts", {}),
            "lexicons": model.meta.get("lexicons", {}),
            **(section or {}),
            "files": [filename],
        }
        return update_component(directory, "text", entry, name=name, version=version)
