"""Evaluation plots: precision-recall curves, reliability diagrams, score histograms by source.

What ``cleanclf evaluate --plots DIR`` and the notebooks call. matplotlib is an
optional extra (``pip install 'cleanclf[plots]'``); it is imported inside the
functions, never at ``import cleanclf.plots``, and only through its Agg canvas
(no ``pyplot``), so nothing here changes the backend of a notebook or touches
global figure state, and it works on a headless CI box.

Inputs follow :func:`cleanclf.metrics.evaluate_rows`: ``rows`` are labelled posts
(one 0 / 1 / ``None`` entry per category, optional ``source``), ``predictions``
one entry per row in the ``score_texts`` format (``{"explicit_text": p, ...}``
or ``{"error": ...}``), ``thresholds`` maps a category to its threshold.
Unlike the metrics, the plots leave error entries *out* (an error scored as 0
would distort the calibration curve); the figure titles say how many.

>>> rows = [{"source": "demo", "explicit_text": y, "solicitation": 1 - y} for y in (0, 1) * 20]
>>> preds = [{"explicit_text": 0.1 + 0.8 * y, "solicitation": 0.8 - 0.6 * y} for y in (0, 1) * 20]
>>> import tempfile
>>> paths = save_evaluation_plots(rows, preds, {"explicit_text": 0.5, "solicitation": 0.5},
...                               tempfile.mkdtemp())
>>> sorted(p.name for p in paths)
['pr_curves.png', 'reliability.png', 'scores_by_source_explicit_text.png', 'scores_by_source_solicitation.png']
"""

from __future__ import annotations

import math
import os
from collections import Counter
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .errors import InputError, MissingDependencyError, describe

__all__ = [
    "save_evaluation_plots",
    "pr_curve_figure",
    "reliability_figure",
    "score_histogram_figure",
    "category_scores",
]

_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


# --------------------------------------------------------------------------- data
def _require_matplotlib():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise MissingDependencyError(
            "matplotlib is needed for plots: pip install 'cleanclf[plots]'") from exc
    return Figure, FigureCanvasAgg


def _figure(width: float, height: float):
    """A matplotlib Figure on the Agg canvas (no pyplot, no global backend switch)."""
    Figure, FigureCanvasAgg = _require_matplotlib()
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _is_error(pred: Any) -> bool:
    return pred is None or (isinstance(pred, Mapping) and "error" in pred)


def _check(rows: Sequence[Mapping], predictions: Sequence[Any]) -> tuple[list, list]:
    rows, preds = list(rows), list(predictions)
    if len(rows) != len(preds):
        raise InputError(f"rows and predictions: expected the same length, got {len(rows)} and {len(preds)}")
    for i, p in enumerate(preds):
        if not _is_error(p) and not isinstance(p, Mapping):
            raise InputError(f"predictions[{i}]: expected a dict of scores or an error entry, got {describe(p)}")
    return rows, preds


def category_scores(rows: Sequence[Mapping], predictions: Sequence[Any], category: str):
    """``(y, scores, sources, n_errors)`` for the rows labelled 0/1 for ``category``.

    Rows whose label is ``None`` or whose prediction is an error entry are left
    out; ``n_errors`` counts the labelled rows dropped for an error.

    >>> y, s, src, n_err = category_scores(
    ...     [{"x": 1, "source": "a"}, {"x": None}, {"x": 0}],
    ...     [{"x": 0.9}, {"x": 0.5}, {"error": {"type": "E", "message": "m"}}], "x")
    >>> y.tolist(), s.tolist(), src, n_err
    ([1], [0.9], ['a'], 1)
    """
    rows, preds = _check(rows, predictions)
    ys, ss, srcs, n_err = [], [], [], 0
    for i, (r, p) in enumerate(zip(rows, preds)):
        label = r.get(category)
        if label is None:
            continue
        if label not in (0, 1):
            raise InputError(f"rows[{i}][{category!r}]: expected 0, 1 or None, got {describe(label)}")
        if _is_error(p):
            n_err += 1
            continue
        v = p.get(category)
        if v is None or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise InputError(f"predictions[{i}][{category!r}]: expected a finite score, got {describe(v)}")
        ys.append(int(label))
        ss.append(float(v))
        srcs.append(str(r.get("source") or "unknown"))
    return np.asarray(ys, dtype=int), np.asarray(ss, dtype=float), srcs, n_err


