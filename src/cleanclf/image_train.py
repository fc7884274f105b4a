"""Fit, evaluate and export an image head on your own labelled images.

The image side of :mod:`cleanclf.training`. The backbone (open_nsfw, through the
bundle's ONNX embedder) stays fixed; what a researcher refits is the logistic
head on its 1024-d embeddings (:class:`cleanclf.image.LogitHead`), so a head
fitted here scores exactly like the product once exported: same decoding, same
preprocessing, same embedder file.

Steps (each a plain function, so a notebook can cache the slow one, embedding):

1. :func:`read_image_labels` - labelled image paths from a CSV / JSONL file;
2. :func:`embed_images` - ``(n, 1024)`` embeddings with a bundle's embedder;
3. :func:`fit_image_head` - the head, out-of-fold scores, a threshold (best F1 or
   a target precision, chosen on out-of-fold scores, not on the fitted rows);
4. :func:`evaluate_image_head` - precision / recall / F1 / PR-AUC / ECE on held-out rows;
5. :func:`export_image_component` - write the ``image`` component of a bundle
   directory (embedder ONNX copied, head JSON, threshold, preprocessing mode).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = np.abs(rng.normal(size=(40, 1024))).astype(np.float32)
>>> y = np.array([0, 1] * 20); X[y == 1, :8] += 3.0      # a separable toy signal
>>> fit = fit_image_head(X, y, cv=4)
>>> fit.report["n"], fit.report["recall"] > 0.9, 0.0 <= fit.threshold <= 1.0
(40, True, True)
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .categories import LEWD_IMAGES
from .errors import BundleError, ImageError, InputError, describe

__all__ = [
    "ImageHeadFit",
    "read_image_labels",
    "embedder_for",
    "embed_images",
    "default_image_head",
    "fit_image_head",
    "out_of_fold_scores",
    "evaluate_image_head",
    "export_image_component",
]

PATH_KEYS = ("path", "image", "file")


# ----------------------------------------------------------------------------- reading
def read_image_labels(path: str | os.PathLike, *, label: str = LEWD_IMAGES) -> list[dict]:
    """Labelled images from a CSV or JSONL file: one row per image, ``path`` + a 0/1/null label.

    The path column may be called ``path``, ``image`` or ``file``; relative
    paths are resolved against the labels file's directory (so a folder of
    images with its ``labels.csv`` can move as a whole). Rows whose label is
    null/empty are kept with ``None`` (not labelled); other columns (``source``,
    ``id``...) are kept as they are.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "labels.csv").write_text("path,lewd_images,source\\na.png,1,me\\nb.png,,me\\n")
    >>> rows = read_image_labels(d / "labels.csv")
    >>> [(pathlib.Path(r["path"]).name, r["lewd_images"]) for r in rows]
    [('a.png', 1), ('b.png', None)]
    """
    from .training.data import iter_rows, parse_label

    path = Path(path)
    rows = []
    for i, row in enumerate(iter_rows(path), start=1):
        key = next((k for k in PATH_KEYS if row.get(k)), None)
        if key is None:
            raise InputError(f"{path}: row {i}: expected an image path in one of {PATH_KEYS}, got keys "
                             f"{sorted(row)[:8]}")
        img = Path(str(row[key]))
        out = dict(row)
        out["path"] = str(img if img.is_absolute() else path.parent / img)
        out[label] = parse_label(row.get(label), f"{path}: row {i}: {label!r}")
        rows.append(out)
    if not rows:
        raise InputError(f"path: {str(path)!r} has no rows")
    return rows


# ----------------------------------------------------------------------------- embedding
def embedder_for(bundle: Any = "default", *, mode: str | None = None, trust: bool = False, **params):
    """The :class:`~cleanclf.image.OnnxEmbedder` of a bundle (name, path, ``Classifier`` or embedder).

    ``mode`` overrides the bundle's preprocessing (``"exact"`` or ``"fast"``);
    extra ``params`` (``n_jobs``, ``batch_size``...) are set on the embedder.
    The embedding file is hash-checked when its session is created.

    >>> embedder_for("default").mode
    'exact'
    """
    from .image import OnnxEmbedder

    if isinstance(bundle, OnnxEmbedder):
        emb = bundle
    elif hasattr(bundle, "image_model"):  # a Classifier
        if bundle.image_model is None:
            raise BundleError(f"bundle: model {bundle.model_id} has no image component")
        emb = bundle.image_model.embedder
    elif hasattr(bundle, "embedder"):  # an ImageModel
        emb = bundle.embedder
    elif isinstance(bundle, (str, os.PathLike)):
        from .image import ImageModel
        from .models import resolve, verify_bundle

        directory = resolve(bundle, trust=trust)
        comps = verify_bundle(directory).get("components", {})
        if "image" not in comps:
            raise BundleError(f"bundle: {str(directory)!r} has no image component (components: {sorted(comps)})")
        emb = ImageModel.from_bundle(directory, comps["image"]).embedder
    else:
        raise InputError(f"bundle: expected a bundle name or path, a Classifier, an ImageModel or an "
                         f"OnnxEmbedder, got {describe(bundle)}")
    changes = dict(params)
    if mode is not None:
        changes["mode"] = mode
    if changes:
        from sklearn.base import clone

        emb = clone(emb).set_params(**changes)
    return emb


def embed_images(images: Sequence[Any], *, embedder: Any = "default", mode: str | None = None,
                 images_root=None, trust: bool = False) -> np.ndarray:
    """``(n, 1024)`` float32 embeddings of ``images`` (paths, bytes, PIL images or uint8 arrays).

    ``embedder`` is anything :func:`embedder_for` accepts (default: the bundled
    default's embedder). Animated images are embedded on their first frame.
    Raises :class:`~cleanclf.errors.ImageError` naming the index and the input
    of the first image that cannot be decoded, so a broken file in a labelled
    folder is found before any fitting.

    >>> import numpy as np
    >>> embed_images([np.full((64, 64, 3), 128, np.uint8)]).shape   # doctest: +SKIP
    (1, 1024)
    """
    if isinstance(images, (str, bytes, os.PathLike)):
        raise InputError(f"images: expected a list of images, got a single {describe(images)}; wrap it in a list")
    items = [r["path"] if isinstance(r, dict) and "path" in r else r for r in images]
    emb = embedder_for(embedder, mode=mode, trust=trust)
    out = np.empty((len(items), emb.get_feature_names_out().size), dtype=np.float32)
    for i, res in enumerate(emb.embed_frames(items, images_root=images_root, max_frames=1)):
        if isinstance(res, BaseException):
            raise ImageError(f"images[{i}]: {describe(items[i])}: {res}") from res
        out[i] = res[0]
    return out


# ----------------------------------------------------------------------------- fitting
def default_image_head(bundle: Any = "default", *, trust: bool = False):
    """The :class:`~cleanclf.image.LogitHead` of a bundle (the default one is upstream open_nsfw's layer)."""
    from .image import ImageModel
    from .models import resolve, verify_bundle

    if hasattr(bundle, "image_model") and bundle.image_model is not None:
        return bundle.image_model.head
    directory = resolve(bundle, trust=trust)
    comps = verify_bundle(directory).get("components", {})
    if "image" not in comps:
        raise BundleError(f"bundle: {str(directory)!r} has no image component")
    return ImageModel.from_bundle(directory, comps["image"]).head


def _xy(X, y, name="X"):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise InputError(f"{name}: expected a 2-D array of embeddings (n, d), got shape {X.shape}")
    y_list = list(y)
    if len(y_list) != X.shape[0]:
        raise InputError(f"y: expected {X.shape[0]} labels (one per row of {name}), got {len(y_list)}")
    keep = np.array([v is not None for v in y_list], dtype=bool)
    bad = sorted({v for v in y_list if v is not None and v not in (0, 1)}, key=repr)[:5]
    if bad:
        raise InputError(f"y: expected 0, 1 or None per image, got {bad}")
    yv = np.array([int(v) for v in y_list if v is not None], dtype=int)
    if not np.isfinite(X[keep]).all():
        raise InputError(f"{name}: expected finite embeddings, got NaN or inf")
    return X[keep], yv, keep


def _cv_splits(y: np.ndarray, cv: int, groups, seed: int):
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    if not isinstance(cv, int) or isinstance(cv, bool) or cv < 2:
        raise InputError(f"cv: expected an int >= 2, got {describe(cv)}")
    smallest = int(min(np.bincount(y, minlength=2)))
    if smallest < 2:
        raise InputError(f"y: each class needs at least 2 labelled images for out-of-fold scores, "
                         f"got {np.bincount(y, minlength=2).tolist()} (0s, 1s)")
    # Few images per class is the normal case for a user's folder: fewer folds, never an error.
    k = min(cv, smallest)
    if groups is not None:
        return list(StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed).split(y, y, groups)), k
    return list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(y, y)), k


