"""ImageModel: the ``lewd_images`` scorer of a bundle (embedder + head + threshold).

:class:`cleanclf.classify.Classifier` builds it with :meth:`ImageModel.from_bundle`
and calls :meth:`ImageModel.score_images`; results follow the Classifier
contract: one dict per input, in order, ``{"lewd_images": p, "labels": [...]}``
or ``{"error": {"type", "message"}}``.

An animated image is scored on at most ``max_frames`` evenly spaced frames and
its score is the maximum over them (one lewd frame is enough).

``mode="fast"`` screens with an int8 copy of the graph when the bundle has one and
the CPU does int8 products without saturation (:func:`cleanclf.image.embed.int8_exact_cpu`:
AVX512-VNNI or AVX-VNNI; elsewhere fast mode scores every frame in float32):
a frame whose int8 logit is more than ``screen_margin`` (3.0) away from the
threshold's logit keeps its int8 score; every frame within the margin is
scored again by the float32 graph. The largest int8 logit error measured is
2.05 (636 test images, 99 of them over the threshold; benchmarks/RESULTS-image.md),
so the labels are those of float32 fast mode unless a frame's int8 logit is off
by more than the margin; scores far from the threshold may differ from float32
by a few hundredths.

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
from ..errors import BundleError, CleanclfError, InputError, InputTypeError, describe, error_dict
from .decode import check_mode
from . import embed
from .embed import DEFAULT_FILE, SCREEN_FILE, OnnxEmbedder
from .head import LogitHead

DEFAULT_HEAD_FILE = "image_head.json"
DEFAULT_THRESHOLD = 0.8
#: Frames whose int8 logit is at least this far from the threshold's logit (either side) keep their int8 score
#: (logits; the largest int8 error benchmarks/bench_image_parity.py measured is ~2).
SCREEN_MARGIN = 3.0


class ImageModel:
    """Scores images for ``lewd_images``: :class:`OnnxEmbedder` -> :class:`LogitHead` -> threshold.

    >>> from cleanclf.image import ImageModel, LogitHead, OnnxEmbedder
    >>> import numpy as np
    >>> head = LogitHead.from_softmax(np.zeros((1024, 2)), np.zeros(2))
    >>> model = ImageModel(OnnxEmbedder(), head, {"lewd_images": 0.8})
    >>> model.thresholds
    {'lewd_images': 0.8}
    """

    def __init__(self, embedder: OnnxEmbedder, head: LogitHead, thresholds: dict[str, float] | None = None,
                 screen_margin: float = SCREEN_MARGIN):
        self.embedder = embedder
        self.head = head
        if not isinstance(screen_margin, (int, float)) or isinstance(screen_margin, bool) or not screen_margin >= 0:
            raise InputError(f"screen_margin: expected a number >= 0 (logits), got {describe(screen_margin)}")
        self.screen_margin = float(screen_margin)
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
        screen_cfg = emb_cfg.get("screen")
        if not isinstance(screen_cfg, dict):
            screen_cfg = {}
        screen_file = screen_cfg.get("file")
        for rel in (emb_file, head_file) + ((screen_file,) if screen_file else ()):
            if rel not in section.get("files", []):
                raise BundleError(f"section: image component does not list {rel!r} in its files")
        hashes: dict = {}
        try:
            from ..models import read_manifest

            hashes = read_manifest(directory)["files"]
        except CleanclfError:
            pass
        embedder = OnnxEmbedder(model_path=str(directory / emb_file), mode=section.get("preprocessing", "exact"),
                                sha256=hashes.get(emb_file, {}).get("sha256"),
                                screen_model_path=str(directory / screen_file) if screen_file else None,
                                screen_sha256=hashes.get(screen_file, {}).get("sha256") if screen_file else None)
        head = LogitHead.load_json(directory / head_file)
        margin = screen_cfg.get("margin_logits", SCREEN_MARGIN)
        try:
            return cls(embedder, head, section.get("thresholds"), screen_margin=margin)
        except InputError as exc:  # only screen_margin raises it: a bad manifest, not bad user input
            raise BundleError(f"section: embedder.screen.margin_logits: {exc}") from exc

    @property
    def thresholds(self) -> dict[str, float]:
        """``{"lewd_images": t}``: a score at or above ``t`` labels the image."""
        return dict(self._thresholds)

    def score_images(self, paths: Sequence[Any], mode: str | None = None, images_root=None,
                     screen: bool | None = None) -> list[dict]:
        """One result per input, in order (paths, bytes, file objects, PIL images or uint8 arrays).

        ``mode`` is ``"exact"`` (upstream open_nsfw preprocessing) or ``"fast"``
        (reduced-scale JPEG decoding and int8 screening); ``None`` (default) uses the mode the
        head was trained with, recorded in the bundle; ``images_root`` confines paths to a
        directory. ``screen``: ``None`` screens in fast mode when the bundle has
        the int8 graph and the CPU runs it exactly (VNNI), ``False`` never screens
        (float32 only), ``True`` screens in either mode on any CPU (an error without
        the int8 graph). Undecodable, oversized, unsafe or missing images give an
        ``{"error": {...}}`` entry instead of a score.
        """
        if mode is None:
            mode = self.embedder.mode
        check_mode(mode)
        if screen not in (None, True, False):
            raise InputTypeError(f"screen: expected None, True or False, got {describe(screen)}")
        if isinstance(paths, (str, bytes, os.PathLike)):
            raise InputTypeError(f"paths: expected a list of images, got a single {type(paths).__name__}")
        items = list(paths)
        threshold = self._thresholds[LEWD_IMAGES]
        if screen is None:
            screen = mode == "fast" and self.embedder.screen_model_path is not None and embed.int8_exact_cpu()
        refine = self._refine(threshold) if screen else None
        out: list[dict] = []
        for res in self.embedder.embed_frames(items, mode=mode, images_root=images_root, refine=refine):
            if isinstance(res, BaseException):
                out.append({"error": error_dict(res)})
                continue
            p = float(np.max(self.head.predict_proba(res)[:, 1]))
            out.append({LEWD_IMAGES: p, "labels": [LEWD_IMAGES] if p >= threshold else []})
        return out

    def _refine(self, threshold: float):
        """The frames the float32 graph must score again: int8 logit within ``screen_margin`` of logit(threshold)."""
        margin = self.screen_margin
        if 0.0 < threshold < 1.0:
            centre = float(np.log(threshold) - np.log1p(-threshold))
        else:  # the label does not depend on the score
            centre = -np.inf if threshold <= 0.0 else np.inf
        head = self.head

        def refine(emb: np.ndarray) -> np.ndarray:
            z = np.asarray(head.decision_function(emb), dtype=np.float64).reshape(-1)
            if margin == np.inf:
                return np.ones(z.shape, dtype=bool)
            return np.abs(z - centre) < margin

        return refine

    def __repr__(self) -> str:
        return f"<cleanclf.image.ImageModel threshold={self._thresholds.get(LEWD_IMAGES)} embedder={self.embedder!r}>"


__all__ = ["ImageModel", "DEFAULT_THRESHOLD", "SCREEN_MARGIN", "SCREEN_FILE"]
