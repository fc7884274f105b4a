"""Fit, evaluate and export text models: what notebooks and ``cleanclf train`` call.

>>> from cleanclf.train import fit_text_model
>>> rows = [{"text": t, "explicit_text": e, "solicitation": s} for t, e, s in [
...     ("包夜 上门 加微信", 0, 1), ("楼凤 全套 服务", 0, 1), ("卖片 资源 私聊", 1, 0),
...     ("看片 福利 网址", 1, 0), ("外卖很好吃", 0, 0), ("今天天气很好", 0, 0),
...     ("电视机上门维修", 0, 0), ("头疼吃什么药", 0, 0)] * 3]
>>> model = fit_text_model(rows, lexicons={"demo": {"terms": ["包夜"]}}, cv=2)
>>> model.score_texts(["上门 包夜"])[0]["solicitation"] > model.score_texts(["外卖很好吃"])[0]["solicitation"]
True
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from .categories import TEXT_CATEGORIES
from .errors import InputError, describe
from .metrics import hard_negative_group

# Licences a shipped model must never train on. DATA.md marks none of the
# shared sources this way today; the guard keeps a future one out.
NONCOMMERCIAL = re.compile(r"non-?commercial|\bnc\b|cc by-nc", re.IGNORECASE)
DEFAULT_C = 8.0          # plain logistic regression (classifier="lr")
DEFAULT_NB_C = 16.0      # NB-weighted logistic regression (classifier="nblr", the default)
#: Sources that are evaluation-only whatever their rows' licence field says (DATA.md: external_dev).
EVALUATION_ONLY_SOURCES = ("ChineseHarm-bench",)
CLASSIFIERS = ("nblr", "lr")
THRESHOLDS_ON = ("dev", "dev+oof")
TEXT_CARD = "CARD-text.md"
#: Everything after this line of a text model card is kept when the component is rebuilt
#: (benchmark figures and weaknesses, written by people; the rest is rendered).
CARD_NOTES_MARKER = "<!-- notes below are kept when `cleanclf train` rebuilds this card -->"


def shared_data_dir() -> Path | None:
    """``$CLEANCLF_DATA`` or ``../shared/data`` beside the repository, if present."""
    env = os.environ.get("CLEANCLF_DATA")
    cand = Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "data"
    return cand if cand.is_dir() else None


# ----------------------------------------------------------------------------- reading
def read_posts(paths: str | os.PathLike | Sequence[str | os.PathLike], *, exclude_sources: Iterable[str] = (),
               exclude_licences: Iterable[str] = ()) -> list[dict]:
    """Read labelled posts from JSONL(.gz) or CSV files.

    Each row needs ``text``; per-category labels are 0, 1 or null (null = not
    labelled for that category, left out of its fit and metrics). ``source``
    and ``license`` are kept when present. ``exclude_sources`` drops rows
    whose source equals or starts with a given prefix ("literature" drops
    "literature:jpm"); ``exclude_licences`` drops rows whose licence contains
    a given substring, case-insensitive ("research", "none stated"), so a user
    can retrain without any source they cannot accept.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    ex_src = tuple(exclude_sources)
    ex_lic = tuple(s.lower() for s in exclude_licences)
    rows: list[dict] = []
    for path in paths:
        for i, row in enumerate(_iter_rows(Path(path)), start=1):
            if not isinstance(row.get("text"), str):
                raise InputError(f"{path}: row {i}: 'text' must be a string, got {describe(row.get('text'))}")
            for c in TEXT_CATEGORIES:
                row[c] = _label(row.get(c), f"{path}: row {i}: {c!r}")
            src = str(row.get("source") or "")
            if any(src == s or src.startswith(s + ":") for s in ex_src):
                continue
            lic = str(row.get("license") or row.get("licence") or "").lower()
            if any(s in lic for s in ex_lic):
                continue
            rows.append(row)
    return rows