def out_of_fold_scores(X, y, *, C: float = 1.0, class_weight=None, cv: int = 5, groups=None,
                       seed: int = 0) -> np.ndarray:
    """Scores of each labelled image from a head fitted without it (stratified K-fold).

    ``groups`` (e.g. an account or album id per image) keeps near-identical
    images in one fold, so the scores are not flattered by leakage. Rows with a
    ``None`` label get ``NaN``.
    """
    from .image import LogitHead

    Xl, yl, keep = _xy(X, y)
    g = None if groups is None else np.asarray(list(groups), dtype=object)[keep]
    splits, _ = _cv_splits(yl, cv, g, seed)
    oof = np.full(yl.shape, np.nan)
    for tr, te in splits:
        if len(np.unique(yl[tr])) < 2:
            raise InputError("groups: a training fold holds a single class; use fewer or smaller groups")
        head = LogitHead(C=C, class_weight=class_weight).fit(Xl[tr], yl[tr])
        oof[te] = head.predict_proba(Xl[te])[:, 1]
    out = np.full(len(keep), np.nan)
    out[keep] = oof
    return out


@dataclass
class ImageHeadFit:
    """What :func:`fit_image_head` returns.

    ``head`` is fitted on every labelled image; ``oof_scores`` (one per input
    row, ``NaN`` where unlabelled) and ``report`` (a
    :func:`cleanclf.metrics.binary_report` at ``threshold``) come from
    out-of-fold scores, i.e. they estimate how the head does on images it has
    not seen.
    """

    head: Any
    threshold: float
    threshold_from: str
    report: dict
    oof_scores: np.ndarray
    params: dict = field(default_factory=dict)

    @property
    def thresholds(self) -> dict[str, float]:
        return {LEWD_IMAGES: self.threshold}


