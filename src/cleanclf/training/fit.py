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
from .data import check_trainable, row_weights, training_summary
from .thresholds import choose_thresholds

DEFAULT_C = 8.0          # plain logistic regression (classifier="lr")
DEFAULT_NB_C = 16.0      # NB-weighted logistic regression (classifier="nblr", the default)
#: Disguised copies of each positive row (and of 15 % of the others) trained on (issue 21: 0.6.0 had none).
DEFAULT_AUGMENT = 1
CLASSIFIERS = ("nblr", "lr")
THRESHOLDS_ON = ("dev", "dev+oof")


def fit_text_model(rows: Sequence[dict], *, dev_rows: Sequence[dict] | None = None,
                   lexicons: dict | str | os.PathLike | None = None, C: float | None = None,
                   classifier: str = "nblr", nb_alpha: float = 1.0,
                   char_ngram_range=(1, 3), char_min_df: int = 2, char_max_features: int = 300_000,
                   words: bool = False, cv: int = 3, allow_noncommercial: bool = False,
                   source_weights: dict[str, float] | None = None, slang: bool = True,
                   thresholds_on: str = "dev+oof", max_dev_f1_loss: float = 0.005, cue_columns: bool = False,
                   max_hard_negative_fpr: float = 0.005, augment: int = DEFAULT_AUGMENT,
                   augment_negative_share: float = 0.15, verbose: bool = False):
    """Fit a :class:`~cleanclf.text.classifier.TextClassifier` on labelled rows; return it as the
    :class:`~cleanclf.text.model.TextModel` a bundle holds, with thresholds chosen.

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
    ``augment`` disguised copies (:mod:`cleanclf.text.perturb`) of every positive row and of
    ``augment_negative_share`` of the others are trained on too (``TextClassifier(augment=...)``:
    copies stay in their original's calibration fold; thresholds see the original rows only).

    Thresholds (0.5 without dev rows): per category the best-F1 cut whose
    hard-negative false-positive rate stays within ``max_hard_negative_fpr``.
    With ``thresholds_on="dev"`` F1 is measured on ``dev_rows``; with
    ``"dev+oof"`` (the default) on the dev rows pooled with the out-of-fold
    scores of the training rows (the calibration's near-duplicate-grouped
    folds), so that sources other than the dev split's dominant live-stream
    spam (written comment rows, English ads) have their say in where the cut
    lies, while dev F1 stays within ``max_dev_f1_loss`` of the dev-only cut.
    """
    from ..text.classifier import TextClassifier
    from ..text.model import MAX_TEXT_CHARS

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
    Y = np.array([[-1 if r[c] is None else r[c] for c in TEXT_CATEGORIES] for r in rows], dtype=np.int64)
    for j, cat in enumerate(TEXT_CATEGORIES):
        yc = Y[Y[:, j] >= 0, j]
        if len(set(yc.tolist())) < 2:
            raise InputError(f"rows: category {cat!r} needs both 0 and 1 labels, got {Counter(yc.tolist())}")
    t0 = time.perf_counter()
    est = TextClassifier(classifier=classifier, C=C, nb_alpha=nb_alpha, char_ngram_range=tuple(char_ngram_range),
                         char_min_df=char_min_df, char_max_features=char_max_features, words=words,
                         lexicons=lexicons, slang=slang, cue_columns=cue_columns, cv=cv, max_chars=MAX_TEXT_CHARS,
                         augment=augment, augment_negative_share=augment_negative_share)
    est.fit([r["text"] for r in rows], Y, sample_weight=row_weights(rows, source_weights))
    if verbose:
        print(f"fitted {est.n_features_} features x {len(TEXT_CATEGORIES)} categories on {len(rows)} rows "
              f"(+ {est.n_augmented_} disguised copies) "
              f"in {time.perf_counter() - t0:.1f}s", flush=True)
    oof: dict = {}
    if thresholds_on == "dev+oof" and dev_rows:
        hard = np.array([hard_negative_group(r.get("source")) is not None for r in rows])
        for j, cat in enumerate(TEXT_CATEGORIES):
            m = Y[:, j] >= 0
            # the out-of-fold scores the sigmoid was fitted on, mapped through it
            oof[cat] = (Y[m, j], est.oof_proba_[m, j], hard[m])
    fitted = est.model_meta(TEXT_CATEGORIES)
    params = fitted["params"]
    # a lexicon directory is recorded by what it held (fitted["lexicons"]), not by this machine's path
    params["lexicons"] = ("a directory of lexicon files (see lexicons)" if isinstance(lexicons, (str, os.PathLike))
                          else params["lexicons"])
    if source_weights:
        params["source_weights"] = dict(source_weights)
    meta = {**fitted, "params": params, "training": training_summary(rows),
            "estimator": f"cleanclf.TextClassifier({', '.join(f'{k}={v!r}' for k, v in est.get_params().items() if k != 'lexicons')})"}
    model = est.to_text_model(TEXT_CATEGORIES, meta=meta)
    if dev_rows:
        model.thresholds = choose_thresholds(model, dev_rows, max_hard_negative_fpr=max_hard_negative_fpr,
                                             extra=oof or None, max_dev_f1_loss=max_dev_f1_loss)
        model.meta["thresholds_from"] = (
            f"dev split{' pooled with out-of-fold scores of the training rows' if oof else ''}: best F1 with "
            f"hard-negative FPR <= {max_hard_negative_fpr}"
            + (f", dev F1 within {max_dev_f1_loss} of the best dev-only cut" if oof else ""))
    model.meta["params"]["thresholds_on"] = thresholds_on
    return model
