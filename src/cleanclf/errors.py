"""Exceptions raised by cleanclf.

Every error is a :class:`CleanclfError` *and* the built-in exception a caller
would naturally catch (``ValueError``, ``TypeError``, ``FileNotFoundError``), so
``except ValueError`` keeps working for code that does not know cleanclf.

>>> from cleanclf.errors import InputError
>>> issubclass(InputError, ValueError)
True
"""

from __future__ import annotations


class CleanclfError(Exception):
    """Base class of every exception cleanclf raises on purpose."""


class InputError(CleanclfError, ValueError):
    """A value given by the caller is not what was expected (names argument and value)."""


class InputTypeError(CleanclfError, TypeError):
    """A value given by the caller has the wrong type."""


class RecordError(InputError):
    """An input account record is malformed (bad JSON, missing id, wrong field types...)."""


class ImageError(CleanclfError, ValueError):
    """An image could not be decoded safely (truncated, too large, unsupported, outside the root)."""


class BundleError(CleanclfError, ValueError):
    """A model bundle is missing, tampered with or does not match its manifest."""


class BundleNotFoundError(BundleError, FileNotFoundError):
    """No model bundle exists under the given name or path."""


class BundleCompatibilityWarning(UserWarning):
    """A model bundle was written by other library versions in a way that should not matter
    (scikit-learn patch release, onnxruntime, Python, or a bundle older than these records)."""


class MissingDependencyError(CleanclfError, ImportError):
    """An optional dependency is needed; the message says how to install it."""


def describe(value: object, limit: int = 60) -> str:
    """Short, safe ``repr`` of a user value for error messages (never the whole 2 MB string)."""
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{text} ({type(value).__name__})"


def error_dict(exc: BaseException) -> dict:
    """The ``{"type", "message"}`` form used in per-item error entries and error rows."""
    return {"type": type(exc).__name__, "message": str(exc)}
