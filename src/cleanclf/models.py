"""Model bundles: a directory with ``manifest.json`` plus the files it lists.

The manifest records, for every file, its sha256; :func:`verify_bundle` checks
every hash (and that no listed file is missing) *before* anything is unpickled
or handed to onnxruntime, and refuses a bundle that does not match.

A bundle is made of independent *components* (``text``, ``image``,
``account``), each written by its own builder with :func:`update_component`,
which rehashes the files it owns and keeps the others' entries.

Compatibility: :func:`update_component` records in the manifest's ``requires``
section what the bundle needs (cleanclf minor series, the scikit-learn and
Python versions its text pickle was written with, onnxruntime, and the
feature-code fingerprint of :func:`cleanclf.compat.feature_fingerprint`);
:func:`verify_bundle` ends with :func:`check_compatible`, which refuses a
bundle that cannot score correctly here and warns
(:class:`~cleanclf.errors.BundleCompatibilityWarning`) where a difference
should not matter.

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
import sys
import warnings
from pathlib import Path
from typing import Any

from .errors import BundleCompatibilityWarning, BundleError, BundleNotFoundError, InputError, describe

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
#: The components a bundle can have, in the order they are reported.
COMPONENTS = ("text", "image", "account")
_CHUNK = 1 << 20


def models_root() -> Path:
    """Where named bundles live: ``$CLEANCLF_MODELS``, else the installed ``cleanclf.bundles``.

    The bundles ship inside the distribution (the repository's ``models/``
    folder is installed as the subpackage ``cleanclf.bundles``; an editable
    install maps it there too), so this never computes a repository path.
    """
    env = os.environ.get("CLEANCLF_MODELS")
    if env:
        return Path(env)
    return _bundled_root()


def _bundled_root() -> Path:
    from importlib.resources import files

    try:
        root = files(f"{__package__}.bundles")
    except ModuleNotFoundError as exc:
        raise BundleNotFoundError(
            "no bundled models: cleanclf.bundles is not installed (running from a source tree without "
            "installing? use `pip install -e .`), or set $CLEANCLF_MODELS to a folder of bundles"
        ) from exc
    if not isinstance(root, Path):  # e.g. imported from a zip archive: onnxruntime and pickle need real files
        raise BundleNotFoundError(f"bundled models at {root!s} are not on the filesystem; set $CLEANCLF_MODELS "
                                  "to a folder of bundles")
    return root


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
    check_compatible(manifest, directory)
    return manifest


# ----------------------------------------------------------------------------- compatibility
def _installed_version(dist: str, module: str) -> str | None:
    mod = sys.modules.get(module)
    if mod is not None and isinstance(getattr(mod, "__version__", None), str):
        return mod.__version__
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _warn(message: str) -> None:
    warnings.warn(message, BundleCompatibilityWarning, stacklevel=4)


def _requires(old: Any, component: str, components: dict[str, Any]) -> dict[str, Any]:
    """The ``requires`` section after ``component`` was (re)written.

    Versions a component's files depend on are refreshed only when that
    component is rewritten (the text pickle: scikit-learn, Python and the
    feature code; the image graphs: onnxruntime), so rebuilding the image
    component never vouches for a text model written by other code.
    """
    from . import __version__
    from .compat import feature_fingerprint, minor_range

    req = dict(old) if isinstance(old, dict) else {}
    req["cleanclf"] = minor_range(__version__)
    if component == "text":
        req["python"] = platform.python_version()
        req["scikit-learn"] = _installed_version("scikit-learn", "sklearn")
        req["feature_code"] = feature_fingerprint()
    if component == "image" or ("image" in components and "onnxruntime" not in req):
        req["onnxruntime"] = _installed_version("onnxruntime", "onnxruntime")
    if "text" not in components:
        for key in ("python", "scikit-learn", "feature_code"):
            req.pop(key, None)
    if "image" not in components:
        req.pop("onnxruntime", None)
    return {k: v for k, v in req.items() if v is not None}


def check_compatible(manifest: dict[str, Any], directory: str | os.PathLike | None = None) -> None:
    """Refuse a bundle this code cannot score correctly with; warn about harmless differences.

    Raises :class:`~cleanclf.errors.BundleError` when the bundle needs a newer
    cleanclf, when its text model is a pickle of another scikit-learn minor
    series, or when its text model was built with text feature code that
    behaves differently (:func:`cleanclf.compat.feature_fingerprint`). Warns
    (:class:`~cleanclf.errors.BundleCompatibilityWarning`) for another
    scikit-learn patch release, onnxruntime or Python version, a cleanclf
    newer than the bundle's series, and a bundle written before these records
    existed. Called by :func:`verify_bundle`.
    """
    from . import __version__
    from .compat import feature_fingerprint, parse_range, same_minor, version_tuple

    comps = manifest.get("components") or {}
    where = f"model bundle {str(directory)!r}" if directory is not None else "model bundle"
    where += f" ({manifest.get('name', 'unsaved')}@{manifest.get('version', '0')})"
    built_by = (manifest.get("library_versions") or {}).get("cleanclf")
    retrain = "or retrain it with this version (`cleanclf train --out DIR`, see docs/retraining.md)"
    req = manifest.get("requires")
    if not comps:
        return
    if not isinstance(req, dict):
        _warn(f"{where}: written before bundles recorded what they need (no 'requires' in {MANIFEST}), so "
              "its scikit-learn version and text feature code cannot be checked; rebuild it with this cleanclf "
              "(cleanclf.models.update_component writes the record)")
        return

    spec = req.get("cleanclf")
    if isinstance(spec, str) and spec:
        low, high = parse_range(spec)
        have = version_tuple(__version__)
        if low and have < low:
            raise BundleError(f"{where}: needs cleanclf {spec}, this is cleanclf {__version__}; install a "
                              f"matching version (pip install 'cleanclf{spec}'), {retrain}")
        if high and have >= high:
            _warn(f"{where}: written for cleanclf {spec}, this is cleanclf {__version__}; its library "
                  "versions and feature code match, so it is loaded")

    if "text" in comps:
        want = req.get("scikit-learn")
        have = _installed_version("scikit-learn", "sklearn")
        if not want:
            _warn(f"{where}: does not record the scikit-learn version of its text model")
        elif have is not None and not same_minor(want, have):
            series = ".".join(map(str, version_tuple(want)[:2]))
            raise BundleError(f"{where}: its text model is a scikit-learn {want} pickle, which scikit-learn "
                              f"{have} cannot be trusted to load; install scikit-learn {series}.x "
                              f"(pip install 'scikit-learn=={want}'), {retrain}")
        elif have is not None and want != have:
            _warn(f"{where}: text model written with scikit-learn {want}, loading with {have} "
                  "(same minor series: expected to work)")
        want_fp = req.get("feature_code")
        if not want_fp:
            _warn(f"{where}: does not record the feature-code fingerprint of its text model")
        elif want_fp != (have_fp := feature_fingerprint()):
            hint = (f"install the cleanclf that built it (pip install 'cleanclf=={built_by}')"
                    if built_by and built_by != __version__ else "install the cleanclf that built it")
            raise BundleError(f"{where}: its text model was built with text feature code that behaves "
                              f"differently from cleanclf {__version__}'s (feature fingerprint {want_fp[:12]}... "
                              f"vs {have_fp[:12]}...), so its features would not mean what it learnt; "
                              f"{hint}, {retrain}")
        want_py = req.get("python")
        if want_py and not same_minor(want_py, platform.python_version()):
            _warn(f"{where}: text model pickled under Python {want_py}, loading under "
                  f"{platform.python_version()}")

    if "image" in comps:
        want = req.get("onnxruntime")
        have = _installed_version("onnxruntime", "onnxruntime")
        if want and have and want != have:
            _warn(f"{where}: image graphs written with onnxruntime {want}, running on {have}")


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
    manifest["requires"] = _requires(manifest.get("requires"), component, manifest["components"])
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
