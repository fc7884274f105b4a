"""cleanclf: find accounts posting lewd images, explicit sexual text or prostitution solicitation.

Nothing heavy happens at import: no jieba dictionary, no ONNX session, no model
file is read until you call :func:`load`.

>>> import cleanclf
>>> cleanclf.CATEGORIES
('lewd_images', 'explicit_text', 'solicitation')
"""

from __future__ import annotations

from .categories import CATEGORIES

__version__ = "0.7.0"

__all__ = ["load", "Account", "Post", "score_accounts", "TextClassifier", "CATEGORIES", "__version__"]


def load(name: str = "default", *, trust: bool = False):
    """Load a verified model bundle (the bundled ``"default"`` unless told otherwise).

    Every file's sha256 is checked against the manifest before anything is
    unpickled. A directory path outside the bundled models needs ``trust=True``.

    >>> import cleanclf
    >>> clf = cleanclf.load()                     # doctest: +SKIP
    >>> clf.score_text("加薇 abc123 包夜")["labels"]  # doctest: +SKIP
    ['solicitation']
    """
    from .classify import Classifier

    return Classifier.load(name, trust=trust)


def __getattr__(attr: str):
    # Lazy re-exports keep `import cleanclf` cheap.
    if attr in ("Account", "Post"):
        from . import schema

        return getattr(schema, attr)
    if attr == "score_accounts":
        from .batch import score_accounts

        return score_accounts
    if attr == "TextClassifier":
        from .text.classifier import TextClassifier

        return TextClassifier
    raise AttributeError(f"module 'cleanclf' has no attribute {attr!r}")