def fit_image_head(X, y, *, C: float = 1.0, class_weight=None, preprocessing: str = "exact", cv: int = 5,
                   groups=None, target_precision: float | None = None, seed: int = 0) -> ImageHeadFit:
    """Fit a :class:`~cleanclf.image.LogitHead` on embeddings ``X`` and 0/1/None labels ``y``.

    The threshold is chosen on out-of-fold scores: the lowest one reaching
    ``target_precision`` (:func:`cleanclf.metrics.threshold_for_precision`) when
    given, else the best-F1 one. ``preprocessing`` must be the mode ``X`` was
    embedded with; it is recorded in the head and, on export, in the bundle, so
    the product embeds new images the same way. ``class_weight=None`` keeps the
    scores calibrated to the training prior; ``"balanced"`` helps recall on a
    very skewed folder at the cost of calibration.

    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> X = rng.normal(size=(60, 16)); y = (X[:, 0] > 0).astype(int)
    >>> fit = fit_image_head(X, y, C=10.0, target_precision=0.9)
    >>> fit.report["precision"] >= 0.9, fit.head.coef_.shape
    (True, (16,))
    """
    from .image import LogitHead
    from .image.decode import MODES
    from .metrics import best_f1_threshold, binary_report, threshold_for_precision

    if preprocessing not in MODES:
        raise InputError(f"preprocessing: expected one of {MODES} (the mode X was embedded with), "
                         f"got {describe(preprocessing)}")
    Xl, yl, keep = _xy(X, y)
    oof = out_of_fold_scores(X, y, C=C, class_weight=class_weight, cv=cv, groups=groups, seed=seed)
    scores = oof[keep]
    if target_precision is not None:
        threshold = threshold_for_precision(yl, scores, target_precision)
        how = f"lowest out-of-fold threshold with precision >= {target_precision}"
    else:
        threshold = best_f1_threshold(yl, scores)
        how = "best F1 on out-of-fold scores"
    head = LogitHead(C=C, class_weight=class_weight, preprocessing=preprocessing).fit(Xl, yl)
    _, k = _cv_splits(yl, cv, None if groups is None else np.asarray(list(groups), dtype=object)[keep], seed)
    return ImageHeadFit(head=head, threshold=float(threshold), threshold_from=how,
                        report=binary_report(yl, scores, threshold), oof_scores=oof,
                        params={"C": C, "class_weight": class_weight, "cv": k, "seed": seed,
                                "preprocessing": preprocessing, "n": int(yl.size), "positives": int(yl.sum()),
                                "grouped": groups is not None})


