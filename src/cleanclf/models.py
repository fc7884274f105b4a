"""Model bundles: a directory with ``manifest.json`` plus the files it lists.

The manifest records, for every file, its sha256; :func:`verify_bundle` checks
every hash (and that no listed file is missing) *before* anything is unpickled
or handed to onnxruntime, and refuses a bundle that does not match.

A bundle is made of independent *components* (``text``, ``image``,
``account``), each written by its own builder with :func:`update_component`,
which rehashes the files it owns and keeps the others' entries.

Trust: the bundled models (``load("default")``) ship with the library. Loading
a bundle from an arbitrary directory unpickles its files, which can run code;
it therefore needs an explicit ``trust=True`` (see README "Security and limits").

>>> from cleanclf.models import bundle_dir
>>> bundle_dir("default").name
'default'
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
from pathlib import Path
from typing import Any

from .errors import BundleError, BundleNotFoundError, InputError, describe

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
_CHUNK = 1 << 20


def models_root() -> Path:
    """Where named bundles live: ``$CLEANCLF_MODELS`` or the repository's ``models/``."""
    env = os.environ.get("CLEANCLF_MODELS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "models"


def bundle_dir(name: str = "default") -> Path:
    """The directory of the named bundle (not checked)."""
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.startswith("."):
        raise InputError(f"name: expected a bundle name such as 'default', got {describe(name)}")
    return models_root() / name


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def read_manifest(directory: Path) -> dict[str, Any]:
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise BundleNotFoundError(f"model bundle {str(directory)!r}: no {MANIFEST} found")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"model bundle {str(directory)!r}: {MANIFEST} is not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise BundleError(f"model bundle {str(directory)!r}: {MANIFEST} has no 'files' table")
    return manifest


def verify_bundle(directory: str | os.PathLike) -> dict[str, Any]:
    """Check every file of the bundle against its manifest; return the manifest.

    Raises :class:`~cleanclf.errors.BundleError` naming the first file whose
    sha256 or presence does not match, or an unlisted file that a component
    refers to. Nothing is deserialised here.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise BundleNotFoundError(f"model bundle {str(directory)!r}: no such directory")
    manifest = read_manifest(directory)
    root = directory.resolve()
    for rel, entry in manifest["files"].items():
        path = (directory / rel).resolve()
        if root not in path.parents:
            raise BundleError(f"model bundle {str(directory)!r}: file {rel!r} points outside the bundle")
        if not path.is_file():
            raise BundleError(f"model bundle {str(directory)!r}: file {rel!r} listed in the manifest is missing")
        expected = entry.get("sha256") if isinstance(entry, dict) else None
        actual = sha256_file(path)
        if actual != expected:
            raise BundleError(
                f"model bundle {str(directory)!r}: file {rel!r} has sha256 {actual[:16]}..., "
                f"manifest expects {str(expected)[:16]}...; refusing to load a modified bundle"
            )
    for cname, comp in manifest.get("components", {}).items():
        for rel in comp.get("files", []):
            if rel not in manifest["files"]:
                raise BundleError(
                    f"model bundle {str(directory)!r}: component {cname!r} uses {rel!r}, "
                    "which the manifest does not hash"
                )
    return manifest


def update_component(
    directory: str | os.PathLike,
    component: str,
    section: dict[str, Any],
    *,
    name: str | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """Write (or replace) one component of a bundle and rehash its files.

    ``section["files"]`` lists the component's files relative to the bundle.
    Files of other components keep their entries; files no component lists any
    more are dropped from the manifest.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        manifest = read_manifest(directory)
    except BundleNotFoundError:
        manifest = {"files": {}, "components": {}}
    from . import __version__

    manifest["format"] = FORMAT_VERSION
    manifest["name"] = name or manifest.get("name") or directory.name
    manifest["version"] = version or manifest.get("version") or "0.0.0"
    manifest.setdefault("components", {})[component] = dict(section)
    manifest["components"][component]["updated"] = _dt.date.today().isoformat()
    manifest["library_versions"] = _library_versions(__version__)
    owned = {rel for comp in manifest["components"].values() for rel in comp.get("files", [])}
    files = {}
    for rel in sorted(owned):
        path = directory / rel
        if not path.is_file():
            raise BundleError(f"update_component: {component!r} lists {rel!r}, which does not exist in {directory}")
        files[rel] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    manifest["files"] = files
    manifest["categories"] = sorted(
        {c for comp in manifest["components"].values() for c in comp.get("categories", [])}
    )
    tmp = directory / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, directory / MANIFEST)
    return manifest


def _library_versions(own: str) -> dict[str, str]:
    out = {"cleanclf": own, "python": platform.python_version()}
    for mod in ("sklearn", "numpy", "scipy", "jieba", "joblib", "PIL", "onnxruntime"):
        try:
            m = __import__(mod)
            out[mod] = getattr(m, "__version__", "?")
        except Exception:  # noqa: BLE001 - informational only
            pass
    return out


def resolve(name_or_path: str | os.PathLike = "default", *, trust: bool = False) -> Path:
    """Turn a bundle name or a directory into a verified-to-exist directory.

    Names (``"default"``) resolve under :func:`models_root`. A filesystem path
    must be passed as :class:`os.PathLike` or contain a path separator, and
    needs ``trust=True`` because loading it unpickles its contents.
    """
    if isinstance(name_or_path, os.PathLike) or (isinstance(name_or_path, str) and ("/" in name_or_path or os.sep in name_or_path)):
        path = Path(name_or_path)
        if not trust and path.resolve().parent != models_root().resolve():
            raise BundleError(
                f"name: {str(path)!r} is a path outside the bundled models; loading it unpickles "
                "its files, so pass trust=True (CLI: --trust-model) if you trust its origin"
            )
        return path
    if not isinstance(name_or_path, str):
        raise InputError(f"name: expected a bundle name or a path, got {describe(name_or_path)}")
    path = bundle_dir(name_or_path)
    if not path.is_dir():
        avail = sorted(p.name for p in models_root().glob("*") if (p / MANIFEST).is_file()) if models_root().is_dir() else []
        raise BundleNotFoundError(f"name: no bundle called {name_or_path!r} in {models_root()} (available: {avail})")
    return path
