"""ImageModel: the ``lewd_images`` scorer of a bundle (embedder + head + threshold).

:class:`cleanclf.classify.Classifier` builds it with :meth:`ImageModel.from_bundle`
and calls :meth:`ImageModel.score_images`; results follow the Classifier
contract: one dict per input, in order, ``{"lewd_images": p, "labels": [...]}``
or ``{"error": {"type", "message"}}``.

An animated image is scored on at most ``max_frames`` evenly spaced frames and
its score is the maximum over them (one lewd frame is enough).

>>> from pathlib import Path
>>> from cleanclf.models import bundle_dir, verify_bundle
>>> section = verify_bundle(bundle_dir("default"))["components"]["image"]   # doctest: +SKIP
>>> model = ImageModel.from_bundle(bundle_dir("default"), section)          # doctest: +SKIP
>>> model.thresholds                                                        # doctest: +SKIP
{'lewd_images': 0.8}
>>> model.score_images(["missing.jpg"])[0]["error"]["type"]                 # doctest: +SKIP
'ImageError'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..categories import LEWD_IMAGES
from ..errors import BundleError, CleanclfError, InputTypeError, describe, error_dict
from .decode import check_mode
from .embed import DEFAULT_FILE, OnnxEmbedder
from .head import LogitHead

DEFAULT_HEAD_FILE = "image_head.json"
DEFAULT_THRESHOLD = 0.8


class ImageModel:
    """Scores images for ``lewd_images``: :class:`OnnxEmbedder` -> :class:`LogitHead` -> threshold.

    >>> from cleanclf.image import ImageModel, LogitHead, OnnxEmbedder
    >>> import numpy as np
    >>> head = LogitHead.from_softmax(np.zeros((1024, 2)), np.zeros(2))
    >>> model = ImageModel(OnnxEmbedder(), head, {"lewd_images": 0.8})
    >>> model.thresholds
    {'lewd_images': 0.8}
    """

    def __init__(self, embedder: OnnxEmbedder, head: LogitHead, thresholds: dict[str, float] | None = None):
        self.embedder = embedder
        self.head = head
        self._thresholds = dict(thresholds or {LEWD_IMAGES: DEFAULT_THRESHOLD})
        t = self._thresholds.get(LEWD_IMAGES)
        if not isinstance(t, (int, float)) or isinstance(t, bool) or not 0.0 <= t <= 1.0:
            raise BundleError(f"thresholds: expected {{'lewd_images': float in [0, 1]}}, got {describe(thresholds)}")

    @classmethod
    def from_bundle(cls, directory: Path, section: dict) -> "ImageModel":
        """Build from a bundle directory and its ``image`` component (the manifest section).

        The bundle's hashes are expected to be verified already
        (:func:`cleanclf.models.verify_bundle`); the embedding model is hashed
        again on the bytes handed to onnxruntime when the session is created.
        """
        directory = Path(directory)
        if not isinstance(section, dict):
            raise BundleError(f"section: expected the manifest's image component (dict), got {describe(section)}")
        emb_cfg = section.get("embedder", {})
        head_cfg = section.get("head", {})
        emb_file = emb_cfg.get("file", DEFAULT_FILE)
        head_file = head_cfg.get("file", DEFAULT_HEAD_FILE)
        for rel in (emb_file, head_file):
            if rel not in section.get("files", []):
                raise BundleError(f"section: image component does not list {rel!r} in its files")
        sha = None
        try:
            from ..models import read_manifest

            sha = read_manifest(directory)["files"].get(emb_file, {}).get("sha256")
        except CleanclfError:
            pass
        embedder = OnnxEmbedder(model_path=str(directory / emb_file), mode=section.get("preprocessing", "exact"),
                                sha256=sha)
        head = LogitHead.load_json(directory / head_file)
        return cls(embedder, head, section.get("thresholds"))

    @property
    def thresholds(self) -> dict[str, float]:
        """``{"lewd_images": t}``: a score at or above ``t`` labels the image."""
        return dict(self._thresholds)

    def score_images(self, paths: Sequence[Any], mode: str | None = None, images_root=None) -> list[dict]:
        """One result per input, in order (paths, bytes, file objects, PIL images or uint8 arrays).

        ``mode`` is ``"exact"`` (upstream open_nsfw preprocessing) or ``"fast"``
        (reduced-scale JPEG decoding); ``None`` (default) uses the mode the
        head was trained with, recorded in the bundle; ``images_root`` confines paths to a
        directory. Undecodable, oversized, unsafe or missing images give an
        ``{"error": {...}}`` entry instead of a score.
        """
        if mode is None:
            mode = self.embedder.mode
        check_mode(mode)
        if isinstance(paths, (str, bytes, os.PathLike)):
            raise InputTypeError(f"paths: expected a list of images, got a single {type(paths).__name__}")
        items = list(paths)
        threshold = self._thresholds[LEWD_IMAGES]
        out: list[dict] = []
        for res in self.embedder.embed_frames(items, mode=mode, images_root=images_root):
            if isinstance(res, BaseException):
                out.append({"error": error_dict(res)})
                continue
            p = float(np.max(self.head.predict_proba(res)[:, 1]))
            out.append({LEWD_IMAGES: p, "labels": [LEWD_IMAGES] if p >= threshold else []})
        return out

    def __repr__(self) -> str:
        return f"<cleanclf.image.ImageModel threshold={self._thresholds.get(LEWD_IMAGES)} embedder={self.embedder!r}>"


__all__ = ["ImageModel", "DEFAULT_THRESHOLD"]
