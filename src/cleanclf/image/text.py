"""Text and QR codes in images: what escort ads put in pictures, read as data (optional extra ``ocr``).

An ad card ("小卡片": 上门 包夜 加微信 ...), a chat screenshot with a QQ number or a WeChat / QQ-group
QR code carries the same solicitation as a post's text. :class:`ImageTextReader` reads it:

* the image is decoded by :func:`cleanclf.image.decode.iter_frames`, the one image-loading path
  (paths confined to ``images_root``, no URLs, 40 Mpx header check, odd modes to RGB, EXIF
  orientation); of an animated image only the **first frame** is read;
* QR codes are decoded with ``zxing-cpp`` (cheap) and typed by :func:`classify_qr`; a payload is
  data: it is never fetched or opened;
* text is read with ``rapidocr-onnxruntime`` (PP-OCRv4 detection + recognition ONNX models, shipped
  inside its wheel: nothing is downloaded), line by line with boxes in image pixels;
* ``mode="gated"`` reads text only where a cheap gate says there is some: a QR code, or the OCR
  *detection* model run alone on the image reduced to ``gate_side`` pixels (the long side) finding
  at least ``gate_min_pixels`` text pixels. ``mode="all"`` reads every image.

The text read goes through the same normaliser, contact extractor and text model as post text;
that happens in :mod:`cleanclf.scoring` (``image_text=`` option), not here.

>>> classify_qr("https://u.wechat.com/EXAMPLE01")
{'type': 'wechat', 'value': 'u.wechat.com/EXAMPLE01', 'contact': True}
>>> classify_qr("tel:+86 138-0000-0000")
{'type': 'phone', 'value': '8613800000000', 'contact': True}
>>> classify_qr("wxp://f2f0EXAMPLE")["type"]
'payment'
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np
from PIL import Image

from ..errors import CleanclfError, InputError, MissingDependencyError, describe, error_dict
from ..image_text import IMAGE_TEXT_MODES, OCR_INSTALL, check_image_text, require_ocr
from .decode import iter_frames


# (compiled pattern on the lower-cased payload without scheme, type); first match wins
_QR_TYPES = (
    (re.compile(r"^(?:u\.wechat\.com/|weixin\.qq\.com/r/)"), "wechat"),
    (re.compile(r"^weixin\.qq\.com/g/"), "wechat_group"),
    (re.compile(r"^(?:qm\.qq\.com/|qr\.qq\.com/|jq\.qq\.com/)"), "qq"),
    (re.compile(r"^(?:qr\.alipay\.com/|wx\.tenpay\.com/|payapp\.weixin\.qq\.com/|qr\.95516\.com/)"), "payment"),
)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.I)


def classify_qr(payload: str) -> dict:
    """Type one QR payload: ``{"type", "value", "contact"}``; never fetches anything.

    Types: ``wechat`` (``u.wechat.com/…``, ``weixin.qq.com/r/…``), ``wechat_group``
    (``weixin.qq.com/g/…``), ``qq`` (``qm.qq.com``, ``qr.qq.com``, ``jq.qq.com``), ``phone``
    (``tel:``), ``payment`` (``wxp://``, Alipay / WeChat Pay / UnionPay links: not a contact
    route), ``url`` (any other ``http(s)://`` or ``www.`` link), ``text`` (anything else).
    ``value`` is the payload without its scheme (digits only for a phone), cut to 200 characters.

    >>> classify_qr("HTTPS://weixin.qq.com/g/AbC")["type"]
    'wechat_group'
    >>> classify_qr("https://example.org/menu")
    {'type': 'url', 'value': 'example.org/menu', 'contact': True}
    >>> classify_qr("just words")["contact"]
    False
    """
    if not isinstance(payload, str):
        raise InputError(f"payload: expected str, got {describe(payload)}")
    raw = payload.strip()
    low = raw.lower()
    if low.startswith("tel:"):
        digits = re.sub(r"\D", "", raw[4:])
        return {"type": "phone", "value": digits[:32], "contact": bool(digits)}
    if low.startswith("wxp://"):
        return {"type": "payment", "value": raw[:200], "contact": False}
    rest = _SCHEME.sub("", raw)
    rest_low = rest.lower()
    for pat, kind in _QR_TYPES:
        if pat.match(rest_low):
            return {"type": kind, "value": rest[:200], "contact": kind != "payment"}
    if _SCHEME.match(raw) and low.startswith(("http://", "https://")) or low.startswith("www."):
        return {"type": "url", "value": rest[:200], "contact": True}
    return {"type": "text", "value": raw[:200], "contact": False}


def _box(points) -> list[int]:
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return [int(pts[:, 0].min()), int(pts[:, 1].min()), int(round(pts[:, 0].max())), int(round(pts[:, 1].max()))]


class ImageTextReader:
    """Reads text lines and QR codes from images; one result dict per image, never an exception.

    ``mode``: ``"gated"`` (read text where the gate finds some) or ``"all"``; ``gate_side``: the long
    side, in pixels, the gate's detection pass works at; ``gate_min_pixels``: text pixels (detection
    probability over 0.3 at that scale) that open the gate (100: chosen on a dev set drawn with another
    seed, where the image with the least text had 446 and 2 of 100 text-less photos reached 100;
    ``benchmarks/bench_image_text.py --gate-dev``); ``min_score``: recognition confidence
    below which a line is dropped; ``max_side``: the long side OCR works at (larger images are
    reduced). Sessions are created on first use and dropped when pickled.

    A result is ``{"gate": "qr" | "text" | "closed" | "all", "read": bool, "text": str,
    "lines": [{"text", "box": [x0, y0, x1, y1], "score"}], "qr": [{"type", "value", "payload",
    "contact", "box"}], "frames_read": 1, "size": [w, h]}`` or ``{"error": {"type", "message"}}``.

    >>> r = ImageTextReader(mode="gated")
    >>> r.mode, r.gate_side
    ('gated', 320)
    """

    def __init__(self, mode: str = "gated", *, gate_side: int = 320, gate_min_pixels: int = 100,
                 min_score: float = 0.5, max_side: int = 2000):
        self.mode = mode
        self.gate_side = gate_side
        self.gate_min_pixels = gate_min_pixels
        self.min_score = min_score
        self.max_side = max_side

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_engine", None)  # onnxruntime sessions do not pickle; re-created lazily
        return state

    def _check(self) -> None:
        if self.mode not in ("gated", "all"):
            raise InputError(f"mode: expected 'gated' or 'all', got {describe(self.mode)}")

    @property
    def engine(self):
        eng = self.__dict__.get("_engine")
        if eng is None:
            require_ocr()
            from rapidocr_onnxruntime import RapidOCR

            # the models are the ones inside the wheel (config.yaml paths); one thread per
            # session: batch parallelism comes from worker processes
            eng = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)
            self._engine = eng
        return eng

    # ------------------------------------------------------------------ pieces
    def read_qr(self, img: Image.Image) -> list[dict]:
        """QR codes of one RGB image, typed (:func:`classify_qr`), each with its box."""
        require_ocr()
        import zxingcpp

        out = []
        for res in zxingcpp.read_barcodes(img.convert("L"), formats=(zxingcpp.BarcodeFormat.QRCode,
                                                                     zxingcpp.BarcodeFormat.MicroQRCode)):
            payload = res.text or ""
            if not payload:
                continue
            p = res.position
            pts = [(p.top_left.x, p.top_left.y), (p.top_right.x, p.top_right.y),
                   (p.bottom_right.x, p.bottom_right.y), (p.bottom_left.x, p.bottom_left.y)]
            out.append({**classify_qr(payload), "payload": payload[:500], "box": _box(pts)})
        return out

    def text_pixels(self, img: Image.Image) -> int:
        """The gate's text-presence signal: pixels the OCR detection model alone marks as text
        (probability > 0.3) on the image reduced to ``gate_side`` on its long side."""
        w, h = img.size
        scale = min(1.0, self.gate_side / max(w, h))
        nw, nh = max(32, int(round(w * scale / 32)) * 32), max(32, int(round(h * scale / 32)) * 32)
        arr = np.asarray(img.resize((nw, nh), Image.BILINEAR), dtype=np.float32)[:, :, ::-1]
        x = ((arr / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[np.newaxis].astype(np.float32)
        prob = self.engine.text_det.infer(x)[0]
        return int((prob > 0.3).sum())

    def read_lines(self, img: Image.Image) -> list[dict]:
        """Text lines of one RGB image (detection + recognition), top to bottom."""
        w, h = img.size
        scale = min(1.0, self.max_side / max(w, h))
        if scale < 1.0:
            img = img.resize((max(1, int(w * scale)), max(1, int(h * scale))), Image.BILINEAR)
        bgr = np.ascontiguousarray(np.asarray(img)[:, :, ::-1])
        # no angle classifier: ad text is upright, and it costs a quarter of the time
        res, _ = self.engine(bgr, use_cls=False)
        lines = []
        for pts, text, score in res or ():
            if not text or float(score) < self.min_score:
                continue
            box = [int(round(v / scale)) for v in _box(pts)]
            lines.append({"text": str(text), "box": box, "score": round(float(score), 4)})
        return lines

    # ------------------------------------------------------------------ public
    def read(self, source, *, images_root=None) -> dict:
        """Read one image (a path, bytes, a file object, a PIL image or an array); see the class."""
        self._check()
        try:
            frames = iter_frames(source, images_root=images_root)
            try:
                img = next(frames)  # animated: the first frame only
            finally:
                frames.close()
            qr = self.read_qr(img)
            if self.mode == "all":
                gate = "all"
            elif qr:
                gate = "qr"
            elif self.text_pixels(img) >= self.gate_min_pixels:
                gate = "text"
            else:
                gate = "closed"
            lines = self.read_lines(img) if gate != "closed" else []
        except MissingDependencyError:
            raise
        except CleanclfError as exc:
            return {"error": error_dict(exc)}
        except Exception as exc:  # noqa: BLE001 - a hostile image never crashes a batch
            return {"error": {"type": type(exc).__name__, "message": f"reading text in the image failed: {exc}"}}
        return {"gate": gate, "read": gate != "closed", "text": "\n".join(ln["text"] for ln in lines),
                "lines": lines, "qr": qr, "frames_read": 1, "size": list(img.size)}

    def read_many(self, sources: Sequence[Any], *, images_root=None) -> list[dict]:
        """:meth:`read` for each source (one result per input, in order)."""
        return [self.read(s, images_root=images_root) for s in sources]


__all__ = ["ImageTextReader", "classify_qr", "check_image_text", "require_ocr", "IMAGE_TEXT_MODES", "OCR_INSTALL"]
