"""Hostile images: bombs, huge and long animations, broken / mislabelled files, odd modes,
paths that try to leave ``images_root``, special files, and URLs (never fetched).

Complements tests/test_image_decode.py (which covers declared-size bombs, EXIF, broken files
and ``resolve_image_path`` on its own): here the same hostility goes through the scoring
paths a batch uses (``ImageModel.score_images``, ``score_accounts``, ``cleanclf score``), and
memory is measured in a subprocess for the largest cases.
"""

from __future__ import annotations

import io
import json
import os
import socket
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest
from _alarm import Alarm
from PIL import Image

from cleanclf.errors import ImageError
from cleanclf.image.decode import MAX_FRAMES, decode_image, iter_frames, resolve_image_path

GB = 1 << 30


# ---------------------------------------------------------------- fixtures made here
def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def write_flat_png(path: Path, w: int, h: int, value: int = 0) -> Path:
    """A valid greyscale PNG of one colour, streamed through zlib (no w*h buffer in this process)."""
    co = zlib.compressobj(9)
    row = b"\x00" + bytes([value]) * w
    block = row * 256
    parts = [co.compress(block) for _ in range(h // 256)]
    parts.append(co.compress(row * (h % 256)))
    parts.append(co.flush())
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", b"".join(parts))
                     + _chunk(b"IEND", b""))
    return path


def write_long_gif(path: Path, n_frames: int = 300, size: int = 400) -> Path:
    """``n_frames`` full-size frames alternating two colours (Pillow merges identical ones)."""
    pal = [255, 0, 0, 0, 0, 255] + [0] * 762
    frames = []
    for i in range(n_frames):
        f = Image.new("P", (size, size), i % 2)
        f.putpalette(pal)
        frames.append(f)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=10, loop=0, optimize=False)
    return path


def _gradient(w=96, h=64) -> Image.Image:
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None]
    return Image.fromarray(np.stack([x + 0 * y, y + 0 * x, (x + y) / 2], axis=2).astype(np.uint8))


@pytest.fixture(scope="module")
def image_clf():
    import cleanclf

    return cleanclf.load()


@pytest.fixture(scope="module")
def long_gif(tmp_path_factory):
    return write_long_gif(tmp_path_factory.mktemp("gif") / "long.gif")


