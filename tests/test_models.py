"""Bundles are verified before anything is unpickled; tampering is refused."""

from __future__ import annotations

import json
import shutil

import pytest

import cleanclf
from cleanclf import models
from cleanclf.errors import BundleError, BundleNotFoundError


@pytest.fixture()
def bundle(tmp_path, tiny_text_model):
    d = tmp_path / "tiny"
    d.mkdir()
    f = tiny_text_model.save(d)
    models.update_component(d, "text", {"files": [f], "categories": ["explicit_text", "solicitation"],
                                        "thresholds": tiny_text_model.thresholds}, name="tiny", version="1.2.3")
    return d


def test_roundtrip_and_identity(bundle):
    clf = cleanclf.load(bundle, trust=True)
    assert clf.model_id == "tiny@1.2.3"
    assert clf.score_text("包夜 上门")["solicitation"] > clf.score_text("外卖很好吃")["solicitation"]
    man = json.loads((bundle / "manifest.json").read_text())
    assert set(man["files"]) == {"text_model.pkl.gz"} and len(man["files"]["text_model.pkl.gz"]["sha256"]) == 64


def test_a_path_needs_explicit_trust(bundle):
    with pytest.raises(BundleError, match="trust=True"):
        cleanclf.load(bundle)
    with pytest.raises(BundleError, match="trust=True"):
        cleanclf.load(str(bundle))


def test_one_changed_byte_is_refused_before_unpickling(bundle, monkeypatch):
    p = bundle / "text_model.pkl.gz"
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0xFF
    p.write_bytes(bytes(data))
    import pickle

    def boom(*a, **k):  # would be reached only if verification came after loading
        raise AssertionError("pickle.loads called on a tampered bundle")

    monkeypatch.setattr(pickle, "loads", boom)
    with pytest.raises(BundleError, match="sha256"):
        cleanclf.load(bundle, trust=True)


def test_missing_file_and_manifest_mismatch(bundle, tmp_path):
    other = tmp_path / "copy"
    shutil.copytree(bundle, other)
    (other / "text_model.pkl.gz").unlink()
    with pytest.raises(BundleError, match="missing"):
        models.verify_bundle(other)
    man = json.loads((bundle / "manifest.json").read_text())
    man["components"]["text"]["files"].append("extra.bin")
    (bundle / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(BundleError, match="does not hash"):
        models.verify_bundle(bundle)


def test_escape_from_bundle_and_unknown_names(bundle):
    man = json.loads((bundle / "manifest.json").read_text())
    man["files"]["../outside"] = {"sha256": "0" * 64}
    (bundle / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(BundleError, match="outside"):
        models.verify_bundle(bundle)
    with pytest.raises(BundleNotFoundError):
        cleanclf.load("no-such-bundle")
    with pytest.raises(ValueError, match="name"):
        models.bundle_dir("../etc")


def test_bundled_default_is_verified_offline():
    if not (models.bundle_dir("default") / "manifest.json").is_file():
        pytest.skip("no bundled default model in this checkout")
    man = models.verify_bundle(models.bundle_dir("default"))
    assert {"text"} <= set(man["components"]) and man["name"] == "default"
