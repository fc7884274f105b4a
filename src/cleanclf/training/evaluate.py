"""Evaluating a text model on labelled rows, and the compact summary a manifest records."""

from __future__ import annotations

from typing import Sequence


def evaluate_model(model, rows: Sequence[dict], *, thresholds: dict | None = None) -> dict:
    """Metrics of a text model (or a Classifier) on labelled rows (see :mod:`cleanclf.metrics`)."""
    from ..metrics import evaluate_rows

    tm = getattr(model, "text_model", None) or model
    preds = tm.score_texts([r["text"] for r in rows])
    return evaluate_rows(rows, preds, thresholds or tm.thresholds)


def summarize_report(report: dict) -> dict:
    """The compact metrics a manifest / model card records from :func:`evaluate_model`."""
    keep = ("n", "positives", "precision", "recall", "f1", "pr_auc", "ece", "tp", "fp", "fn")
    cats = {c: {k: _round(v) for k, v in r.items() if k in keep} for c, r in report["categories"].items()}
    hn = report.get("hard_negatives", {})
    out = {"categories": cats, "thresholds": report["thresholds"],
           "hard_negatives": {k: v for k, v in hn.items() if k in ("overall", "by_group", "by_source")},
           "errors": report["errors"]["count"]}
    if report.get("by_lang"):
        out["by_lang"] = {lang: {c: {k: _round(v) for k, v in r.items() if k in keep} for c, r in cats_.items()}
                          for lang, cats_ in report["by_lang"].items()}
    return out


def _round(v):
    return round(v, 4) if isinstance(v, float) else v
