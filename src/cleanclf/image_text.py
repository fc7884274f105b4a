"""Image text as evidence: text and QR codes read from an account's images become post-like units.

Used by :class:`cleanclf.scoring.AccountScorer` when ``image_text`` is ``"gated"`` or ``"all"``
(``cleanclf score --image-text``). For a chunk of accounts, :class:`ImageTextUnits`

* reads every image once per chunk with :class:`~cleanclf.image.text.ImageTextReader`
  (the one decode path; first frame of an animation; QR payloads typed, never fetched);
* scores every non-empty text read in ONE ``clf.score_texts`` call: the same normaliser, contact
  extractor and text model as post text;
* per account, adds each image whose text is **flagged** (a text category at or over its post
  threshold) as one more unit ``"<post id>#image<j>"`` before the account rule runs, its QR
  contacts added to its contacts (``"origin": "qr"``). So image text only adds flagged units:
  the account rule and its calibration are unchanged, an account without flagged image text gets
  the verdict it gets with ``image_text="off"`` plus the ``counts["image_text"]`` block and the
  ``image_text`` evidence, and a contact repeated across flagged images and posts gives the
  rule's repeated-contact support as it does between posts.

Verdict additions: ``counts["image_text"]`` ``{"images", "read", "gated_out", "failed",
"with_text", "with_qr", "units"}``; the units' entries in ``posts`` and their ``"post"`` evidence carry
``"origin": "image_text"``, ``"source_post_id"`` and ``"image"``; one ``{"kind": "image_text", ...}``
evidence entry per image with text or a QR code (flagged first, at most ``evidence["images"]``):
the image, the text read, its line boxes, the QR codes and the contacts.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .categories import TEXT_CATEGORIES
from .errors import InputError, MissingDependencyError, describe
from .schema import Account, Post

#: Values of the ``image_text`` scoring option (``--image-text``).
IMAGE_TEXT_MODES = ("off", "gated", "all")
#: How to get the optional dependencies.
OCR_INSTALL = 'pip install "cleanclf[ocr]"'

#: The ``origin`` of a unit made from an image's text.
ORIGIN = "image_text"
_MAX_LINES = 20
_MAX_TEXT = 500


def check_image_text(mode: Any) -> str:
    """Validate the ``image_text`` option (one of :data:`IMAGE_TEXT_MODES`).

    >>> check_image_text("gated")
    'gated'
    >>> check_image_text("some")
    Traceback (most recent call last):
    ...
    cleanclf.errors.InputError: image_text: expected one of ('off', 'gated', 'all'), got 'some' (str)
    """
    if mode not in IMAGE_TEXT_MODES:
        raise InputError(f"image_text: expected one of {IMAGE_TEXT_MODES}, got {describe(mode)}")
    return mode


def require_ocr() -> None:
    """Raise :class:`~cleanclf.errors.MissingDependencyError` naming the install when the ``ocr``
    extra (``rapidocr-onnxruntime``, ``zxing-cpp``) is not installed."""
    missing = []
    for mod, dist in (("rapidocr_onnxruntime", "rapidocr-onnxruntime"), ("zxingcpp", "zxing-cpp")):
        try:
            __import__(mod)
        except ImportError:
            missing.append(dist)
    if missing:
        raise MissingDependencyError(
            f"reading text and QR codes in images needs {' and '.join(missing)}: {OCR_INSTALL}")


def unit_id(post_id: str, image_index: int) -> str:
    """The id of the unit made from image ``image_index`` of post ``post_id``.

    >>> unit_id("p1", 0)
    'p1#image0'
    """
    return f"{post_id}#image{image_index}"


class ImageTextUnits:
    """Reads and scores the images of one chunk of accounts; builds each account's verdict with them."""

    def __init__(self, reader, clf, post_thresholds: dict, *, images_root=None):
        self.reader = reader
        self.clf = clf
        self.thresholds = post_thresholds
        self.images_root = images_root
        self.per_account: list[list[dict]] = []

    def read(self, accounts: list[Account]) -> "ImageTextUnits":
        cache: dict[str, dict] = {}
        entries: list[dict] = []
        self.per_account = []
        for acc in accounts:
            mine = []
            for i, p in enumerate(acc.posts):
                for j, path in enumerate(p.images):
                    if path not in cache:  # one read per image file per chunk, however often reposted
                        cache[path] = self.reader.read(path, images_root=self.images_root)
                    e = {"post_index": i, "image_index": j, "path": path, "read": cache[path], "result": None}
                    mine.append(e)
                    entries.append(e)
            self.per_account.append(mine)
        todo = [e for e in entries if (e["read"].get("text") or "").strip()]
        results = self.clf.score_texts([e["read"]["text"] for e in todo]) if todo else []
        if len(results) != len(todo):
            raise RuntimeError(f"score_texts returned {len(results)} results for {len(todo)} image texts")
        for e, r in zip(todo, results):
            e["result"] = r
        return self

    def _flagged(self, result: dict | None) -> bool:
        if result is None or "error" in result:
            return False
        return any(float(result.get(c, 0.0)) >= self.thresholds[c] for c in TEXT_CATEGORIES)

    @staticmethod
    def _qr_contacts(read: dict) -> list[dict]:
        return [{"kind": "contact", "type": q["type"], "value": q["value"], "origin": "qr"}
                for q in read.get("qr", ()) if q.get("contact")]

    def verdict(self, account_model, a: int, acc: Account, text_res, prof_res, img_res, *, model_id: str,
                posts: str) -> dict:
        """The verdict of account ``a`` of the chunk, its flagged image texts counted as units."""
        entries = self.per_account[a]
        units: dict[str, dict] = {}
        aug_posts = list(acc.posts)
        aug_text = list(text_res) if text_res is not None else [None] * len(acc.posts)
        aug_img = list(img_res) if img_res is not None else None
        for e in entries:
            if not self._flagged(e["result"]):
                continue
            post = acc.posts[e["post_index"]]
            uid = unit_id(post.id, e["image_index"])
            e["unit_id"] = uid
            units[uid] = e
            aug_posts.append(Post(uid, e["read"]["text"]))
            res = dict(e["result"])
            res["evidence"] = [*res.get("evidence", ()), *self._qr_contacts(e["read"])]
            aug_text.append(res)
            if aug_img is not None:
                aug_img.append([])
        if units:
            aug = replace(acc, posts=aug_posts)
            v = account_model.verdict(aug, aug_text, prof_res, aug_img, model_id=model_id, posts=posts)
        else:
            v = account_model.verdict(acc, text_res, prof_res, img_res, model_id=model_id, posts=posts)
        self._annotate(v, account_model, acc, entries, units)
        return v

    def _annotate(self, v: dict, account_model, acc: Account, entries: list[dict], units: dict) -> None:
        counts = v["counts"]
        # the units are not posts of the account: its own counts stay its own
        counts["posts"] = len(acc.posts)
        counts["posts_with_text"] = sum(1 for p in acc.posts if p.text)
        reads = [e["read"] for e in entries]
        counts["image_text"] = {
            "images": len(entries),
            "read": sum(1 for r in reads if r.get("read")),
            "gated_out": sum(1 for r in reads if r.get("gate") == "closed"),
            "failed": sum(1 for r in reads if "error" in r),
            "with_text": sum(1 for r in reads if (r.get("text") or "").strip()),
            "with_qr": sum(1 for r in reads if r.get("qr")),
            "units": len(units),
        }

        def mark(d: dict, e: dict) -> None:
            d["origin"] = ORIGIN
            d["source_post_id"] = acc.posts[e["post_index"]].id
            d["image"] = e["path"]

        for p in v.get("posts", ()):
            if p["id"] in units:
                mark(p, units[p["id"]])
        for ev in v["evidence"]:
            if ev.get("kind") == "post" and ev.get("post_id") in units:
                mark(ev, units[ev["post_id"]])
        shown = [e for e in entries if "error" not in e["read"] and ((e["read"].get("text") or "").strip()
                                                                       or e["read"].get("qr"))]
        shown.sort(key=lambda e: (not self._flagged(e["result"]), e["post_index"], e["image_index"]))
        limit = account_model.ev["images"]
        for e in shown[:limit]:
            r, res = e["read"], e["result"]
            text = r.get("text") or ""
            entry = {"kind": "image_text", "post_id": acc.posts[e["post_index"]].id, "image": e["path"],
                     "unit_id": e.get("unit_id"), "flagged": self._flagged(res), "gate": r.get("gate"),
                     "text": text[:_MAX_TEXT], "lines": r.get("lines", [])[:_MAX_LINES],
                     "qr": [{k: q[k] for k in ("type", "value", "payload", "box")} for q in r.get("qr", ())],
                     "contacts": [{k: c[k] for k in ("type", "value") if k in c} | {"origin": "text"}
                                  for c in (res or {}).get("evidence", ()) if c.get("kind") == "contact"]
                     + [{"type": c["type"], "value": c["value"], "origin": "qr"} for c in self._qr_contacts(r)]}
            if res is not None and "error" not in res:
                entry["scores"] = {c: round(float(res[c]), 6) for c in TEXT_CATEGORIES}
            if len(text) > _MAX_TEXT or len(r.get("lines", ())) > _MAX_LINES:
                entry["truncated"] = True
            v["evidence"].append(entry)
        if len(shown) > limit:
            v["evidence"].append({"kind": "omitted", "what": "image_text", "omitted": len(shown) - limit})


__all__ = ["ImageTextUnits", "unit_id", "ORIGIN", "IMAGE_TEXT_MODES", "OCR_INSTALL", "check_image_text",
           "require_ocr"]