@pytest.fixture()
def no_network(monkeypatch):
    """Any attempt to open a connection or resolve a name fails the test."""
    calls = []

    def refuse(*a, **k):
        calls.append(a)
        raise AssertionError(f"network access attempted: {a!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return calls


# ---------------------------------------------------------------- bombs, size, frames
def test_12000x12000_png_is_refused_from_its_header(tmp_path):
    path = write_flat_png(tmp_path / "huge.png", 12_000, 12_000)
    assert path.stat().st_size < 1_000_000  # a tiny file that would decode to 144 Mpx
    with pytest.raises(ImageError, match="12000x12000 = 144,000,000 pixels is over the limit"):
        decode_image(path)


def test_long_animation_gives_at_most_max_frames(long_gif):
    assert Image.open(long_gif).n_frames == 300
    frames = list(iter_frames(long_gif))
    assert len(frames) == MAX_FRAMES
    colours = {f.getpixel((0, 0)) for f in frames}
    assert colours == {(255, 0, 0), (0, 0, 255)}  # frames from across the animation, not frame 0 repeated


_RSS_SCRIPT = textwrap.dedent("""
    import json, resource, sys
    import numpy as np
    import cleanclf
    clf = cleanclf.load()
    clf.score_images([np.full((64, 64, 3), 128, np.uint8)])   # warm: onnxruntime session built
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    res = clf.score_images([sys.argv[1]], mode=sys.argv[2])[0]
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"growth_kb": after - before, "peak_kb": after, "result": res}))
""")


def _rss_run(path: Path, mode: str = "exact") -> dict:
    r = subprocess.run([sys.executable, "-c", _RSS_SCRIPT, str(path), mode], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("case", ["12000x12000", "largest_allowed", "300_frames"])
def test_memory_per_image_is_bounded(tmp_path, image_clf, long_gif, case):
    if case == "12000x12000":
        path = write_flat_png(tmp_path / "huge.png", 12_000, 12_000)
    elif case == "largest_allowed":  # 6300^2 = 39.7 Mpx, just under MAX_PIXELS: really decoded
        path = write_flat_png(tmp_path / "big.png", 6_300, 6_300, value=90)
    else:
        path = long_gif
    out = _rss_run(path)
    growth = out["growth_kb"] * 1024
    assert growth < 1.5 * GB, (case, out)
    if case == "12000x12000":
        assert out["result"]["error"]["type"] == "ImageError"
        assert growth < 100 << 20  # refused before any pixel is decoded
    else:
        assert 0.0 <= out["result"]["lewd_images"] <= 1.0, out


# ---------------------------------------------------------------- odd but valid files are scored
def _odd_images(root: Path) -> dict[str, str]:
    g = _gradient()
    g.convert("CMYK").save(root / "cmyk.jpg", "JPEG")
    Image.fromarray((np.arange(96 * 64, dtype=np.uint16).reshape(64, 96) * 10)).save(root / "i16.png")
    pal = g.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pal.info["transparency"] = 0
    pal.save(root / "pal_transparent.png", transparency=0)
    g.save(root / "png_named.jpg", "PNG")  # mislabelled, but a valid image
    g.convert("RGBA").save(root / "rgba.webp", "WEBP")
    g.save(root / "plain.tiff", "TIFF")
    return {k: k for k in ("cmyk.jpg", "i16.png", "pal_transparent.png", "png_named.jpg", "rgba.webp", "plain.tiff")}


def _broken_images(root: Path) -> list[str]:
    good = io.BytesIO()
    _gradient().save(good, "JPEG")
    (root / "truncated.jpg").write_bytes(good.getvalue()[: len(good.getvalue()) // 3])
    (root / "empty.png").write_bytes(b"")
    (root / "text.png").write_text("<html>not an image</html>", encoding="utf-8")
    (root / "zeros.gif").write_bytes(b"GIF89a" + b"\x00" * 64)
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"
    (root / "ghostscript.eps.png").write_bytes(eps)  # EPS would start Ghostscript: not an allowed format
    (root / "adir.png").mkdir()
    return ["truncated.jpg", "empty.png", "text.png", "zeros.gif", "ghostscript.eps.png", "adir.png", "missing.png"]


def test_odd_modes_are_scored_and_broken_files_are_per_image_errors(tmp_path, image_clf):
    good = list(_odd_images(tmp_path))
    bad = _broken_images(tmp_path)
    res = image_clf.score_images(good + bad, images_root=tmp_path)
    assert len(res) == len(good) + len(bad)
    for name, r in zip(good, res):
        assert "error" not in r, (name, r)
        assert 0.0 <= r["lewd_images"] <= 1.0
    for name, r in zip(bad, res[len(good):]):
        assert r.get("error", {}).get("type") == "ImageError", (name, r)
        assert name in r["error"]["message"]


# ---------------------------------------------------------------- paths and special files
def _escape_paths(tmp_path: Path) -> tuple[Path, list[str]]:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    outside = tmp_path / "outside.png"
    _gradient().save(outside)
    os.symlink(outside, root / "link_out.png")
    os.symlink(tmp_path, root / "dir_out")
    os.symlink("/dev/zero", root / "zero.png")
    return root, ["../outside.png", "sub/../../outside.png", str(outside), "link_out.png", "dir_out/outside.png",
                  "zero.png", "/etc/passwd", "//etc/passwd", "sub/../../../../../../etc/hostname"]


def test_paths_leaving_images_root_are_refused(tmp_path):
    root, bad = _escape_paths(tmp_path)
    for p in bad:
        with pytest.raises(ImageError, match="outside images_root"):
            resolve_image_path(p, root)


def test_fifo_and_devices_do_not_block_and_are_errors(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    os.mkfifo(root / "pipe.png")
    with Alarm(20):
        with pytest.raises(ImageError, match="not a regular file"):
            decode_image("pipe.png", images_root=root)
        with pytest.raises(ImageError, match="not a regular file"):
            decode_image("/dev/zero")  # without images_root a path is used as given, but still only files


def test_lone_surrogate_and_nul_paths_are_image_errors(tmp_path):
    for p in ["\ud800.png", "a\x00b.png"]:
        with pytest.raises(ImageError, match="path"):
            decode_image(p, images_root=tmp_path)


def test_urls_are_never_fetched(tmp_path, image_clf, no_network):
    urls = ["http://127.0.0.1:9/a.jpg", "https://example.com/a.jpg", "ftp://example.com/a.jpg",
            "file:///etc/passwd", "data:image/png;base64,iVBORw0KGgo=", "HTTP://EXAMPLE.COM/X.PNG",
            "//example.com/a.jpg"]
    res = image_clf.score_images(urls)
    res_root = image_clf.score_images(urls, images_root=tmp_path)
    for u, r, r2 in zip(urls, res, res_root):
        assert r["error"]["type"] == "ImageError" and r2["error"]["type"] == "ImageError", (u, r, r2)
    assert no_network == []


def _hostile_image_dump(tmp_path: Path) -> tuple[Path, Path, list[str], list[str]]:
    root, escapes = _escape_paths(tmp_path)
    good = list(_odd_images(root))
    bad = _broken_images(root)
    os.mkfifo(root / "pipe.png")
    urls = ["http://127.0.0.1:9/a.jpg", "https://example.com/x.png"]
    hostile = bad + escapes + urls + ["pipe.png", "\ud800.png"]
    dump = root / "dump.jsonl"
    with open(dump, "w", encoding="utf-8") as fh:
        for i, p in enumerate(good + hostile):
            fh.write(json.dumps({"account_id": f"a{i}", "posts": [{"id": "p0", "images": [p]}]}) + "\n")
    return root, dump, good, hostile


def test_score_accounts_gives_each_image_a_score_or_an_error(tmp_path, image_clf, no_network):
    from cleanclf.batch import score_accounts
    from cleanclf.schema import iter_records

    root, dump, good, hostile = _hostile_image_dump(tmp_path)
    with Alarm(300):
        out = list(score_accounts(iter_records(dump), model=image_clf, images_root=root, posts="all"))
    assert [o["account_id"] for o in out] == [f"a{i}" for i in range(len(good) + len(hostile))]
    for o in out[: len(good)]:
        assert o["error"] is None and o["posts"][0]["errors"] == [] and o["scores"]["lewd_images"] is not None
    for o, p in zip(out[len(good):], hostile):
        assert o["error"] is None  # a bad image is the post's error, not the account's
        errs = o["posts"][0]["errors"]
        assert len(errs) == 1 and errs[0]["source"] == "image" and errs[0]["type"] == "ImageError", (p, o)
        assert o["counts"]["errors"] == 1
    assert no_network == []


def test_cli_score_confines_images_to_images_root(tmp_path, image_clf, no_network, capsys):
    from cleanclf.cli import main

    root, dump, good, hostile = _hostile_image_dump(tmp_path)
    out = tmp_path / "v.jsonl"
    with Alarm(300):
        rc = main(["score", str(dump), "-o", str(out), "--no-progress", "--posts", "all",
                   "--images-root", str(root)], model=image_clf)
    assert rc == 3  # most images are hostile and refused: the run completes, and its exit code says so
    recs = [json.loads(line) for line in out.read_bytes().splitlines()]
    assert len(recs) == len(good) + len(hostile)
    errs = [r["posts"][0]["errors"] for r in recs]
    assert all(e == [] for e in errs[: len(good)])
    assert all(len(e) == 1 and e[0]["type"] == "ImageError" for e in errs[len(good):])
    # the outside file exists and is a valid image: only the root check kept it out
    assert any("outside images_root" in e[0]["message"] for e in errs[len(good):])
    assert no_network == []