def evaluate_image_head(head, X, y, *, threshold: float | None = None) -> dict:
    """:func:`cleanclf.metrics.binary_report` of ``head`` on embeddings ``X`` and labels ``y``.

    ``head`` is a :class:`~cleanclf.image.LogitHead`, an :class:`ImageHeadFit`
    (its threshold is the default) or a bundle's ``ImageModel``. The report
    adds ``scores`` (one per row, ``None`` where unlabelled) so that plots can
    be drawn from it.

    >>> import numpy as np
    >>> from cleanclf.image import LogitHead
    >>> head = LogitHead.from_softmax(np.array([[0.0, 0.0], [0.0, 4.0]]), np.array([0.0, -2.0]))
    >>> r = evaluate_image_head(head, np.array([[0, 1.0], [0, 0.0]]), [1, 0], threshold=0.5)
    >>> r["precision"], r["recall"]
    (1.0, 1.0)
    """
    from .metrics import binary_report

    if isinstance(head, ImageHeadFit):
        threshold = head.threshold if threshold is None else threshold
        head = head.head
    elif hasattr(head, "head") and hasattr(head, "thresholds"):  # ImageModel
        threshold = head.thresholds[LEWD_IMAGES] if threshold is None else threshold
        head = head.head
    if threshold is None:
        raise InputError("threshold: expected a number in [0, 1] for a bare head, got None")
    if not hasattr(head, "predict_proba"):
        raise InputError(f"head: expected a LogitHead, an ImageHeadFit or an ImageModel, got {describe(head)}")
    X = np.asarray(X, dtype=np.float64)
    _, yl, keep = _xy(X, y)
    s = np.full(len(keep), np.nan)
    s[keep] = head.predict_proba(X[keep])[:, 1]
    report = binary_report(yl, s[keep], threshold)
    report["scores"] = [None if np.isnan(v) else float(v) for v in s]
    return report


