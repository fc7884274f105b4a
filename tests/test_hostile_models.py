"""Tampered and untrusted model bundles are refused before anything is deserialised.

tests/test_models.py covers: one changed byte (joblib), a missing file, a component file the
manifest does not hash, ``..`` in the manifest, and trust for paths. Here: a *malicious*
pickle whose hashes match (refused without trust, through every entry point: load,
score_accounts, the CLI), pickle as well as joblib monitored, a swapped ONNX file (before
and after loading), manifest hash edits, symlinks, and bundle names that try to escape.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cleanclf
from cleanclf import models
from cleanclf.errors import BundleError


class _Evil:
    """Unpickling this writes a marker file: proof that code ran."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "pwned"))


@pytest.fixture()
def no_unpickling(monkeypatch):
    """Fail if anything is deserialised (pickle, joblib) or handed to onnxruntime."""
    calls = []

    def refuse(name):
        def f(*a, **k):
            calls.append(name)
            raise AssertionError(f"{name} called before the bundle was refused")
        return f

    import joblib

    monkeypatch.setattr(pickle, "loads", refuse("pickle.loads"))
    monkeypatch.setattr(pickle, "load", refuse("pickle.load"))
    monkeypatch.setattr(joblib, "load", refuse("joblib.load"))
    try:
        import onnxruntime

        monkeypatch.setattr(onnxruntime, "InferenceSession", refuse("onnxruntime.InferenceSession"))
    except ImportError:  # pragma: no cover
        pass
    return calls


def _text_file(bundle: Path) -> Path:
    man = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    return bundle / man["components"]["text"]["files"][0]


@pytest.fixture()
def evil_bundle(tmp_path, tiny_text_model):
    """A bundle whose manifest hashes match a pickle that runs code when loaded."""
    d = tmp_path / "evil"
    d.mkdir()
    f = tiny_text_model.save(d)
    marker = tmp_path / "marker.txt"
    (d / f).write_bytes(pickle.dumps(_Evil(str(marker))))
    models.update_component(d, "text", {"files": [f], "categories": ["explicit_text", "solicitation"],
                                        "thresholds": tiny_text_model.thresholds}, name="evil", version="6.6.6")
    models.verify_bundle(d)  # hashes match: only trust stands between it and code execution
    return d, marker


def test_matching_hashes_without_trust_is_refused_before_unpickling(evil_bundle, no_unpickling):
    d, marker = evil_bundle
    for spec in (d, str(d), str(d) + "/", os.path.relpath(d)):
        with pytest.raises(BundleError, match="trust=True"):
            cleanclf.load(spec)
    from cleanclf.batch import score_accounts

    with pytest.raises(BundleError, match="trust=True"):
        score_accounts([{"account_id": "a"}], model=d)
    with pytest.raises(BundleError, match="trust=True"):
        score_accounts([{"account_id": "a"}], model=str(d), jobs=2)
    assert no_unpickling == [] and not marker.exists()


def test_cli_refuses_an_untrusted_path_and_runs_nothing(evil_bundle, tmp_path):
    d, marker = evil_bundle
    dump = tmp_path / "d.jsonl"
    dump.write_text('{"account_id": "a"}\n', encoding="utf-8")
    for argv in (["score", str(dump), "-o", str(tmp_path / "o.jsonl"), "--no-progress", "--model", str(d)],
                 ["text", "hello", "--model", str(d)], ["info", "--model", str(d)]):
        r = subprocess.run([sys.executable, "-m", "cleanclf.cli", *argv], capture_output=True, text=True, timeout=300)
        assert r.returncode == 1, (argv, r.stderr)
        assert "--trust-model" in r.stderr
    assert not marker.exists()
    assert not (tmp_path / "o.jsonl").exists() or (tmp_path / "o.jsonl").read_bytes() == b""


def test_with_trust_the_pickle_is_what_it_is(evil_bundle):
    # trust=True means "I vouch for this file": the documented consequence is that it runs.
    d, marker = evil_bundle
    with pytest.raises(Exception):  # noqa: B017 - the payload's return value is not a TextModel
        cleanclf.load(d, trust=True)
    assert marker.read_text() == "pwned"


