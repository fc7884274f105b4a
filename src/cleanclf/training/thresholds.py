"""Choosing per-category thresholds: best F1 under a hard-negative false-positive bound.

>>> import numpy as np
>>> best_threshold(np.array([1, 1, 0, 0]), np.array([0.9, 0.6, 0.4, 0.1]), np.zeros(4, bool), 0.005)
0.6
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..categories import TEXT_CATEGORIES
from ..metrics import hard_negative_group


def _probs(model, rows: Sequence[dict]) -> np.ndarray:
    from ..text.model import MAX_TEXT_CHARS
    from ..text.normalize import normalize

    return model.predict_proba([normalize(r["text"][:MAX_TEXT_CHARS]) for r in rows])


def choose_thresholds(model, rows: Sequence[dict], *, max_hard_negative_fpr: float = 0.005,
                      extra: dict | None = None, max_dev_f1_loss: float = 0.005) -> dict[str, float]:
    """Per category: the best-F1 threshold whose hard-negative FPR stays within the bound.

    ``extra`` pools more scored rows into the choice: ``{category: (y, p, is_hard_negative)}``
    (out-of-fold scores of the training rows, from :func:`fit_text_model`); the hard-negative
    bound then holds on the pooled hard negatives, and the cut must keep F1 on ``rows`` (dev)
    within ``max_dev_f1_loss`` of the best dev-only cut, so the pooled rows can move the cut
    towards other registers but cannot trade away the dev split.
    """
    P = _probs(model, rows)
    hard = np.array([hard_negative_group(r.get("source")) is not None for r in rows])
    out = {}
    for j, cat in enumerate(TEXT_CATEGORIES):
        y = np.array([r[cat] if r[cat] is not None else -1 for r in rows])
        m = y >= 0
        yy, pp, hh = y[m], P[m, j], hard[m]
        if yy.sum() == 0:
            out[cat] = 0.5
            continue
        dev_cut = best_threshold(yy, pp, hh & (yy == 0), max_hard_negative_fpr)
        if not (extra and cat in extra):
            out[cat] = round(dev_cut, 6)
            continue
        ey, ep, eh = extra[cat]
        floor = f1_at(yy, pp, np.array([dev_cut]))[0] - max_dev_f1_loss
        ay, ap, ah = np.concatenate([yy, ey]), np.concatenate([pp, ep]), np.concatenate([hh, eh])
        out[cat] = round(best_threshold(ay, ap, ah & (ay == 0), max_hard_negative_fpr,
                                         allowed=lambda cuts: f1_at(yy, pp, cuts) >= floor - 1e-12), 6)
    return out


def f1_at(y: np.ndarray, p: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """F1 of ``p >= cut`` against ``y`` for each cut (vectorised)."""
    pos = np.sort(p[y == 1])
    neg = np.sort(p[y == 0])
    tp = pos.size - np.searchsorted(pos, cuts, side="left")
    fp = neg.size - np.searchsorted(neg, cuts, side="left")
    return 2 * tp / np.maximum(tp + fp + pos.size, 1)


def best_threshold(y: np.ndarray, p: np.ndarray, hard_neg: np.ndarray, max_fpr: float, allowed=None) -> float:
    """Best-F1 cut among those whose FPR on ``hard_neg`` rows is within ``max_fpr`` (0.5 if none is)."""
    order = np.argsort(-p, kind="stable")
    ps, ys, hs = p[order], y[order], hard_neg[order]
    tp, fp, hn = np.cumsum(ys == 1), np.cumsum(ys == 0), np.cumsum(hs)
    last = np.r_[ps[1:] != ps[:-1], True]  # a cut keeps every row with a score >= it: ties together
    n_pos, n_hard = max(int((y == 1).sum()), 1), int(hard_neg.sum())
    f1 = 2 * tp / (tp + fp + n_pos)
    ok = (hn / n_hard <= max_fpr) if n_hard else np.ones_like(last)
    if allowed is not None:
        ok = ok & allowed(ps)
    cand = np.flatnonzero(last & ok)
    if cand.size == 0:
        return 0.5
    # the lowest of equally good cuts (what choosing on dev has always done)
    best = cand[np.flatnonzero(f1[cand] == f1[cand].max())[-1]]
    return float(ps[best])
