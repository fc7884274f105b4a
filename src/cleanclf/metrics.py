"""Evaluation metrics for cleanclf's text categories: binary reports, thresholds, hard negatives.

Used by ``cleanclf evaluate``, notebooks and the benchmarks. Pure numpy / scikit-learn:
nothing here loads a model.

Conventions (shared by every function below):

* a row is predicted positive when ``score >= threshold`` (the convention of
  :func:`sklearn.metrics.precision_recall_curve`, so thresholds chosen here mean the
  same thing when applied);
* labels of ``None`` mean "not labelled for this category" (DATA.md) and are left out;
* precision / recall / F1 with an empty denominator are ``0.0`` (scikit-learn's
  ``zero_division=0``); a metric that is undefined on the data (PR-AUC without a positive)
  is ``None``, so reports stay valid JSON.

>>> r = binary_report([1, 0, 1, None], [0.9, 0.2, 0.4, 0.7], threshold=0.5)
>>> r["n"], r["tp"], r["fn"], r["recall"]
(3, 1, 1, 0.5)
"""

from __future__ import annotations

import math
import unicodedata
from array import array
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "binary_report",
    "threshold_for_precision",
    "best_f1_threshold",
    "expected_calibration_error",
    "HARD_NEGATIVE_SOURCES",
    "hard_negative_group",
    "hard_negative_report",
    "evaluate_rows",
    "novel_mask",
]

DEFAULT_TEXT_CATEGORIES: tuple[str, ...] = ("explicit_text", "solicitation")

#: Sources whose benign rows look like our positives on the surface (DATA.md): medical
#: questions about sex, legitimate 上门服务 repair ads and 小姐 = Ms. (sms800k), ordinary
#: reviews, non-sexual 加我 / 私聊 ads (qq-group-chat) and euphemism look-alikes
#: (bilibili-comments: 打飞机 the game, 手冲 coffee). A trailing ``*`` is a prefix match.
HARD_NEGATIVE_SOURCES: tuple[str, ...] = (
    "medical-search-queries",
    "sms800k",
    "waimai-reviews",
    "online-shopping-reviews:*",
    "qq-group-chat",
    "bilibili-comments",
)