# ----------------------------------------------------------------------------- export
def export_image_component(out_dir: str | os.PathLike, fit, *, threshold: float | None = None,
                           embedder: Any = "default", metrics: dict | None = None, training: dict | None = None,
                           name: str | None = None, version: str | None = None, trust: bool = False) -> dict:
    """Write ``fit`` as the ``image`` component of the bundle in ``out_dir``; returns the manifest.

    ``fit`` is an :class:`ImageHeadFit` (its threshold and out-of-fold report
    are recorded) or a fitted :class:`~cleanclf.image.LogitHead` (then pass
    ``threshold``). The source bundle's embedder ONNX file is copied as
    ``image_embed.onnx`` (with the open_nsfw licence notice beside it, which the
    BSD-2-Clause terms require to travel with the weights), the head is written
    as ``image_head.json``, and :func:`cleanclf.models.update_component`
    rehashes everything. Other components of ``out_dir`` (a text model written
    by ``cleanclf train --out``) are kept, so both sides can share one bundle.
    Load it with ``cleanclf.load(out_dir, trust=True)``.
    """
    from .image import LogitHead, OnnxEmbedder
    from .image.decode import check_mode
    from .image.embed import DEFAULT_FILE, EMBED_DIM
    from .image.model import DEFAULT_HEAD_FILE
    from .models import read_manifest, sha256_file, update_component

    if isinstance(fit, ImageHeadFit):
        head, threshold = fit.head, fit.threshold if threshold is None else threshold
        report = {k: v for k, v in fit.report.items() if k != "scores"}
        trained = {**fit.params, "threshold_from": fit.threshold_from}
    elif isinstance(fit, LogitHead):
        head, report, trained = fit, None, {"preprocessing": fit.preprocessing}
    else:
        raise InputError(f"fit: expected an ImageHeadFit or a fitted LogitHead, got {describe(fit)}")
    if not hasattr(head, "coef_"):
        raise InputError("fit: the LogitHead is not fitted; call fit() or fit_image_head() first")
    if (not isinstance(threshold, (int, float)) or isinstance(threshold, bool)
            or not 0.0 <= float(threshold) <= 1.0):
        raise InputError(f"threshold: expected a number in [0, 1], got {describe(threshold)}")
    mode = check_mode(head.preprocessing)
    if head.n_features_in_ != EMBED_DIM:
        raise InputError(f"fit: the head takes {head.n_features_in_} features, the embedder gives {EMBED_DIM}")

    emb = embedder_for(embedder, trust=trust)
    src = emb.resolved_model_path()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dst = out / DEFAULT_FILE
    if not (dst.exists() and dst.resolve() == src.resolve()):
        shutil.copyfile(src, dst)
    if isinstance(emb, OnnxEmbedder) and emb.sha256 and sha256_file(dst) != emb.sha256:
        raise BundleError(f"embedder: {str(src)!r} does not match its recorded sha256; refusing to export it")
    head.save_json(out / DEFAULT_HEAD_FILE)
    files = [DEFAULT_FILE, DEFAULT_HEAD_FILE]
    # Provenance of the backbone travels with the copied weights.
    backbone, licences = None, None
    try:
        src_section = read_manifest(src.parent).get("components", {}).get("image", {})
        backbone, licences = src_section.get("backbone"), src_section.get("licences")
        for extra in src_section.get("files", []):
            if extra.startswith("LICENSE") and (src.parent / extra).is_file():
                if (out / extra).resolve() != (src.parent / extra).resolve():
                    shutil.copyfile(src.parent / extra, out / extra)
                files.append(extra)
    except (OSError, ValueError):
        pass
    section = {
        "files": files,
        "categories": [LEWD_IMAGES],
        "thresholds": {LEWD_IMAGES: round(float(threshold), 6)},
        "embedder": {"file": DEFAULT_FILE, "input": "input:0", "output": "embedding", "dim": EMBED_DIM,
                     "copied_from": str(src), "sha256": sha256_file(dst)},
        "head": {"file": DEFAULT_HEAD_FILE, "type": "cleanclf.image.LogitHead",
                 "source": "refitted on user-labelled images by cleanclf.image_train.fit_image_head",
                 "trained_with": mode, "params": head.get_params()},
        # ImageModel.from_bundle builds the embedder with this mode: the one the head was trained with.
        "preprocessing": mode,
        "training": {**trained, **(training or {})},
        "metrics": {**({"out_of_fold": report} if report else {}), **(metrics or {})},
    }
    if backbone:
        section["backbone"] = backbone
    if licences:
        section["licences"] = licences
    return update_component(out, "image", _jsonable(section), name=name, version=version)


def _jsonable(obj):
    """Plain JSON types (numpy scalars and arrays from reports would break the manifest)."""
    return json.loads(json.dumps(obj, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))