def test_edited_manifest_hash_or_size_is_refused(tmp_path, tiny_text_model, no_unpickling):
    d = tmp_path / "b"
    d.mkdir()
    f = tiny_text_model.save(d)
    models.update_component(d, "text", {"files": [f]}, name="b")
    man = json.loads((d / "manifest.json").read_text())
    for bad in ("0" * 64, "", None, 123, {"x": 1}):
        m = json.loads(json.dumps(man))
        m["files"][f]["sha256"] = bad
        (d / "manifest.json").write_text(json.dumps(m))
        with pytest.raises(BundleError):
            cleanclf.load(d, trust=True)
    for broken in ("{not json", "[]", '{"files": []}', "\ud800".encode("utf-8", "surrogatepass").decode("latin-1")):
        (d / "manifest.json").write_text(broken, encoding="utf-8")
        with pytest.raises(BundleError):
            cleanclf.load(d, trust=True)
    (d / "manifest.json").write_bytes(b"\xff\xfe garbage")
    with pytest.raises(BundleError):
        cleanclf.load(d, trust=True)
    assert no_unpickling == []


def test_symlinked_file_out_of_the_bundle_is_refused(tmp_path, tiny_text_model, no_unpickling):
    d = tmp_path / "b"
    d.mkdir()
    f = tiny_text_model.save(d)
    models.update_component(d, "text", {"files": [f]}, name="b")
    real = tmp_path / "elsewhere.bin"
    shutil.move(d / f, real)
    os.symlink(real, d / f)  # same bytes, same hash, but the file lives outside the bundle
    with pytest.raises(BundleError, match="outside the bundle"):
        cleanclf.load(d, trust=True)
    assert no_unpickling == []


@pytest.mark.parametrize("name", ["..", "../default", "default/../..", "/etc", ".hidden", "", "a\\b", "~root"])
def test_bundle_names_cannot_escape_the_models_root(name):
    with pytest.raises((BundleError, ValueError)):
        cleanclf.load(name)


def test_a_symlink_in_the_models_root_pointing_out_needs_trust(tmp_path, monkeypatch, evil_bundle, no_unpickling):
    d, marker = evil_bundle
    root = tmp_path / "models"
    root.mkdir()
    os.symlink(d, root / "linked")
    monkeypatch.setenv("CLEANCLF_MODELS", str(root))
    with pytest.raises(BundleError, match="trust=True"):
        cleanclf.load(root / "linked")  # as a path: resolves outside the models root
    assert no_unpickling == [] and not marker.exists()


def test_text_component_without_files_does_not_unpickle_an_unhashed_file(tmp_path, tiny_text_model, no_unpickling):
    from cleanclf.text.model import TextModel

    d = tmp_path / "b"
    d.mkdir()
    (d / "CARD.md").write_text("card")
    models.update_component(d, "text", {"files": ["CARD.md"]}, name="b")
    man = json.loads((d / "manifest.json").read_text())
    man["components"]["text"].pop("files")  # the text component now lists nothing...
    (d / "manifest.json").write_text(json.dumps(man))
    (d / TextModel.FILE).write_bytes(pickle.dumps({"unhashed": True}))  # ...and this file is not in the manifest
    with pytest.raises(BundleError):
        cleanclf.load(d, trust=True)
    assert no_unpickling == []


# ---------------------------------------------------------------- ONNX
def _image_bundle(tmp_path) -> Path:
    src = models.bundle_dir("default")
    man = json.loads((src / "manifest.json").read_text(encoding="utf-8"))
    d = tmp_path / "img"
    d.mkdir()
    files = man["components"]["image"]["files"]
    for rel in files:
        shutil.copy(src / rel, d / rel)
    man["components"] = {"image": man["components"]["image"]}
    man["files"] = {k: v for k, v in man["files"].items() if k in files}
    (d / "manifest.json").write_text(json.dumps(man), encoding="utf-8")
    models.verify_bundle(d)
    return d


def _swap_onnx(path: Path) -> None:
    # a different, valid ONNX file would do the same; flipping bytes in the weights keeps it parseable
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_swapped_onnx_is_refused_before_onnxruntime_sees_it(tmp_path, no_unpickling):
    d = _image_bundle(tmp_path)
    _swap_onnx(d / "image_embed.onnx")
    with pytest.raises(BundleError, match="image_embed.onnx"):
        cleanclf.load(d, trust=True)
    assert no_unpickling == []


def test_onnx_swapped_after_loading_is_refused_when_the_session_is_built(tmp_path):
    import numpy as np

    d = _image_bundle(tmp_path)
    clf = cleanclf.load(d, trust=True)  # verified; the session is built lazily
    _swap_onnx(d / "image_embed.onnx")
    with pytest.raises(BundleError, match="sha256"):
        clf.image_model.embedder.transform([np.zeros((16, 16, 3), np.uint8)])
    with pytest.raises(BundleError, match="sha256"):
        clf.score_images([np.zeros((16, 16, 3), np.uint8)])  # never a score from a different model