# --------------------------------------------------------------------------- helpers
def _labelled(y_true: Sequence[Any], scores: Sequence[Any], *, name: str = "scores"):
    """Arrays of the labelled entries (``None`` labels dropped); validates both arguments."""
    y_list = list(y_true)
    s_list = list(scores)
    if len(y_list) != len(s_list):
        raise ValueError(f"y_true and {name}: expected the same length, got {len(y_list)} and {len(s_list)}")
    keep = [i for i, y in enumerate(y_list) if y is not None]
    y = np.array([y_list[i] for i in keep], dtype=float)
    if y.size and not np.isin(y, (0.0, 1.0)).all():
        bad = sorted({v for v in y.tolist() if v not in (0.0, 1.0)})[:5]
        raise ValueError(f"y_true: expected 0, 1 or None, got values {bad}")
    try:
        s = np.array([s_list[i] for i in keep], dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected numbers for every labelled row ({exc})") from None
    if s.size and not np.isfinite(s).all():
        raise ValueError(f"{name}: expected finite numbers, got NaN or inf at labelled positions")
    return y.astype(int), s


def _div(a: float, b: float) -> float:
    return float(a) / float(b) if b else 0.0


def expected_calibration_error(y_true: Sequence[Any], scores: Sequence[Any], n_bins: int = 10) -> float | None:
    """Expected calibration error over ``n_bins`` equal-width bins of [0, 1].

    ECE = sum over bins of (bin size / n) * |mean label - mean score|. A score of exactly
    1.0 falls in the last bin. ``None`` labels are left out; ``None`` if nothing is left.

    >>> expected_calibration_error([1, 0], [0.8, 0.2])   # each bin off by 0.2
    0.2
    >>> expected_calibration_error([1, 1, 0, 0], [0.75, 0.75, 0.75, 0.75])
    0.25
    """
    y, s = _labelled(y_true, scores)
    if y.size == 0:
        return None
    if np.any((s < 0) | (s > 1)):
        raise ValueError("scores: expected probabilities in [0, 1] for the calibration error")
    idx = np.minimum((s * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in np.unique(idx):
        m = idx == b
        ece += m.sum() / y.size * abs(y[m].mean() - s[m].mean())
    return round(float(ece), 12)


# --------------------------------------------------------------------------- reports
def binary_report(y_true: Sequence[Any], scores: Sequence[Any], threshold: float) -> dict:
    """Confusion counts, precision / recall / F1, PR-AUC, ECE and Brier score at ``threshold``.

    Entries of ``y_true`` that are ``None`` are left out (not labelled for this category).
    ``pr_auc`` is average precision (:func:`sklearn.metrics.average_precision_score`),
    ``None`` without both classes; ``ece`` uses 10 equal-width bins.

    >>> r = binary_report([1, 1, 0, 0, None], [0.9, 0.3, 0.6, 0.1, 0.99], threshold=0.5)
    >>> r["n"], r["positives"], r["tp"], r["fp"], r["fn"], r["tn"]
    (4, 2, 1, 1, 1, 1)
    >>> r["precision"], r["recall"], r["f1"]
    (0.5, 0.5, 0.5)
    >>> r["brier"]   # mean of (0.1^2, 0.7^2, 0.6^2, 0.1^2)
    0.2175
    """
    from sklearn.metrics import average_precision_score

    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not math.isfinite(threshold):
        raise ValueError(f"threshold: expected a finite number, got {threshold!r}")
    y, s = _labelled(y_true, scores)
    pred = s >= threshold
    tp = int(np.sum(pred & (y == 1)))
    fp = int(np.sum(pred & (y == 0)))
    fn = int(np.sum(~pred & (y == 1)))
    tn = int(np.sum(~pred & (y == 0)))
    precision = _div(tp, tp + fp)
    recall = _div(tp, tp + fn)
    f1 = _div(2 * precision * recall, precision + recall)
    positives = int(y.sum())
    pr_auc = None
    if 0 < positives < y.size:
        pr_auc = float(average_precision_score(y, s))
    in_unit = bool(y.size) and bool(np.all((s >= 0) & (s <= 1)))
    return {
        "n": int(y.size),
        "positives": positives,
        "threshold": float(threshold),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "pr_auc": pr_auc,
        # Calibration only means something for probabilities; None for raw scores.
        "ece": expected_calibration_error(y, s) if in_unit else None,
        "brier": round(float(np.mean((s - y) ** 2)), 12) if in_unit else None,
    }


def _pr_curve(y_true, scores):
    from sklearn.metrics import precision_recall_curve

    y, s = _labelled(y_true, scores)
    if y.sum() == 0:
        raise ValueError("y_true: expected at least one positive (1) among the labelled rows")
    precision, recall, thresholds = precision_recall_curve(y, s)
    # The last (precision=1, recall=0) point has no threshold; drop it.
    return precision[:-1], recall[:-1], thresholds


def threshold_for_precision(y_true: Sequence[Any], scores: Sequence[Any], target_precision: float) -> float:
    """Lowest threshold (so the highest recall) whose precision reaches ``target_precision``.

    Raises ``ValueError`` naming the best precision reached when no threshold gets there.

    >>> threshold_for_precision([0, 1, 0, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.5], 0.75)
    0.2
    >>> threshold_for_precision([0, 1, 0, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.5], 1.0)
    0.4
    """
    if not (0.0 < float(target_precision) <= 1.0):
        raise ValueError(f"target_precision: expected a number in (0, 1], got {target_precision!r}")
    precision, _, thresholds = _pr_curve(y_true, scores)
    ok = np.flatnonzero(precision >= target_precision - 1e-12)
    if ok.size == 0:
        raise ValueError(f"target_precision: {target_precision} is not reached at any threshold "
                         f"(best precision {precision.max():.4f})")
    return float(thresholds[ok[0]])


def best_f1_threshold(y_true: Sequence[Any], scores: Sequence[Any]) -> float:
    """Threshold maximising F1 on the labelled rows (the highest such threshold on ties).

    >>> best_f1_threshold([0, 1, 0, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.5])
    0.2
    >>> best_f1_threshold([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    0.8
    """
    precision, recall, thresholds = _pr_curve(y_true, scores)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    best = np.flatnonzero(f1 >= f1.max() - 1e-12)
    # Highest threshold among ties: fewer alerts for the same F1.
    return float(thresholds[best[-1]])


# --------------------------------------------------------------------------- hard negatives
def hard_negative_group(source: str | None) -> str | None:
    """The :data:`HARD_NEGATIVE_SOURCES` entry a source belongs to, or ``None``.

    >>> hard_negative_group("online-shopping-reviews:酒店")
    'online-shopping-reviews:*'
    >>> hard_negative_group("sms800k"), hard_negative_group("tg-spam")
    ('sms800k', None)
    """
    if not source:
        return None
    for pattern in HARD_NEGATIVE_SOURCES:
        if pattern.endswith("*"):
            if source.startswith(pattern[:-1]):
                return pattern
        elif source == pattern:
            return pattern
    return None


def _is_error(pred: Any) -> bool:
    return isinstance(pred, Mapping) and "error" in pred


def _fired(pred: Any, categories: Sequence[str], thresholds: Mapping[str, float] | None) -> set[str]:
    """Categories a prediction fires: label lists as given, score dicts via thresholds or "labels"."""
    if pred is None or _is_error(pred):
        return set()
    if isinstance(pred, Mapping):
        if thresholds is not None:
            return {c for c in categories if pred.get(c) is not None and pred[c] >= thresholds[c]}
        if "labels" in pred:
            return set(pred["labels"]) & set(categories)
        raise ValueError("predictions: a score dict needs thresholds (or a 'labels' entry) "
                         f"to decide what fires; got keys {sorted(pred)[:6]}")
    if isinstance(pred, (list, tuple, set, frozenset)):
        return set(pred) & set(categories)
    raise ValueError(f"predictions: expected a dict of scores or a list of labels per row, got {type(pred).__name__}")


def _rate(fp: int, n: int) -> dict:
    return {"n": n, "fp": fp, "fpr": _div(fp, n)}


def hard_negative_report(rows: Sequence[Mapping], score_dicts_or_label_lists: Sequence[Any],
                         categories: Sequence[str] = DEFAULT_TEXT_CATEGORIES,
                         thresholds: Mapping[str, float] | None = None) -> dict:
    """False-positive rate on the hard-negative sources, per source group and overall.

    A hard-negative row is a row from :data:`HARD_NEGATIVE_SOURCES` that is labelled 0 for at
    least one of ``categories`` and 1 for none (so sms800k's escort SMS are not counted). It is a
    false positive if any category fires while the row is labelled 0 for it. Predictions are
    per-row label lists (``["solicitation"]``) or score dicts (``{"solicitation": 0.9, ...}``;
    with ``thresholds`` they are thresholded, otherwise their ``"labels"`` entry is used). Error
    entries ``{"error": ...}`` fire nothing and are counted under ``errors``. False positives are
    listed by row id (index when a row has none), never by text.

    >>> rows = [{"id": "a", "source": "sms800k", "explicit_text": 0, "solicitation": 0},
    ...         {"id": "b", "source": "sms800k", "explicit_text": 0, "solicitation": 0},
    ...         {"id": "c", "source": "tg-spam", "explicit_text": 0, "solicitation": 0}]
    >>> r = hard_negative_report(rows, [["solicitation"], [], ["solicitation"]])
    >>> r["overall"]["n"], r["overall"]["fp"], r["overall"]["fpr"], r["fp_ids"]
    (2, 1, 0.5, ['a'])
    """
    preds = list(score_dicts_or_label_lists)
    if len(rows) != len(preds):
        raise ValueError(f"rows and score_dicts_or_label_lists: expected the same length, got {len(rows)} and {len(preds)}")
    groups: dict[str, dict] = {}
    by_cat = {c: [0, 0] for c in categories}  # [fp, n negatives]
    fp_ids: list = []
    total_n = total_fp = errors = 0
    for i, (row, pred) in enumerate(zip(rows, preds)):
        group = hard_negative_group(row.get("source"))
        if group is None:
            continue
        labels = {c: row.get(c) for c in categories}
        if any(v == 1 for v in labels.values()) or not any(v == 0 for v in labels.values()):
            continue
        g = groups.setdefault(group, {"n": 0, "fp": 0, "errors": 0, "fp_ids": [],
                                      "by_category": {c: {"fp": 0, "n": 0} for c in categories}})
        fired = _fired(pred, categories, thresholds)
        is_fp = False
        for c in categories:
            if labels[c] == 0:
                g["by_category"][c]["n"] += 1
                by_cat[c][1] += 1
                if c in fired:
                    g["by_category"][c]["fp"] += 1
                    by_cat[c][0] += 1
                    is_fp = True
        g["n"] += 1
        total_n += 1
        if _is_error(pred):
            g["errors"] += 1
            errors += 1
        if is_fp:
            rid = row.get("id", i)
            g["fp"] += 1
            g["fp_ids"].append(rid)
            fp_ids.append(rid)
            total_fp += 1
    for g in groups.values():
        g["fpr"] = _div(g["fp"], g["n"])
        for c in categories:
            g["by_category"][c]["fpr"] = _div(g["by_category"][c]["fp"], g["by_category"][c]["n"])
    return {
        "overall": {**_rate(total_fp, total_n), "errors": errors},
        "by_category": {c: _rate(by_cat[c][0], by_cat[c][1]) for c in categories},
        "by_source": {k: groups[k] for k in sorted(groups)},
        "fp_ids": fp_ids,
    }


# --------------------------------------------------------------------------- whole evaluation
def evaluate_rows(rows: Sequence[Mapping], predictions: Sequence[Any], thresholds: Mapping[str, float] | float,
                  categories: Sequence[str] = DEFAULT_TEXT_CATEGORIES) -> dict:
    """Evaluate per-row predictions against labelled rows: per category, per source, hard negatives.

    ``rows`` are labelled posts as in DATA.md (``id``, ``source``, one 1/0/None entry per
    category). ``predictions`` has one entry per row in the ``score_texts`` format
    (``{"explicit_text": p, "solicitation": p, ...}``). An error entry (``{"error": ...}``)
    scores 0 for every category, so it is a miss on a positive row; errors are counted and
    their ids listed. ``thresholds`` maps category to threshold (a number applies to all).

    >>> rows = [{"id": "p", "source": "tg-spam", "explicit_text": 1, "solicitation": None},
    ...         {"id": "n", "source": "sms800k", "explicit_text": 0, "solicitation": 0},
    ...         {"id": "e", "source": "tg-spam", "explicit_text": 1, "solicitation": 0}]
    >>> preds = [{"explicit_text": 0.9, "solicitation": 0.1},
    ...          {"explicit_text": 0.2, "solicitation": 0.7},
    ...          {"error": {"type": "InputTypeError", "message": "not a str"}}]
    >>> r = evaluate_rows(rows, preds, thresholds=0.5)
    >>> r["categories"]["explicit_text"]["recall"], r["errors"]["ids"]
    (0.5, ['e'])
    >>> r["hard_negatives"]["overall"]["fp"], r["by_source"]["tg-spam"]["explicit_text"]["n"]
    (1, 2)
    """
    preds = list(predictions)
    if len(rows) != len(preds):
        raise ValueError(f"rows and predictions: expected the same length, got {len(rows)} and {len(preds)}")
    if isinstance(thresholds, (int, float)) and not isinstance(thresholds, bool):
        thr = {c: float(thresholds) for c in categories}
    else:
        missing = [c for c in categories if c not in thresholds]
        if missing:
            raise ValueError(f"thresholds: no threshold for {missing}; got {dict(thresholds)}")
        thr = {c: float(thresholds[c]) for c in categories}

    error_ids = []
    scores: dict[str, list[float]] = {c: [] for c in categories}
    for i, (row, pred) in enumerate(zip(rows, preds)):
        if _is_error(pred) or pred is None:
            error_ids.append(row.get("id", i))
            for c in categories:
                scores[c].append(0.0)
            continue
        if not isinstance(pred, Mapping):
            raise ValueError(f"predictions[{i}]: expected a dict of scores, got {type(pred).__name__}")
        for c in categories:
            v = pred.get(c)
            if v is None:
                raise ValueError(f"predictions[{i}]: no score for {c!r}; got keys {sorted(pred)[:6]}")
            scores[c].append(float(v))

    out: dict[str, Any] = {
        "n_rows": len(rows),
        "thresholds": thr,
        "errors": {"count": len(error_ids), "ids": error_ids},
        "categories": {},
    }
    for c in categories:
        out["categories"][c] = binary_report([r.get(c) for r in rows], scores[c], thr[c])

    sources = sorted({r.get("source") for r in rows if r.get("source")})
    if sources:
        by_source: dict[str, dict] = {}
        for src in sources:
            idx = [i for i, r in enumerate(rows) if r.get("source") == src]
            entry = {}
            for c in categories:
                ys = [rows[i].get(c) for i in idx]
                if any(y is not None for y in ys):
                    entry[c] = binary_report(ys, [scores[c][i] for i in idx], thr[c])
            by_source[src] = entry
        out["by_source"] = by_source
    langs = sorted({r.get("lang") for r in rows if r.get("lang")})
    if len(langs) > 1:
        out["by_lang"] = {}
        for lang in langs:
            idx = [i for i, r in enumerate(rows) if r.get("lang") == lang]
            out["by_lang"][lang] = {c: binary_report([rows[i].get(c) for i in idx], [scores[c][i] for i in idx], thr[c])
                                    for c in categories if any(rows[i].get(c) is not None for i in idx)}
    # "Any sexual": a row is positive when any category is 1, negative when all are 0
    # (mixed 0/null rows are left out), flagged when any category fires.
    y_any = [1 if any(r.get(c) == 1 for c in categories) else (0 if all(r.get(c) == 0 for c in categories) else None)
             for r in rows]
    fired_any = [any(scores[c][i] >= thr[c] for c in categories) for i in range(len(rows))]
    out["any"] = {k: v for k, v in binary_report(y_any, [1.0 if f else 0.0 for f in fired_any], 0.5).items()
                  if k not in ("threshold", "pr_auc", "ece", "brier")}  # from labels, not scores
    neg = [i for i, y in enumerate(y_any) if y == 0]
    by_neg: dict[str, dict] = {}
    for i in neg:
        e = by_neg.setdefault(str(rows[i].get("source") or "unknown"), {"n": 0, "fp": 0})
        e["n"] += 1
        e["fp"] += int(fired_any[i])
    out["negatives"] = {**_rate(sum(int(fired_any[i]) for i in neg), len(neg)),
                        "by_source": {k: _rate(v["fp"], v["n"]) for k, v in sorted(by_neg.items())}}
    fired_preds = [pred if _is_error(pred) or pred is None else {c: scores[c][i] for c in categories}
                   for i, pred in enumerate(preds)]
    out["hard_negatives"] = hard_negative_report(rows, fired_preds, categories, thresholds=thr)
    return out


# --------------------------------------------------------------------------- near-duplicates
def _shingle_norm(text: str) -> str:
    # Deliberately simple and independent of cleanclf.text.normalize: fold width and case, keep
    # only letters and digits, so "加 微 信!" and "加微信" share shingles.
    t = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in t if ch.isalnum())


def _shingles(text: str, k: int) -> list[int]:
    t = _shingle_norm(text)
    if len(t) <= k:
        return [hash(t)] if t else []
    return [hash(t[i:i + k]) for i in range(len(t) - k + 1)]


def novel_mask(reference_texts: Iterable[str], texts: Sequence[str], k: int = 8) -> list[bool]:
    """For each of ``texts``: True when it shares no ``k``-character shingle with any reference text.

    Texts are folded (NFKC, lower case, letters and digits only) first; a text of at most ``k``
    characters is one shingle, itself. Used to report "novel dev" scores: dev rows that are
    not near-duplicates of a training row.

    >>> novel_mask(["加我微信abc12345看片"], ["加 我 微 信 abc1234", "今天天气很好啊朋友们"], k=8)
    [False, True]
    """
    seen = array("q")
    for t in reference_texts:
        seen.extend(_shingles(t, k))
    ref = np.unique(np.frombuffer(seen, dtype=np.int64)) if len(seen) else np.empty(0, dtype=np.int64)
    out = []
    for t in texts:
        sh = _shingles(t, k)
        if not sh:
            out.append(True)
            continue
        # Binary search in the sorted reference (np.isin would re-sort the whole reference per text).
        q = np.asarray(sh, dtype=np.int64)
        pos = np.minimum(np.searchsorted(ref, q), max(ref.size - 1, 0))
        out.append(not (ref.size and bool((ref[pos] == q).any())))
    return out
