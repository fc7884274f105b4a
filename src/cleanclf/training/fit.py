"""Fitting the text model: what ``cleanclf train`` and the notebooks call.

>>> from cleanclf.training import fit_text_model
>>> rows = [{"text": t, "explicit_text": e, "solicitation": s} for t, e, s in [
...     ("包夜 上门 加微信", 0, 1), ("楼凤 全套 服务", 0, 1), ("卖片 资源 私聊", 1, 0),
...     ("看片 福利 网址", 1, 0), ("外卖很好吃", 0, 0), ("今天天气很好", 0, 0),
...     ("电视机上门维修", 0, 0), ("头疼吃什么药", 0, 0)] * 3]
>>> model = fit_text_model(rows, lexicons={"demo": {"terms": ["包夜"]}}, cv=2)
>>> model.score_texts(["上门 包夜"])[0]["solicitation"] > model.score_texts(["外卖很好吃"])[0]["solicitation"]
True
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

from ..categories import TEXT_CATEGORIES
from ..errors import InputError
from ..metrics import hard_negative_group
from .data import check_trainable, near_duplicate_groups, row_weights, training_summary
from .thresholds import choose_thresholds

DEFAULT_C = 8.0          # plain logistic regression (classifier="lr")
DEFAULT_NB_C = 16.0      # NB-weighted logistic regression (classifier="nblr", the default)
CLASSIFIERS = ("nblr", "lr")
THRESHOLDS_ON = ("dev", "dev+oof")


def fit_text_model(rows: Sequence[dict], *, dev_rows: Sequence[dict] | None = None,
                   lexicons: dict | str | os.PathLike | None = None, C: float | None = None,
                   classifier: str = "nblr", nb_alpha: float = 1.0,
                   char_ngram_range=(1, 3), char_min_df: int = 2, char_max_features: int = 300_000,
                   words: bool = False, cv: int = 3, allow_noncommercial: bool = False,
                   source_weights: dict[str, float] | None = None, slang: bool = True,
                   thresholds_on: str = "dev+oof", max_dev_f1_loss: float = 0.005, cue_columns: bool = False,
                   max_hard_negative_fpr: float = 0.005, verbose: bool = False):
    """Fit a :class:`~cleanclf.text.model.TextModel` on labelled rows.

    One linear classifier per category on char n-grams (+ optional jieba
    words) + lexicon hits + contact features of the normalised text
    (``classifier="nblr"``: logistic regression on naive-Bayes-scaled features,
    :class:`~cleanclf.text.linear.NBLogisticRegression`; ``"lr"``: plain
    logistic regression; ``C`` defaults to 16 and 8 respectively), with
    sigmoid calibration fitted on out-of-fold scores of a group K-fold that
    keeps near-duplicates in one fold. ``source_weights`` maps a source (or a
    source prefix, as ``exclude_sources``) to a sample weight (default 1), so
    a small source in the register the model must generalise to is not
    drowned by large ones. ``slang`` adds cleanclf's own slang and context
    lexicon (:func:`cleanclf.text.lexicon.read_slang_lexicon`, CC0, ships with
    the package) to the lexicon features; ``cue_columns`` adds the contact-cue
    context columns of :class:`~cleanclf.text.features.LexiconFeatures`.

    Thresholds (0.5 without dev rows): per category the best-F1 cut whose
    hard-negative false-positive rate stays within ``max_hard_negative_fpr``.
    With ``thresholds_on="dev"`` F1 is measured on ``dev_rows``; with
    ``"dev+oof"`` (the default) on the dev rows pooled with the out-of-fold
    scores of the training rows (the calibration's near-duplicate-grouped
    folds), so that sources other than the dev split's dominant live-stream
    spam (written comment rows, English ads) have their say in where the cut
    lies, while dev F1 stays within ``max_dev_f1_loss`` of the dev-only cut.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    from ..text.features import make_text_features
    from ..text.lexicon import read_lexicon_dir
    from ..text.linear import NBLogisticRegression
    from ..text.model import MAX_TEXT_CHARS, TextModel
    from ..text.normalize import normalize

    rows = list(rows)
    if not rows:
        raise InputError("rows: expected labelled posts, got none")
    if thresholds_on not in THRESHOLDS_ON:
        raise InputError(f"thresholds_on: expected one of {list(THRESHOLDS_ON)}, got {thresholds_on!r}")
    if classifier not in CLASSIFIERS:
        raise InputError(f"classifier: expected one of {list(CLASSIFIERS)}, got {classifier!r}")
    if C is None:
        C = DEFAULT_NB_C if classifier == "nblr" else DEFAULT_C
    check_trainable(rows, allow_noncommercial=allow_noncommercial)
    lex_meta: dict = {}
    if isinstance(lexicons, (str, os.PathLike)):
        lex_dir = Path(lexicons)
        full = read_lexicon_dir(lex_dir)
        lexicons = {k: {"terms": v["terms"], "regexes": v["regexes"]} for k, v in full.items()}
        lex_meta = {k: {"source": v["source"], "licence": v["licence"], "category": v["category"],
                        "terms": len(v["terms"]), "regexes": len(v["regexes"])} for k, v in full.items()}
    if slang:
        from ..text.lexicon import read_slang_lexicon

        own = read_slang_lexicon()
        lexicons = {**(lexicons or {}), **{k: {"terms": v["terms"], "regexes": v["regexes"],
                                                "meanings": v["meanings"]} for k, v in own.items()}}
        lex_meta.update({k: {"source": v["source"], "licence": v["licence"], "category": v["category"],
                             "terms": len(v["terms"]), "regexes": 0} for k, v in own.items()})
    t0 = time.perf_counter()
    normalized = [normalize(r["text"][:MAX_TEXT_CHARS]) for r in rows]
    features = make_text_features(lexicons, char_ngram_range=char_ngram_range, char_min_df=char_min_df,
                                  char_max_features=char_max_features, words=words, cue_columns=cue_columns)
    X = features.fit_transform(normalized).tocsr()
    groups = near_duplicate_groups(normalized)
    weights = row_weights(rows, source_weights)
    if verbose:
        print(f"features: {X.shape} in {time.perf_counter() - t0:.1f}s", flush=True)
    classifiers = {}
    counts = {}
    oof: dict = {}
    for cat in TEXT_CATEGORIES:
        y = np.array([r[cat] if r[cat] is not None else -1 for r in rows])
        mask = y >= 0
        yc = y[mask]
        if len(set(yc.tolist())) < 2:
            raise InputError(f"rows: category {cat!r} needs both 0 and 1 labels, got {Counter(yc.tolist())}")
        splits = list(GroupKFold(n_splits=cv).split(np.zeros(mask.sum()), yc, groups[mask]))
        if classifier == "nblr":
            base = NBLogisticRegression(C=C, alpha=nb_alpha)
        else:
            base = LogisticRegression(C=C, solver="liblinear", max_iter=200)
        clf = CalibratedClassifierCV(base, method="sigmoid", cv=splits, ensemble=False)
        if weights is None:
            clf.fit(X[mask], yc)
        else:
            clf.fit(X[mask], yc, sample_weight=weights[mask])
        classifiers[cat] = clf
        counts[cat] = {"labelled": int(mask.sum()), "positive": int(yc.sum())}
        if thresholds_on == "dev+oof" and dev_rows:
            from sklearn.base import clone
            from sklearn.model_selection import cross_val_predict

            # The very out-of-fold scores the sigmoid was fitted on, mapped through it.
            raw = cross_val_predict(clone(base), X[mask], yc, cv=splits, method="decision_function",
                                    params=None if weights is None else {"sample_weight": weights[mask]})
            prob = clf.calibrated_classifiers_[0].calibrators[0].predict(raw)
            src = [rows[i].get("source") for i in np.flatnonzero(mask)]
            oof[cat] = (yc, prob, np.array([hard_negative_group(s) is not None for s in src]))
        if verbose:
            print(f"{cat}: fitted on {mask.sum()} rows ({yc.sum()} positive), {time.perf_counter() - t0:.1f}s",
                  flush=True)
    meta = {
        "params": {"classifier": classifier, "C": C, **({"nb_alpha": nb_alpha} if classifier == "nblr" else {}),
                   "char_ngram_range": list(char_ngram_range), "char_min_df": char_min_df,
                   "char_max_features": char_max_features, "words": words, "cv": cv,
                   **({"source_weights": dict(source_weights)} if source_weights else {}),
                   "slang": slang, "cue_columns": cue_columns,
                   "calibration": "sigmoid on out-of-fold scores, group K-fold by near-duplicate key"},
        "training": training_summary(rows),
        "label_counts": counts,
        "lexicons": lex_meta,
        "n_features": int(X.shape[1]),
    }
    model = TextModel(features, classifiers, {c: 0.5 for c in TEXT_CATEGORIES}, meta=meta)
    if dev_rows:
        model.thresholds = choose_thresholds(model, dev_rows, max_hard_negative_fpr=max_hard_negative_fpr,
                                             extra=oof or None, max_dev_f1_loss=max_dev_f1_loss)
        model.meta["thresholds_from"] = (
            f"dev split{' pooled with out-of-fold scores of the training rows' if oof else ''}: best F1 with "
            f"hard-negative FPR <= {max_hard_negative_fpr}"
            + (f", dev F1 within {max_dev_f1_loss} of the best dev-only cut" if oof else ""))
    model.meta["params"]["thresholds_on"] = thresholds_on
    return model
