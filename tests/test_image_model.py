"""ImageModel and the Classifier contract: one result per input, in order, errors as entries."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from cleanclf.classify import Classifier
from cleanclf.errors import InputError, InputTypeError
from cleanclf.image import ImageModel
from cleanclf.models import bundle_dir, verify_bundle


@pytest.fixture(scope="module")
def model():
    d = bundle_dir("default")
    return ImageModel.from_bundle(d, verify_bundle(d)["components"]["image"])


def test_bundle_section_and_thresholds(model):
    section = verify_bundle(bundle_dir("default"))["components"]["image"]
    assert section["categories"] == ["lewd_images"]
    assert {"image_embed.onnx", "image_head.json", "LICENSE-open_nsfw.txt"} <= set(section["files"])
    assert section["backbone"]["upstream_sha256"].startswith("864bb37b")
    assert model.thresholds == {"lewd_images": section["thresholds"]["lewd_images"]}


def test_one_output_per_input_in_order(tmp_path, model):
    root = tmp_path / "root"
    root.mkdir()
    Image.new("RGB", (300, 200), (10, 200, 30)).save(root / "ok.jpg")
    (root / "bad.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (tmp_path / "secret.png").write_bytes(b"x")
    os.symlink(tmp_path / "secret.png", root / "link.png")
    buf = io.BytesIO()
    Image.new("RGB", (50, 50), (0, 0, 0)).save(buf, "PNG")
    items = ["ok.jpg", "bad.jpg", "../secret.png", "link.png", str(tmp_path / "secret.png"),
             "https://example.com/a.jpg", buf.getvalue(), None, "missing.jpg", np.zeros((9, 9, 3), np.uint8)]
    out = model.score_images(items, images_root=root)
    assert len(out) == len(items)
    ok = [i for i, r in enumerate(out) if "error" not in r]
    assert ok == [0, 6, 9]
    for i in ok:
        assert 0.0 <= out[i]["lewd_images"] <= 1.0 and out[i]["labels"] == []
    assert "outside images_root" in out[2]["error"]["message"]
    assert "outside images_root" in out[3]["error"]["message"]
    assert "outside images_root" in out[4]["error"]["message"]
    assert out[5]["error"]["message"].endswith("URLs are not fetched; expected a local file path")
    assert out[7]["error"]["type"] == "InputTypeError"
    assert out[1]["error"]["type"] == "ImageError"
    # the same image alone scores the same as inside a batch
    assert model.score_images([root / "ok.jpg"])[0]["lewd_images"] == pytest.approx(out[0]["lewd_images"], abs=1e-6)


def test_unusable_in_memory_image_is_an_error_entry(model):
    from PIL import Image as PILImage

    def broken_convert(*args, **kwargs):
        raise ValueError("conversion not supported")

    odd = PILImage.new("CMYK", (4, 4))
    odd.convert = broken_convert  # an image Pillow cannot turn into RGB
    out = model.score_images([odd, np.zeros((8, 8, 3), np.uint8)])
    assert out[0]["error"]["type"] == "ImageError" and "lewd_images" in out[1]


def test_label_follows_threshold(model):
    low = ImageModel(model.embedder, model.head, {"lewd_images": 0.0})
    assert low.score_images([np.zeros((8, 8, 3), np.uint8)])[0]["labels"] == ["lewd_images"]


def test_animated_score_is_max_over_frames(tmp_path, model):
    frames = [Image.new("RGB", (64, 64), c) for c in [(0, 0, 0), (224, 172, 140), (255, 255, 255)]]
    path = tmp_path / "a.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50)
    singles = model.score_images(_frames(path))
    anim = model.score_images([path])[0]["lewd_images"]
    assert anim == pytest.approx(max(s["lewd_images"] for s in singles), abs=1e-6)


def _frames(path):
    img = Image.open(path)
    out = []
    for i in range(img.n_frames):
        img.seek(i)
        out.append(np.asarray(img.convert("RGB")))
    return out


def test_classifier_facade_uses_image_model(tmp_path, model):
    clf = Classifier(image_model=model, manifest={"name": "t", "version": "0"})
    Image.new("RGB", (80, 60), (120, 120, 120)).save(tmp_path / "a.png")
    assert "lewd_images" in clf.score_image(tmp_path / "a.png")
    assert clf.thresholds == model.thresholds
    with pytest.raises(InputError, match="URLs are not fetched"):
        clf.score_image("http://example.com/x.jpg")
    with pytest.raises(InputTypeError):
        clf.score_images("a.png")
    with pytest.raises(ValueError, match="mode"):
        model.score_images([tmp_path / "a.png"], mode="turbo")