def _categories(rows, predictions, thresholds, categories) -> list[str]:
    if categories is not None:
        cats = list(categories)
        missing = [c for c in cats if c not in thresholds]
        if missing:
            raise InputError(f"thresholds: no threshold for {missing}; got {dict(thresholds)}")
        return cats
    # Default: every thresholded category with at least one labelled row.
    return [c for c in thresholds if any(r.get(c) is not None for r in rows)
            and any(not _is_error(p) and c in p for p in predictions)]


def _check_thresholds(thresholds) -> Mapping[str, float]:
    if not isinstance(thresholds, Mapping):
        raise InputError(f"thresholds: expected a dict category -> threshold, got {describe(thresholds)}")
    return thresholds


# --------------------------------------------------------------------------- PR curves
def _pr_axes(ax, y, s, threshold, label, color, n_err=0):
    from sklearn.metrics import average_precision_score, precision_recall_curve

    if y.size == 0 or y.sum() == 0 or y.sum() == y.size:
        ax.text(0.5, 0.5, f"{label}: needs both classes\n({int(y.sum())} positive of {y.size})",
                ha="center", va="center", transform=ax.transAxes, fontsize=8)
        return
    prec, rec, _ = precision_recall_curve(y, s)
    ap = average_precision_score(y, s)
    ax.step(rec, prec, where="post", color=color, lw=1.5, label=f"{label} (AP {ap:.3f})")
    if threshold is not None:
        pred = s >= threshold
        tp = int((pred & (y == 1)).sum())
        p_at = tp / max(int(pred.sum()), 1)
        r_at = tp / int(y.sum())
        ax.plot([r_at], [p_at], "o", color=color, ms=7, mec="black",
                label=f"t={threshold:.3g}: P {p_at:.3f} R {r_at:.3f}")
    ax.axhline(y.mean(), color=color, lw=0.6, ls=":")  # the no-skill line (positive rate)


def pr_curve_figure(rows: Sequence[Mapping], predictions: Sequence[Any], thresholds: Mapping[str, float], *,
                    categories: Sequence[str] | None = None, label: str = "model",
                    compare: Mapping[str, tuple[Sequence[Any], Mapping[str, float]]] | None = None):
    """One precision-recall panel per category, the operating point at its threshold marked.

    ``compare`` adds other models' curves on the same rows:
    ``{"shipped": (their_predictions, their_thresholds)}``. Returns a matplotlib
    ``Figure`` (save it with ``fig.savefig(path)``).
    """
    thresholds = _check_thresholds(thresholds)
    rows, predictions = _check(rows, predictions)
    cats = _categories(rows, predictions, thresholds, categories)
    runs = [(label, predictions, thresholds)]
    for name, pair in (compare or {}).items():
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise InputError(f"compare[{name!r}]: expected (predictions, thresholds), got {describe(pair)}")
        runs.append((name, _check(rows, pair[0])[1], _check_thresholds(pair[1])))
    fig = _figure(4.6 * max(len(cats), 1), 4.2)
    for k, cat in enumerate(cats):
        ax = fig.add_subplot(1, len(cats), k + 1)
        n_errs = []
        for j, (name, preds, thr) in enumerate(runs):
            y, s, _, n_err = category_scores(rows, preds, cat)
            n_errs.append(n_err)
            _pr_axes(ax, y, s, thr.get(cat), name, _COLORS[j % len(_COLORS)])
        err = f", {max(n_errs)} errors left out" if any(n_errs) else ""
        ax.set_title(f"{cat}  (n={y.size}, {int(y.sum())} positive{err})", fontsize=9)
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_xlim(0, 1.01)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    if not cats:
        fig.text(0.5, 0.5, "no labelled category to plot", ha="center")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- calibration
def _reliability(y, s, n_bins):
    # Equal-width bins, the same binning as metrics.expected_calibration_error,
    # so the picture and the ECE in its title agree.
    idx = np.minimum((s * n_bins).astype(int), n_bins - 1)
    out = []
    for b in range(n_bins):
        m = idx == b
        if m.any():
            out.append((b, float(s[m].mean()), float(y[m].mean()), int(m.sum())))
    return out


