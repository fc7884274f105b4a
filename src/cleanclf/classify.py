"""The Classifier: post-level scoring of text and images, loaded from a verified bundle.

>>> import cleanclf
>>> clf = cleanclf.load()                              # doctest: +SKIP
>>> r = clf.score_text("加薇 abc123 包夜 全套")          # doctest: +SKIP
>>> sorted(r)                                          # doctest: +SKIP
['escalate', 'escalate_reasons', 'evidence', 'explicit_text', 'labels', 'solicitation', 'truncated']

Result contracts (other modules and downstream tools depend on them):

* ``score_texts(texts) -> list[dict]``, one per input, each either
  ``{"explicit_text": p, "solicitation": p, "labels": [...], "evidence": [...],
  "escalate": bool, "escalate_reasons": [...], "truncated": bool}`` or
  ``{"error": {"type", "message"}}`` for an input that is not a usable string.
* ``score_images(paths, mode=None, images_root=None) -> list[dict]``, one per
  input: ``{"lewd_images": p, "labels": [...]}`` or ``{"error": {...}}``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Sequence

from . import models
from .categories import IMAGE_CATEGORIES, TEXT_CATEGORIES
from .errors import BundleError, InputError, InputTypeError, describe


class Classifier:
    """Scores posts for the three categories; built by :func:`cleanclf.load`."""

    def __init__(self, *, text_model=None, image_model=None, manifest: dict | None = None,
                 directory: Path | None = None):
        self.text_model = text_model
        self.image_model = image_model
        self.manifest = manifest or {}
        self.directory = directory

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, name: str | os.PathLike = "default", *, trust: bool = False) -> "Classifier":
        directory = models.resolve(name, trust=trust)
        manifest = models.verify_bundle(directory)  # every sha256, before any unpickling
        comps = manifest.get("components", {})
        text_model = image_model = None
        if "text" in comps:
            from .text.model import TextModel

            text_model = TextModel.from_bundle(directory, comps["text"], manifest)
        if "image" in comps:
            from .image import ImageModel

            image_model = ImageModel.from_bundle(directory, comps["image"])
        if text_model is None and image_model is None:
            raise BundleError(f"model bundle {str(directory)!r} has neither a text nor an image component")
        return cls(text_model=text_model, image_model=image_model, manifest=manifest, directory=Path(directory))

    # ------------------------------------------------------------------ identity
    @property
    def name(self) -> str:
        return self.manifest.get("name", "unsaved")

    @property
    def version(self) -> str:
        return self.manifest.get("version", "0")

    @property
    def model_id(self) -> str:
        """``name@version``, as written in every verdict."""
        return f"{self.name}@{self.version}"

    @property
    def thresholds(self) -> dict[str, float]:
        out: dict[str, float] = {}
        if self.text_model is not None:
            out.update(self.text_model.thresholds)
        if self.image_model is not None:
            out.update(self.image_model.thresholds)
        return out

    @property
    def components(self) -> tuple[str, ...]:
        """The bundle components this classifier has, of ``("text", "image", "account")``
        (read-only; a bundle from ``cleanclf train --out DIR`` has only ``("text",)``)."""
        comps = self.manifest.get("components", {})
        have = {"text": self.text_model is not None, "image": self.image_model is not None,
                "account": "account" in comps}
        return tuple(c for c in models.COMPONENTS if have[c])

    @property
    def account_params(self) -> dict[str, Any]:
        """Account-aggregation parameters (thresholds per category) from the bundle."""
        return dict(self.manifest.get("components", {}).get("account", {}))

    # ------------------------------------------------------------------ text
    def score_text(self, text: str) -> dict:
        """Score one post text; raises ``TypeError``/``ValueError`` naming ``text`` on bad input."""
        if not isinstance(text, str):
            raise InputTypeError(f"text: expected str, got {describe(text)}")
        result = self.score_texts([text])[0]
        if "error" in result:
            raise InputError(f"text: {result['error']['message']}")
        return result

    def score_texts(self, texts: Iterable[Any]) -> list[dict]:
        """Score many texts; one dict per input, error entries for unusable items."""
        if isinstance(texts, (str, bytes)):
            raise InputTypeError(f"texts: expected an iterable of str, got a single {type(texts).__name__}; "
                                 "use score_text for one text")
        if self.text_model is None:
            raise BundleError(f"model {self.model_id} has no text component")
        return self.text_model.score_texts(list(texts))

    # ------------------------------------------------------------------ images
    def score_image(self, path, *, mode: str | None = None, images_root=None, screen: bool | None = None) -> dict:
        """Score one image file; raises ``ValueError`` naming ``path`` if it cannot be scored."""
        result = self.score_images([path], mode=mode, images_root=images_root, screen=screen)[0]
        if "error" in result:
            raise InputError(f"path: {describe(path)}: {result['error']['message']}")
        return result

    def score_images(self, paths: Sequence[Any], *, mode: str | None = None, images_root=None,
                     screen: bool | None = None) -> list[dict]:
        """Score many images; one dict per input, error entries for unusable items.

        ``mode``: ``"exact"`` or ``"fast"``; by default the preprocessing the
        bundle's image head was trained with. ``screen``: int8 screening
        (default: in fast mode when the bundle has the int8 graph; see
        :meth:`cleanclf.image.ImageModel.score_images`).
        """
        if isinstance(paths, (str, bytes, os.PathLike)):
            raise InputTypeError(f"paths: expected a sequence of paths, got a single {type(paths).__name__}; "
                                 "use score_image for one image")
        if self.image_model is None:
            raise BundleError(f"model {self.model_id} has no image component")
        return self.image_model.score_images(list(paths), mode=mode, images_root=images_root, screen=screen)

    # ------------------------------------------------------------------ accounts
    def score_account(self, account, *, posts: str = "flagged", images_root=None, image_text: str = "off") -> dict:
        """Score one account (an :class:`~cleanclf.schema.Account` or a record dict) into a verdict record.

        Runs :class:`~cleanclf.scoring.AccountScorer`, the scorer batch and Spark use, so the verdict
        is the one ``cleanclf score`` writes for the same record (as its first line); a bad record
        gives an error verdict, bad options raise ``ValueError``. ``image_text``: ``"off"``, ``"gated"`` or
        ``"all"`` (text and QR codes in images as evidence; ``pip install "cleanclf[ocr]"``).
        """
        from .scoring import AccountScorer

        return AccountScorer(self, posts=posts, images_root=images_root, image_text=image_text).score_record(account)

    def __repr__(self) -> str:
        parts = [c for c, m in (("text", self.text_model), ("image", self.image_model)) if m is not None]
        return f"<cleanclf.Classifier {self.model_id} components={parts}>"


__all__ = ["Classifier", "TEXT_CATEGORIES", "IMAGE_CATEGORIES"]
