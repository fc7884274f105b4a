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


# ------------------------------------------------------------------ int8 screening (mode="fast")
def _screen_images(tmp_path):
    rng = np.random.default_rng(3)
    paths = []
    for i, (w, h) in enumerate([(224, 224), (800, 600), (1600, 1200)]):
        a = np.clip(rng.normal(128, 60, (h, w, 3)), 0, 255).astype(np.uint8)
        a[h // 4: h // 2, w // 4: w // 2] = (224, 172, 140)
        p = tmp_path / f"s{i}.jpg"
        Image.fromarray(a).save(p, quality=90)
        paths.append(p)
    return paths


def test_bundle_ships_a_hashed_int8_screen(model):
    section = verify_bundle(bundle_dir("default"))["components"]["image"]
    screen = section["embedder"]["screen"]
    assert screen["file"] in section["files"]
    assert model.embedder.screen_model_path.endswith(screen["file"])
    assert model.embedder.screen_sha256 == screen["sha256"]


def test_screen_refines_exactly_the_frames_near_the_threshold(tmp_path, model, monkeypatch):
    monkeypatch.setattr("cleanclf.image.embed.int8_exact_cpu", lambda: True)  # as on a VNNI CPU
    paths = _screen_images(tmp_path)
    f32 = [r["lewd_images"] for r in model.score_images(paths, mode="fast", screen=False)]
    # an infinite margin re-scores every frame in float32: identical scores
    everything = ImageModel(model.embedder, model.head, model.thresholds, screen_margin=float("inf"))
    assert [r["lewd_images"] for r in everything.score_images(paths, mode="fast", screen=True)] == f32
    # a zero margin re-scores none; the int8 scores are close to float32 but not equal (the int8 graph ran)
    nothing = ImageModel(model.embedder, model.head, model.thresholds, screen_margin=0.0)
    i8 = [r["lewd_images"] for r in nothing.score_images(paths, mode="fast", screen=True)]
    assert i8 != f32
    logit = lambda p: np.log(np.asarray(p)) - np.log1p(-np.asarray(p))  # noqa: E731
    assert np.abs(logit(i8) - logit(f32)).max() < model.screen_margin / 2
    # the default threshold: these benign-looking frames are far below it and keep their int8 score
    default = [r["lewd_images"] for r in model.score_images(paths, mode="fast")]
    assert default == i8
    # a threshold within the margin of a frame's int8 logit sends that frame (only) to float32
    z = logit(i8)
    near = ImageModel(model.embedder, model.head, {"lewd_images": float(1 / (1 + np.exp(-(z[1] + 0.5))))},
                      screen_margin=1.0)
    refined = [abs(zi - (z[1] + 0.5)) < 1.0 for zi in z]
    assert refined[1] and not all(refined)  # the fixture's frames are far enough apart for this test
    mixed = [r["lewd_images"] for r in near.score_images(paths, mode="fast")]
    assert mixed == [f if r else q for f, q, r in zip(f32, i8, refined)]
    assert [r["lewd_images"] for r in model.score_images(paths, mode="fast", screen=False)] == f32
    # a CPU without VNNI could saturate int8 sums: fast mode then stays float32 unless told otherwise
    monkeypatch.setattr("cleanclf.image.embed.int8_exact_cpu", lambda: False)
    assert [r["lewd_images"] for r in model.score_images(paths, mode="fast")] == f32
    assert [r["lewd_images"] for r in model.score_images(paths, mode="fast", screen=True)] == i8
    # exact mode never screens unless asked
    exact = [r["lewd_images"] for r in model.score_images(paths, mode="exact")]
    assert exact == [r["lewd_images"] for r in model.score_images(paths, mode="exact", screen=False)]


def test_screen_arguments_are_checked(tmp_path, model):
    from cleanclf.image import OnnxEmbedder

    x = [np.full((32, 32, 3), 80, np.uint8)]
    with pytest.raises(InputTypeError, match="screen"):
        model.score_images(x, screen="yes")
    with pytest.raises(InputTypeError, match="refine"):
        model.embedder.embed_frames(x, refine=True)
    with pytest.raises(InputError, match="refine: expected a boolean mask of 1 frames"):
        model.embedder.embed_frames(x, refine=lambda e: np.ones(3, bool))
    with pytest.raises(InputError, match="screen_model_path"):
        OnnxEmbedder(model_path=model.embedder.model_path).embed_frames(x, refine=lambda e: e[:, 0] > 0)
    with pytest.raises(InputError, match="screen_margin"):
        ImageModel(model.embedder, model.head, screen_margin=-1)
    plain = ImageModel(OnnxEmbedder(model_path=model.embedder.model_path), model.head)
    assert plain.score_images(x, mode="fast") == model.score_images(x, mode="fast", screen=False)


def test_tampered_screen_graph_is_refused(tmp_path, model):
    from cleanclf.errors import BundleError
    from cleanclf.image import OnnxEmbedder

    fake = tmp_path / "int8.onnx"
    fake.write_bytes(b"not a model")
    emb = OnnxEmbedder(model_path=model.embedder.model_path, screen_model_path=str(fake), screen_sha256="0" * 64)
    with pytest.raises(BundleError, match="screen_model_path.*sha256"):
        emb.embed_frames([np.zeros((8, 8, 3), np.uint8)], refine=lambda e: e[:, 0] > 0)


def test_int8_exact_cpu_reads_the_vnni_flags():
    from cleanclf.image.embed import int8_exact_cpu

    assert int8_exact_cpu("processor : 0\nflags\t\t: fpu avx2 avx512f avx512_vnni\n") is True
    assert int8_exact_cpu("flags : fpu avx2 avx_vnni") is True
    assert int8_exact_cpu("flags : fpu sse4_2 avx2 fma") is False
    assert int8_exact_cpu("Features : fp asimd asimddp") is False  # aarch64: not measured, so off
    assert isinstance(int8_exact_cpu(), bool)