def _iter_rows(path: Path):
    if not path.is_file():
        raise InputError(f"paths: {str(path)!r} is not a file")
    name = path.name.lower()
    opener = gzip.open if name.endswith(".gz") else open
    if name.endswith((".jsonl", ".jsonl.gz", ".json")):
        with opener(path, "rt", encoding="utf-8") as fh:
            for n, line in enumerate(fh, start=1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise InputError(f"{path}: line {n}: not valid JSON ({exc.msg})") from exc
    elif name.endswith((".csv", ".csv.gz")):
        with opener(path, "rt", encoding="utf-8", newline="") as fh:
            yield from csv.DictReader(fh)
    else:
        raise InputError(f"paths: {str(path)!r}: expected a .jsonl, .jsonl.gz or .csv file")


def _label(v: Any, where: str):
    if v is None or v == "" or (isinstance(v, str) and v.lower() in ("null", "none", "nan")):
        return None
    if v in (0, 1, "0", "1", True, False):
        return int(v)
    raise InputError(f"{where}: expected 0, 1 or null, got {describe(v)}")


def repo_synthetic_paths() -> list[Path]:
    """The repository's own training rows, ``training/*.jsonl`` (CC0 rows written for cleanclf), if this is a checkout."""
    folder = Path(__file__).resolve().parents[2] / "training"
    return sorted(folder.glob("*.jsonl")) if folder.is_dir() else []


def repo_synthetic_path() -> Path | None:
    """``training/synthetic.jsonl`` of the repository (the first file of :func:`repo_synthetic_paths`), if present."""
    path = Path(__file__).resolve().parents[2] / "training" / "synthetic.jsonl"
    return path if path.is_file() else None


def default_training_rows(data_dir: Path | None = None, *, synthetic: bool = True,
                          exclude_sources: Iterable[str] = (), exclude_licences: Iterable[str] = ()):
    """(train_rows, dev_rows, lexicon_dir): the shared data's train and dev splits, plus, with
    ``synthetic``, the shared ``text/synthetic.jsonl`` and the repository's own
    ``training/*.jsonl`` (all CC0; training only, never evaluation data; drop
    one with ``exclude_sources=["synthetic-comments"]`` or ``["cleanclf-synthetic"]``).
    """
    data_dir = Path(data_dir) if data_dir else shared_data_dir()
    if data_dir is None or not (data_dir / "text" / "train.jsonl").is_file():
        raise InputError(f"data_dir: no text/train.jsonl under {data_dir!r}; set CLEANCLF_DATA or pass --data")
    paths = [data_dir / "text" / "train.jsonl"]
    if synthetic and (data_dir / "text" / "synthetic.jsonl").is_file():
        paths.append(data_dir / "text" / "synthetic.jsonl")
    if synthetic:
        paths.extend(repo_synthetic_paths())
    kw = dict(exclude_sources=exclude_sources, exclude_licences=exclude_licences)
    train = read_posts(paths, **kw)
    dev = read_posts(data_dir / "text" / "dev.jsonl", **kw)
    return train, dev, data_dir / "lexicons"


# ----------------------------------------------------------------------------- fitting
def near_duplicate_groups(normalized: Sequence[str]) -> np.ndarray:
    """Group ids so that near-duplicates (same spam, other digits / codes) share a CV fold.

    Key: the normalised text without ASCII letters, digits, spaces and
    punctuation, first 24 characters. tg-spam varies mostly its codes and
    numbers, so its copies collapse onto one key.
    """
    keys = [re.sub(r"[\sa-z0-9\W_]+", "", t)[:24] or t[:24] for t in normalized]
    ids = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    return np.array([ids[k] for k in keys])


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

    from .text.features import make_text_features
    from .text.lexicon import read_lexicon_dir
    from .text.linear import NBLogisticRegression
    from .text.model import MAX_TEXT_CHARS, TextModel
    from .text.normalize import normalize

    rows = list(rows)
    if not rows:
        raise InputError("rows: expected labelled posts, got none")
    if thresholds_on not in THRESHOLDS_ON:
        raise InputError(f"thresholds_on: expected one of {list(THRESHOLDS_ON)}, got {thresholds_on!r}")
    if classifier not in CLASSIFIERS:
        raise InputError(f"classifier: expected one of {list(CLASSIFIERS)}, got {classifier!r}")
    if C is None:
        C = DEFAULT_NB_C if classifier == "nblr" else DEFAULT_C
    held = [r for r in rows if str(r.get("source") or "").startswith(EVALUATION_ONLY_SOURCES)]
    if held:
        raise InputError(f"rows: {len(held)} rows come from an evaluation-only source ({held[0].get('source')!r}; "
                         "external_dev.jsonl is for measuring, never for training)")
    if not allow_noncommercial:
        bad = [r for r in rows if NONCOMMERCIAL.search(str(r.get("license") or ""))]
        if bad:
            raise InputError(f"rows: {len(bad)} rows carry a non-commercial licence "
                             f"(e.g. {bad[0].get('license')!r}); drop them or pass allow_noncommercial=True")
    lex_meta: dict = {}
    if isinstance(lexicons, (str, os.PathLike)):
        lex_dir = Path(lexicons)
        full = read_lexicon_dir(lex_dir)
        lexicons = {k: {"terms": v["terms"], "regexes": v["regexes"]} for k, v in full.items()}
        lex_meta = {k: {"source": v["source"], "licence": v["licence"], "category": v["category"],
                        "terms": len(v["terms"]), "regexes": len(v["regexes"])} for k, v in full.items()}
    if slang:
        from .text.lexicon import read_slang_lexicon

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


def row_weights(rows: Sequence[dict], source_weights: dict[str, float] | None) -> np.ndarray | None:
    """Per-row sample weights from ``{source or source prefix: weight}`` (None when not weighted).

    >>> row_weights([{"source": "a:x"}, {"source": "b"}], {"a": 3.0}).tolist()
    [3.0, 1.0]
    """
    if not source_weights:
        return None
    for k, v in source_weights.items():
        if not (isinstance(v, (int, float)) and np.isfinite(v) and v > 0):
            raise InputError(f"source_weights[{k!r}]: expected a number > 0, got {v!r}")
    out = np.ones(len(rows))
    for i, r in enumerate(rows):
        src = str(r.get("source") or "")
        for k, v in source_weights.items():
            if src == k or src.startswith(k + ":"):
                out[i] = float(v)
                break
    return out


def training_summary(rows: Sequence[dict]) -> list[dict]:
    """Per source: rows, positives per category, licence (what the model card lists)."""
    by: dict[str, dict] = {}
    for r in rows:
        src = str(r.get("source") or "unknown").split(":")[0]
        d = by.setdefault(src, {"source": src, "rows": 0, "licence": str(r.get("license") or "unknown"),
                                **{c: 0 for c in TEXT_CATEGORIES}})
        d["rows"] += 1
        for c in TEXT_CATEGORIES:
            d[c] += int(r.get(c) == 1)
    return sorted(by.values(), key=lambda d: -d["rows"])


def _probs(model, rows: Sequence[dict]) -> np.ndarray:
    from .text.model import MAX_TEXT_CHARS
    from .text.normalize import normalize

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
        dev_cut = _best_threshold(yy, pp, hh & (yy == 0), max_hard_negative_fpr)
        if not (extra and cat in extra):
            out[cat] = round(dev_cut, 6)
            continue
        ey, ep, eh = extra[cat]
        floor = _f1_at(yy, pp, np.array([dev_cut]))[0] - max_dev_f1_loss
        ay, ap, ah = np.concatenate([yy, ey]), np.concatenate([pp, ep]), np.concatenate([hh, eh])
        out[cat] = round(_best_threshold(ay, ap, ah & (ay == 0), max_hard_negative_fpr,
                                         allowed=lambda cuts: _f1_at(yy, pp, cuts) >= floor - 1e-12), 6)
    return out


def _f1_at(y: np.ndarray, p: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """F1 of ``p >= cut`` against ``y`` for each cut (vectorised)."""
    pos = np.sort(p[y == 1])
    neg = np.sort(p[y == 0])
    tp = pos.size - np.searchsorted(pos, cuts, side="left")
    fp = neg.size - np.searchsorted(neg, cuts, side="left")
    return 2 * tp / np.maximum(tp + fp + pos.size, 1)


def _best_threshold(y: np.ndarray, p: np.ndarray, hard_neg: np.ndarray, max_fpr: float, allowed=None) -> float:
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


# ----------------------------------------------------------------------------- evaluating
def evaluate_model(model, rows: Sequence[dict], *, thresholds: dict | None = None) -> dict:
    """Metrics of a text model (or a Classifier) on labelled rows (see :mod:`cleanclf.metrics`)."""
    from .metrics import evaluate_rows

    tm = getattr(model, "text_model", None) or model
    preds = tm.score_texts([r["text"] for r in rows])
    return evaluate_rows(rows, preds, thresholds or tm.thresholds)


def fingerprint(rows: Sequence[dict]) -> str:
    h = hashlib.sha256()
    for r in rows:
        h.update(r["text"].encode("utf-8", "replace"))
        h.update(b"\x00")
    return h.hexdigest()[:16]




# ----------------------------------------------------------------------------- bundles
def summarize_report(report: dict) -> dict:
    """The compact metrics a manifest / model card records from :func:`evaluate_model`."""
    keep = ("n", "positives", "precision", "recall", "f1", "pr_auc", "ece", "tp", "fp", "fn")
    cats = {c: {k: _round(v) for k, v in r.items() if k in keep} for c, r in report["categories"].items()}
    hn = report.get("hard_negatives", {})
    return {"categories": cats, "thresholds": report["thresholds"],
            "hard_negatives": {k: v for k, v in hn.items() if k in ("overall", "by_group", "by_source")},
            "errors": report["errors"]["count"]}


def _round(v):
    return round(v, 4) if isinstance(v, float) else v


def build_text_component(out_dir: str | os.PathLike, *, data_dir: str | os.PathLike | None = None,
                         train_files: Sequence[str] = (), dev_files: Sequence[str] = (),
                         lexicon_dir: str | os.PathLike | None = None, synthetic: bool = True,
                         exclude_sources: Iterable[str] = (), exclude_licences: Iterable[str] = (),
                         name: str | None = None, version: str | None = None, verbose: bool = True,
                         **fit_kw) -> dict:
    """Fit the text model and write it as the ``text`` component of a bundle; returns the manifest.

    With ``data_dir`` (default: the shared data) it trains on
    ``text/train.jsonl`` (+ ``synthetic.jsonl``) and chooses thresholds and
    reports metrics on ``text/dev.jsonl``; ``train_files`` / ``dev_files``
    replace those with your own labelled files.
    """
    from .models import update_component

    kw = dict(exclude_sources=tuple(exclude_sources), exclude_licences=tuple(exclude_licences))
    if train_files:
        train = read_posts(list(train_files), **kw)
        dev = read_posts(list(dev_files), **kw) if dev_files else []
        shared = shared_data_dir()
        lex = Path(lexicon_dir) if lexicon_dir else (shared / "lexicons" if shared else None)
        if lex is None and verbose:
            print("warning: no --lexicons and no shared data: training without lexicon features", flush=True)
    else:
        train, dev, lex = default_training_rows(Path(data_dir) if data_dir else None, synthetic=synthetic, **kw)
        lex = Path(lexicon_dir) if lexicon_dir else lex
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = fit_text_model(train, dev_rows=dev or None, lexicons=lex if lex and lex.is_dir() else None,
                           verbose=verbose, **fit_kw)
    metrics = {}
    if dev:
        metrics["dev"] = summarize_report(evaluate_model(model, dev))
    filename = model.save(out_dir)
    section = {
        "files": [filename],
        "categories": list(TEXT_CATEGORIES),
        "thresholds": model.thresholds,
        "thresholds_from": model.meta.get("thresholds_from", "fixed 0.5 (no dev rows)"),
        "model": "char n-grams + lexicon hits + contact features of normalised text; one "
                 + ("logistic regression on naive-Bayes-scaled features (NBSVM)"
                    if model.meta["params"].get("classifier") == "nblr" else "logistic regression")
                 + " per category, sigmoid-calibrated",
        "params": model.meta["params"],
        "training_data": model.meta["training"],
        "training_fingerprint": fingerprint(train),
        "excluded": {"sources": list(kw["exclude_sources"]), "licences": list(kw["exclude_licences"])},
        "licences": sorted({d["licence"] for d in model.meta["training"]}),
        "lexicons": model.meta["lexicons"],
        "label_counts": model.meta["label_counts"],
        "metrics": metrics,
        "rebuild": "cleanclf train --out models/default  (reads ../shared/data or $CLEANCLF_DATA)",
    }
    manifest = update_component(out_dir, "text", section, name=name, version=version)
    # The model card is part of the component (hashed like the model): rendered from the
    # manifest, with the hand-kept notes below CARD_NOTES_MARKER of an existing card carried over.
    card = out_dir / TEXT_CARD
    notes = ""
    if card.is_file():
        old = card.read_text(encoding="utf-8")
        if CARD_NOTES_MARKER in old:
            notes = CARD_NOTES_MARKER + old.split(CARD_NOTES_MARKER, 1)[1]
    card.write_text(text_model_card(manifest, notes), encoding="utf-8")
    section["files"] = [filename, TEXT_CARD]
    return update_component(out_dir, "text", section, name=name, version=version)


# ----------------------------------------------------------------------------- CLI
def add_cli(subparsers) -> None:
    """Register ``cleanclf train`` and ``cleanclf evaluate`` (called by :mod:`cleanclf.cli`)."""
    t = subparsers.add_parser("train", help="fit the text model and write it into a bundle directory")
    t.add_argument("--out", required=True, help="bundle directory to write (e.g. models/default or my-model)")
    t.add_argument("--data", default=None, help="shared data directory (default: ../shared/data or $CLEANCLF_DATA)")
    t.add_argument("--train", nargs="+", default=[], metavar="FILE",
                   help="your own labelled JSONL/CSV files instead of the shared data")
    t.add_argument("--dev", nargs="+", default=[], metavar="FILE", help="labelled files to pick thresholds on")
    t.add_argument("--lexicons", default=None,
                   help="directory of lexicon .txt files (default: the shared data's lexicons/ when present)")
    t.add_argument("--no-synthetic", action="store_true", help="leave out text/synthetic.jsonl and the repository's training/*.jsonl")
    t.add_argument("--exclude-source", action="append", default=[], metavar="PREFIX",
                   help="drop rows whose source starts with PREFIX (repeatable)")
    t.add_argument("--exclude-licence", action="append", default=[], metavar="TEXT",
                   help="drop rows whose licence contains TEXT, e.g. 'research' or 'none stated' (repeatable)")
    t.add_argument("--classifier", choices=CLASSIFIERS, default="nblr",
                   help="nblr: logistic regression on naive-Bayes-scaled features (default); lr: plain")
    t.add_argument("--C", type=float, default=None,
                   help=f"inverse regularisation (default {DEFAULT_NB_C:g} for nblr, {DEFAULT_C:g} for lr)")
    t.add_argument("--words", action="store_true", help="add jieba word n-grams (slower scoring)")
    t.add_argument("--no-slang", action="store_true", help="leave out cleanclf's own slang and context lexicon")
    t.add_argument("--thresholds-on", choices=THRESHOLDS_ON, default=None,
                   help="dev: best F1 on the dev rows; dev+oof: dev pooled with out-of-fold training scores "
                        "(default: fit_text_model's)")
    t.add_argument("--source-weight", action="append", default=[], metavar="SOURCE=W",
                   help="sample weight of a source's rows (repeatable; default 1)")
    t.add_argument("--name", default=None)
    t.add_argument("--version", default=None)
    t.set_defaults(func=_cli_train)

    e = subparsers.add_parser("evaluate", help="metrics of a bundle on labelled posts")
    e.add_argument("files", nargs="+", help="labelled JSONL/CSV files (text + per-category 0/1/null labels)")
    e.add_argument("--model", default="default", metavar="NAME|PATH")
    e.add_argument("--trust-model", action="store_true")
    e.add_argument("--json", default=None, metavar="OUT", help="write the full report as JSON")
    e.add_argument("--plots", default=None, metavar="DIR", help="save PR curves, reliability diagrams, histograms")
    e.set_defaults(func=_cli_evaluate)


def _cli_train(args) -> int:
    extra: dict = {}
    if args.thresholds_on:
        extra["thresholds_on"] = args.thresholds_on
    if args.source_weight:
        weights = {}
        for item in args.source_weight:
            src, sep, w = item.partition("=")
            try:
                weights[src] = float(w)
            except ValueError:
                raise InputError(f"--source-weight: expected SOURCE=NUMBER, got {item!r}") from None
            if not sep or not src:
                raise InputError(f"--source-weight: expected SOURCE=NUMBER, got {item!r}")
        extra["source_weights"] = weights
    man = build_text_component(
        args.out, data_dir=args.data, train_files=args.train, dev_files=args.dev, lexicon_dir=args.lexicons,
        synthetic=not args.no_synthetic, exclude_sources=args.exclude_source,
        exclude_licences=args.exclude_licence, name=args.name, version=args.version, C=args.C, classifier=args.classifier,
        words=args.words, slang=not args.no_slang, **extra)
    dev = man["components"]["text"]["metrics"].get("dev")
    if dev:
        for c, r in dev["categories"].items():
            print(f"{c:15s} P={r['precision']:.3f} R={r['recall']:.3f} F1={r['f1']:.3f}")
    print(f"wrote {args.out} ({man['name']}@{man['version']})")
    return 0


def _cli_evaluate(args) -> int:
    from . import load

    name = Path(args.model) if ("/" in args.model or os.sep in args.model) else args.model
    clf = load(name, trust=args.trust_model)
    rows = read_posts(args.files)
    report = evaluate_model(clf, rows)
    for c, r in report["categories"].items():
        print(f"{c:15s} n={r['n']:6d} P={r['precision']:.3f} R={r['recall']:.3f} F1={r['f1']:.3f} "
              f"PR-AUC={r['pr_auc'] if r['pr_auc'] is None else round(r['pr_auc'], 3)} "
              f"ECE={r['ece'] if r['ece'] is None else round(r['ece'], 3)}")
    hn = report.get("hard_negatives", {}).get("overall")
    if hn:
        print(f"hard negatives: {hn}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.plots:
        from .plots import save_evaluation_plots

        preds = clf.score_texts([r["text"] for r in rows])
        for p in save_evaluation_plots(rows, preds, clf.thresholds, args.plots):
            print(f"plot: {p}")
    return 0


def text_model_card(manifest: dict, extra: str = "") -> str:
    """Render the text component's model card (markdown) from a bundle manifest.

    ``extra`` is appended verbatim (robustness / leave-one-source-out figures
    measured by ``benchmarks/bench_text_quality.py``).
    """
    sec = manifest["components"]["text"]
    lines = [f"# Text model card: `explicit_text`, `solicitation` ({manifest['name']}@{manifest['version']})", "",
             "## What it is", "", f"- {sec['model']}.",
             f"- Parameters: `{json.dumps(sec['params'], ensure_ascii=False)}`.",
             f"- Thresholds: `{json.dumps(sec['thresholds'])}` ({sec['thresholds_from']}).",
             f"- Rebuild: `{sec['rebuild']}`; training-data fingerprint `{sec['training_fingerprint']}`.", "",
             "## Training data", "", "| source | rows | explicit_text = 1 | solicitation = 1 | licence |",
             "|---|---|---|---|---|"]
    for d in sec["training_data"]:
        lines.append(f"| {d['source']} | {d['rows']} | {d['explicit_text']} | {d['solicitation']} | {d['licence']} |")
    lines += ["", "No source marked non-commercial trained this model (the trainer refuses such rows). Sources under "
              "research terms (CBLUE, NUS SMS, UCI) or with no stated licence (sms800k, backpage, reviews, news "
              "titles) did; retrain without any of them with `cleanclf train --exclude-licence research` / "
              "`--exclude-source NAME`.", "", "Lexicons (features, stored in the bundle):", ""]
    for name, m in sec.get("lexicons", {}).items():
        lines.append(f"- `{name}`: {m['terms']} terms, {m['regexes']} regexes; {m['source']}; licence {m['licence']}")
    dev = sec.get("metrics", {}).get("dev")
    if dev:
        lines += ["", "## Metrics on the dev split (thresholds above)", "",
                  "| category | n | positives | precision | recall | F1 | PR-AUC | ECE |", "|---|---|---|---|---|---|---|---|"]
        for c, r in dev["categories"].items():
            lines.append(f"| {c} | {r['n']} | {r['positives']} | {r['precision']:.3f} | {r['recall']:.3f} | "
                         f"{r['f1']:.3f} | {r['pr_auc']:.3f} | {r['ece']:.4f} |")
        hn = dev.get("hard_negatives", {})
        if hn.get("overall"):
            o = hn["overall"]
            lines += ["", f"Hard negatives (medical queries, sms800k ham incl. legitimate 上门服务 / 小姐, reviews, "
                      f"QQ-group ads, bilibili look-alikes): {o['fp']} false positives of {o['n']} "
                      f"(FPR {100 * o['fpr']:.2f} %)."]
            for src, v in sorted(hn.get("by_source", {}).items()):
                lines.append(f"- {src}: {v['fp']} / {v['n']}")
        lines += ["", "The dev split shares near-duplicates with train (DATA.md), so these figures are optimistic; "
                  "see the novel-dev and leave-one-source-out figures below."]
    if extra:
        lines += ["", extra.strip()]
    return "\n".join(lines) + "\n"