def reliability_figure(rows: Sequence[Mapping], predictions: Sequence[Any], *,
                       categories: Sequence[str] | None = None, thresholds: Mapping[str, float] | None = None,
                       n_bins: int = 10):
    """Reliability diagram per category: mean score vs fraction positive per score bin, bin sizes below.

    A calibrated model lies on the diagonal (within the Wilson 95 % interval
    drawn on each bin); the title gives the expected calibration error (:func:`cleanclf.metrics.expected_calibration_error`).
    """
    from .metrics import expected_calibration_error

    if not isinstance(n_bins, int) or isinstance(n_bins, bool) or n_bins < 2:
        raise InputError(f"n_bins: expected an int >= 2, got {describe(n_bins)}")
    rows, predictions = _check(rows, predictions)
    if categories is None:
        cats = _categories(rows, predictions, thresholds or _all_score_keys(predictions), None)
    else:
        cats = list(categories)
    fig = _figure(4.2 * max(len(cats), 1), 5.2)
    gs = fig.add_gridspec(2, max(len(cats), 1), height_ratios=(3, 1), hspace=0.08)
    for k, cat in enumerate(cats):
        y, s, _, n_err = category_scores(rows, predictions, cat)
        ax = fig.add_subplot(gs[0, k])
        axn = fig.add_subplot(gs[1, k], sharex=ax)
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", label="perfectly calibrated")
        if y.size:
            if np.any((s < 0) | (s > 1)):
                raise InputError(f"predictions: {cat!r} scores must be probabilities in [0, 1] for a "
                                 f"reliability diagram, got a range of [{s.min():.3g}, {s.max():.3g}]")
            pts = _reliability(y, s, n_bins)
            xs = [p[1] for p in pts]
            fr = [p[2] for p in pts]
            ns = np.array([p[3] for p in pts])
            # Wilson 95 % intervals: a sparse middle bin (a few rows) is noise, not miscalibration.
            frac = np.array(fr)
            lo, hi = _wilson(frac, ns)
            # clip: at p = 0 or 1 rounding can leave a -1e-17 that matplotlib rejects
            yerr = np.clip([frac - lo, hi - frac], 0, None)
            ax.errorbar(xs, fr, yerr=yerr, fmt="-", color=_COLORS[0], lw=1,
                        elinewidth=0.7, capsize=2, label="fraction positive (95 % interval)")
            ax.scatter(xs, fr, s=12 + 60 * ns / ns.max(), color=_COLORS[0], zorder=3, label="bins (size ~ rows)")
            axn.bar([(p[0] + 0.5) / n_bins for p in pts], ns, width=0.9 / n_bins, color=_COLORS[0], alpha=0.6)
            if ns.max() >= 10 * ns.min():  # counts span decades (the usual case: most rows near 0)
                from matplotlib.ticker import NullFormatter

                axn.set_yscale("log")
                axn.yaxis.set_minor_formatter(NullFormatter())  # minor labels crowd a short panel
            ece = expected_calibration_error(y, s, n_bins=n_bins)
            err = f", {n_err} errors left out" if n_err else ""
            ax.set_title(f"{cat}  ECE {ece:.3f}  (n={y.size}{err})", fontsize=9)
        else:
            ax.set_title(f"{cat}: no labelled rows", fontsize=9)
        if thresholds and thresholds.get(cat) is not None:
            ax.axvline(thresholds[cat], color=_COLORS[1], lw=0.8, ls=":", label=f"threshold {thresholds[cat]:.3g}")
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel("fraction positive")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
        ax.tick_params(labelbottom=False)
        axn.set_xlabel("mean predicted score (bin)")
        axn.set_ylabel("rows")
    return fig


def _wilson(p: np.ndarray, n: np.ndarray, z: float = 1.96):
    """Wilson score interval of a binomial proportion ``p`` observed on ``n`` rows."""
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def _all_score_keys(predictions) -> dict:
    keys: dict[str, None] = {}
    for p in predictions:
        if not _is_error(p):
            for k, v in p.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    keys[k] = None
    return keys


