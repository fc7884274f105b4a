"""Bundles are verified before anything is unpickled; tampering is refused."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest

import cleanclf
from cleanclf import compat, models
from cleanclf.compat import feature_fingerprint
from cleanclf.errors import BundleCompatibilityWarning, BundleError, BundleNotFoundError


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
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        man = models.verify_bundle(models.bundle_dir("default"))
    assert {"text", "image", "account"} <= set(man["components"]) and man["name"] == "default"
    # the shipped bundle records what it needs, and this code is what it needs
    req = man["requires"]
    assert req["feature_code"] == feature_fingerprint()
    assert compat.parse_range(req["cleanclf"])[0] <= compat.version_tuple(cleanclf.__version__)
    import sklearn

    assert compat.same_minor(req["scikit-learn"], sklearn.__version__)
    assert not [w for w in caught if "written before" in str(w.message)]


# ----------------------------------------------------------------------------- where bundles live
def test_bundles_come_from_the_installed_package_not_a_repository_path(monkeypatch, tmp_path):
    from importlib.resources import files

    monkeypatch.delenv("CLEANCLF_MODELS", raising=False)
    assert models.models_root() == Path(str(files("cleanclf.bundles")))
    assert (models.models_root() / "default" / "manifest.json").is_file()
    # $CLEANCLF_MODELS still wins, and a bundle under it is "bundled" (no trust needed)
    other = tmp_path / "models"
    shutil.copytree(models.bundle_dir("default"), other / "default")
    monkeypatch.setenv("CLEANCLF_MODELS", str(other))
    assert models.bundle_dir("default") == other / "default"
    assert models.resolve(other / "default") == other / "default"
    with pytest.raises(BundleError, match="trust=True"):
        models.resolve(tmp_path)


def test_version_is_single_sourced():
    from importlib.metadata import version

    assert version("cleanclf") == cleanclf.__version__


# ----------------------------------------------------------------------------- requires / compatibility
def _with_requires(bundle, **changes):
    man = json.loads((bundle / "manifest.json").read_text())
    for k, v in changes.items():
        if v is None:
            man["requires"].pop(k, None)
        else:
            man["requires"][k] = v
    (bundle / "manifest.json").write_text(json.dumps(man))  # requires is not hashed: no rehash needed
    return man


def test_update_component_records_what_the_bundle_needs(bundle):
    import platform

    import sklearn

    req = json.loads((bundle / "manifest.json").read_text())["requires"]
    minor = ".".join(cleanclf.__version__.split(".")[:2])
    assert req["cleanclf"].startswith(f">={cleanclf.__version__},<") and compat.parse_range(req["cleanclf"])[1] > \
        compat.version_tuple(minor)
    assert req["scikit-learn"] == sklearn.__version__
    assert req["python"] == platform.python_version()
    assert req["feature_code"] == feature_fingerprint() and len(req["feature_code"]) == 64
    assert "onnxruntime" not in req  # no image component
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a bundle written by this code loads without a word
        models.verify_bundle(bundle)


def test_rewriting_another_component_keeps_the_text_models_records(bundle):
    _with_requires(bundle, feature_code="0" * 64, **{"scikit-learn": "1.9.0"})
    (bundle / "CARD.md").write_text("account rule\n")
    models.update_component(bundle, "account", {"files": ["CARD.md"], "min_posts": {}})
    req = json.loads((bundle / "manifest.json").read_text())["requires"]
    assert req["feature_code"] == "0" * 64 and req["scikit-learn"] == "1.9.0"


def test_changed_feature_code_is_refused_with_what_to_do(bundle):
    _with_requires(bundle, feature_code="f" * 64)
    with pytest.raises(BundleError, match=r"feature code.*cleanclf train"):
        cleanclf.load(bundle, trust=True)


def test_feature_fingerprint_follows_behaviour(monkeypatch):
    from cleanclf.text import normalize as norm

    before = feature_fingerprint()
    real = norm.normalize
    monkeypatch.setattr(norm, "normalize", lambda t: real(t).replace("微信", "weixin"))
    feature_fingerprint.cache_clear()
    try:
        assert feature_fingerprint() != before
    finally:
        monkeypatch.undo()
        feature_fingerprint.cache_clear()
    assert feature_fingerprint() == before
    assert len(compat.PROBES) >= 100 and len(set(compat.PROBES)) > 0.95 * len(compat.PROBES)


def test_other_scikit_learn_minor_is_refused_patch_only_warns(bundle):
    import sklearn

    major, minor = compat.version_tuple(sklearn.__version__)[:2]
    _with_requires(bundle, **{"scikit-learn": f"{major}.{minor + 1}.0"})
    with pytest.raises(BundleError, match=rf"scikit-learn {major}\.{minor + 1}\.0 pickle.*pip install"):
        models.verify_bundle(bundle)
    _with_requires(bundle, **{"scikit-learn": f"{major}.{minor}.999"})
    with pytest.warns(BundleCompatibilityWarning, match="same minor series"):
        models.verify_bundle(bundle)


def test_bundle_needing_a_newer_cleanclf_is_refused_an_older_one_warns(bundle):
    _with_requires(bundle, cleanclf=">=99.0.0,<99.1")
    with pytest.raises(BundleError, match=r"needs cleanclf >=99\.0\.0,<99\.1.*pip install"):
        cleanclf.load(bundle, trust=True)
    _with_requires(bundle, cleanclf=">=0.0.1,<0.1")
    with pytest.warns(BundleCompatibilityWarning, match="written for cleanclf"):
        models.verify_bundle(bundle)


def test_harmless_differences_warn(bundle):
    _with_requires(bundle, python="2.7.18")
    with pytest.warns(BundleCompatibilityWarning, match="Python 2.7.18"):
        models.verify_bundle(bundle)
    man = {"name": "img", "version": "1", "files": {}, "components": {"image": {"files": []}},
           "requires": {"cleanclf": compat.minor_range(cleanclf.__version__), "onnxruntime": "0.0.1"}}
    with pytest.warns(BundleCompatibilityWarning, match="onnxruntime 0.0.1"):
        models.check_compatible(man)


def test_bundle_without_records_loads_with_one_warning(bundle):
    man = json.loads((bundle / "manifest.json").read_text())
    del man["requires"]
    (bundle / "manifest.json").write_text(json.dumps(man))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = cleanclf.load(bundle, trust=True)
    assert clf.model_id == "tiny@1.2.3"
    ours = [w for w in caught if issubclass(w.category, BundleCompatibilityWarning)]
    assert len(ours) == 1 and "written before" in str(ours[0].message)