# --------------------------------------------------------------------------- histograms
def score_histogram_figure(rows: Sequence[Mapping], predictions: Sequence[Any], category: str,
                           threshold: float | None = None, *, top_sources: int = 6, bins: int = 40):
    """Score histograms of one category, one panel per source (the ``top_sources`` largest).

    Positives and negatives are drawn separately on a log scale, so a
    source whose negatives crowd the threshold (a hard-negative source) shows
    at a glance. Rows of smaller sources are pooled into one ``other`` panel.
    """
    if not isinstance(top_sources, int) or isinstance(top_sources, bool) or top_sources < 1:
        raise InputError(f"top_sources: expected a positive int, got {describe(top_sources)}")
    y, s, srcs, n_err = category_scores(rows, predictions, category)
    counts = Counter(srcs)
    top = [src for src, _ in counts.most_common(top_sources)]
    panels = top + (["other"] if len(counts) > len(top) else [])
    ncols = min(3, max(len(panels), 1))
    nrows = max(1, math.ceil(len(panels) / ncols))
    fig = _figure(4.0 * ncols, 2.8 * nrows)
    edges = np.linspace(0, 1, bins + 1) if (s.size == 0 or (s.min() >= 0 and s.max() <= 1)) else bins
    src_arr = np.asarray(srcs, dtype=object)
    for k, name in enumerate(panels):
        ax = fig.add_subplot(nrows, ncols, k + 1)
        m = ~np.isin(src_arr, top) if name == "other" else src_arr == name
        for lab, color, text in ((0, _COLORS[0], "label 0"), (1, _COLORS[1], "label 1")):
            sel = s[m & (y == lab)]
            if sel.size:
                ax.hist(sel, bins=edges, color=color, alpha=0.55, label=f"{text} ({sel.size})")
        if threshold is not None:
            ax.axvline(threshold, color="black", lw=0.9, ls="--", label=f"t={threshold:.3g}")
        ax.set_yscale("log")
        ax.set_title(f"{name}  (n={int(m.sum())})", fontsize=9)
        ax.set_xlabel(f"{category} score")
        ax.legend(fontsize=7)
    if not panels:
        fig.text(0.5, 0.5, f"{category}: no labelled rows", ha="center")
    err = f"; {n_err} errors left out" if n_err else ""
    fig.suptitle(f"{category}: scores by source (top {len(top)} by labelled rows{err})", fontsize=10)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- all at once
def save_evaluation_plots(rows: Sequence[Mapping], predictions: Sequence[Any], thresholds: Mapping[str, float],
                          out_dir: str | os.PathLike, *, categories: Sequence[str] | None = None,
                          top_sources: int = 6, n_bins: int = 10) -> list[Path]:
    """Save PR curves, reliability diagrams and per-source score histograms as PNGs; return their paths.

    Writes ``pr_curves.png``, ``reliability.png`` and one
    ``scores_by_source_<category>.png`` per category into ``out_dir``
    (created if missing). ``categories`` defaults to every category of
    ``thresholds`` that has labelled rows and scores, so the same call works for
    text reports and for ``lewd_images``.

    >>> import tempfile
    >>> rows = [{"source": s, "solicitation": y} for s in ("a", "b") for y in (0, 1, 0)]
    >>> preds = [{"solicitation": 0.2 + 0.6 * r["solicitation"]} for r in rows]
    >>> out = save_evaluation_plots(rows, preds, {"solicitation": 0.5}, tempfile.mkdtemp())
    >>> [p.name for p in out]
    ['pr_curves.png', 'reliability.png', 'scores_by_source_solicitation.png']
    """
    _require_matplotlib()  # before creating out_dir: fail without side effects
    thresholds = _check_thresholds(thresholds)
    rows, predictions = _check(rows, predictions)
    cats = _categories(rows, predictions, thresholds, categories)
    if not cats:
        raise InputError("rows: no category of thresholds "
                         f"{sorted(thresholds)} has labelled rows with scores; nothing to plot")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"out_dir: {str(out)!r} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    figures = [("pr_curves.png", pr_curve_figure(rows, predictions, thresholds, categories=cats)),
               ("reliability.png", reliability_figure(rows, predictions, categories=cats, thresholds=thresholds,
                                                      n_bins=n_bins))]
    for cat in cats:
        figures.append((f"scores_by_source_{cat}.png",
                        score_histogram_figure(rows, predictions, cat, thresholds[cat], top_sources=top_sources)))
    paths = []
    for name, fig in figures:
        path = out / name
        fig.savefig(path, format="png")
        paths.append(path)
    return paths
