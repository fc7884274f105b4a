"""The reviewer's report: one static, self-contained HTML file built from verdicts.

``cleanclf report verdicts.jsonl -o report.html [--dump dump.jsonl] [--images-root DIR]``
(optional extra: ``pip install "cleanclf[report]"`` adds jinja2). The file makes no
network request (no external CSS, JS or fonts; a Content-Security-Policy forbids any),
opens by double-click and holds:

* an overview (accounts scored, flagged per category, escalations, errors, model and
  thresholds, score distributions as inline SVG with the threshold marked);
* a paged queue of flagged and review-band accounts, escalations first, filterable by
  category, band and account id / contact handle;
* one view per account: labels, scores, counts, profile, evidence highlighted in the
  original text (from ``--dump``; else the verdict's excerpts), contacts, posts, and image
  thumbnails blurred until clicked (never for escalated accounts: only their scores);
* decisions (confirmed / rejected / unsure + a note per account and category), kept in the
  browser's ``localStorage`` under the report's id and exported as JSONL, which
  ``cleanclf train --feedback`` reads back (:func:`cleanclf.training.data.feedback_rows`).

Every string from the dump or the verdicts is data: the template autoescapes, the embedded
JSON escapes ``<``, ``>`` and ``&``, and the page's script inserts text with ``textContent``
only. Huge texts are cut for display, with a note saying how much is shown.

>>> import io, json
>>> v = {"account_id": "u1", "labels": ["solicitation"], "scores": {"solicitation": 0.99},
...      "bands": {"solicitation": "label"}, "evidence": [], "posts": [], "model": "default@0.6.0"}
>>> html = build_report(io.StringIO(json.dumps(v) + "\\n"), thresholds={"solicitation": 0.5})["html"]
>>> html.startswith("<!DOCTYPE html>") and "http://" not in html
True
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import os
from importlib import resources
from pathlib import Path
from typing import IO, Any, Iterable

from ..categories import CATEGORIES
from ..errors import InputError, MissingDependencyError, describe

INSTALL_HINT = 'pip install "cleanclf[report]"'
#: Accounts per queue page (the script pages; the whole queue is one small JSON blob).
PAGE_SIZE = 100
#: Characters of one text shown; a longer text is cut around its first highlight, with a note.
MAX_TEXT_CHARS = 2000
#: Posts listed per account (highest score first), and evidence posts shown with their text.
MAX_POSTS = 50
#: Thumbnails per account, their longest side in pixels and their largest size in bytes.
MAX_THUMBS, THUMB_PX, THUMB_BYTES = 12, 160, 24_000
#: Characters with a direction or an invisible effect, shown as a visible marker instead.
_INVISIBLE = {c: f"[U+{c:04X}]" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F,
                                          0x061C, 0xFEFF)}
_CONTROL = {c: "\ufffd" for c in range(0x20) if c not in (9, 10, 13)}
_DISPLAY_MAP = {**_INVISIBLE, **_CONTROL, 0x7F: "\ufffd"}


# ----------------------------------------------------------------------------- reading
def read_verdicts(source: str | os.PathLike | IO[str]) -> tuple[list[dict], int]:
    """``(verdicts, unreadable_lines)`` of a verdicts JSONL file (a path or a text stream)."""
    if hasattr(source, "read"):
        return _parse_verdict_lines(source)  # type: ignore[arg-type]
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"verdicts: {str(path)!r} does not exist or is not a file")
    with open(path, encoding="utf-8", errors="replace") as fh:
        return _parse_verdict_lines(fh)


def _parse_verdict_lines(fh: Iterable[str]) -> tuple[list[dict], int]:
    out, bad = [], 0
    for line in fh:
        if not line.strip():
            continue
        try:
            v = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        if isinstance(v, dict):
            out.append(v)
        else:
            bad += 1
    return out, bad


def model_thresholds(model_id: str | None) -> dict[str, float]:
    """Thresholds per category of the bundle a verdict names (``"default@0.6.0"``), when the
    installed bundle of that name has that version; else ``{}`` (the report says "unknown")."""
    if not model_id or "@" not in str(model_id):
        return {}
    from .. import models

    name, _, version = str(model_id).partition("@")
    try:
        manifest = models.read_manifest(models.bundle_dir(name))
    except Exception:  # noqa: BLE001 - an unknown or broken bundle only costs the threshold marks
        return {}
    if str(manifest.get("version")) != version:
        return {}
    out: dict[str, float] = {}
    for comp in (manifest.get("components") or {}).values():
        for c, t in ((comp or {}).get("thresholds") or {}).items():
            if c in CATEGORIES and isinstance(t, (int, float)):
                out[c] = float(t)
    return out


# ----------------------------------------------------------------------------- text and highlights
def display_text(text: str) -> str:
    """``text`` with direction overrides, zero-width marks and control characters made visible
    (``[U+202E]``), so that a post cannot reorder or hide what the reviewer reads.

    >>> display_text("abc\\u202edef\\x00")
    'abc[U+202E]def\\ufffd'
    """
    return str(text).translate(_DISPLAY_MAP)


def segments(text: str, spans: Iterable[tuple[int, int, str]], *, limit: int = MAX_TEXT_CHARS) -> dict:
    """Cut ``text`` into ``[[piece, label-or-null], ...]`` with the ``(start, end, label)`` spans
    highlighted (overlaps merged, labels joined), showing at most ``limit`` characters around
    the first span; ``{"segs", "shown": [a, b], "length"}`` (``shown`` only when cut).

    >>> segments("同城上门 包夜", [(5, 7, "包夜")])["segs"]
    [['同城上门 ', None], ['包夜', '包夜']]
    """
    text = str(text or "")
    n = len(text)
    clean = sorted((max(0, int(a)), min(n, int(b)), str(lab)) for a, b, lab in spans
                   if isinstance(a, int) and isinstance(b, int) and 0 <= a < b <= n)
    merged: list[list] = []
    for a, b, lab in clean:
        if merged and a < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
            if lab not in merged[-1][2]:
                merged[-1][2].append(lab)
        else:
            merged.append([a, b, [lab]])
    lo, hi = 0, n
    if n > limit:
        lo = max(0, (merged[0][0] if merged else 0) - limit // 10)
        hi = min(n, lo + limit)
    segs: list[list] = []
    pos = lo
    for a, b, labs in merged:
        a, b = max(a, lo), min(b, hi)
        if a >= b:
            continue
        if a > pos:
            segs.append([display_text(text[pos:a]), None])
        segs.append([display_text(text[a:b]), "; ".join(labs)[:300]])
        pos = b
    if pos < hi:
        segs.append([display_text(text[pos:hi]), None])
    out: dict[str, Any] = {"segs": segs, "length": n}
    if (lo, hi) != (0, n):
        out["shown"] = [lo, hi]
    return out


def _hit_label(hit: dict) -> str:
    if hit.get("kind") == "contact":
        return f"contact ({hit.get('type')}): {hit.get('value')}"
    if hit.get("kind") == "minor_signal":
        return f"minor signal: {hit.get('term')}"
    if hit.get("kind") == "ngram":
        return f"n-gram ({hit.get('category')}): {hit.get('ngram')}"
    label = f"{hit.get('kind', 'term')}: {hit.get('term', hit.get('text', ''))}"
    if hit.get("meaning"):
        label += f" ({hit['meaning']})"
    return label


def _spans(hits: Iterable[dict], shift: int = 0, field: str | None = None) -> list[tuple[int, int, str]]:
    out = []
    for h in hits or ():
        if not isinstance(h, dict) or (field is not None and h.get("field") != field):
            continue
        sp = h.get("span")
        if isinstance(sp, list) and len(sp) == 2 and all(isinstance(x, int) for x in sp):
            out.append((sp[0] - shift, sp[1] - shift, _hit_label(h)))
    return out


# ----------------------------------------------------------------------------- images
def thumbnail(path: str, images_root: str | os.PathLike) -> str | None:
    """A small JPEG data URI of an image inside ``images_root`` (through the one safe decoder,
    which refuses paths leading out of the root), or None when it cannot be read or stay small."""
    from ..image.decode import iter_frames

    try:
        frame = next(iter(iter_frames(path, images_root=images_root)))
        frame.thumbnail((THUMB_PX, THUMB_PX))
        for quality in (70, 50, 30):
            buf = io.BytesIO()
            frame.save(buf, "JPEG", quality=quality)
            if buf.tell() <= THUMB_BYTES:
                return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    except Exception:  # noqa: BLE001 - a thumbnail that cannot be made is shown as "no preview"
        return None
    return None


# ----------------------------------------------------------------------------- one account
def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


def _risk(v: dict) -> float:
    scores = v.get("scores") if isinstance(v.get("scores"), dict) else {}
    bands = v.get("bands") if isinstance(v.get("bands"), dict) else {}
    best = 0.0
    for c in CATEGORIES:
        s = _num(scores.get(c)) or 0.0
        weight = {"label": 2.0, "review": 1.0}.get(bands.get(c), 0.0)
        best = max(best, weight + s)
    return round(best + (10.0 if v.get("escalate") else 0.0) + (3.0 * bool(v.get("labels"))), 6)


def in_queue(v: dict) -> bool:
    """Whether a verdict goes to the review queue: labelled, escalated, or a category in review."""
    bands = v.get("bands") if isinstance(v.get("bands"), dict) else {}
    return bool(v.get("labels") or v.get("escalate") or v.get("review")
                or any(b in ("label", "review") for b in bands.values()))


def _str(x: Any, limit: int = 500) -> str:
    s = x if isinstance(x, str) else ("" if x is None else json.dumps(x, ensure_ascii=False))
    return display_text(s if len(s) <= limit else s[:limit] + f"… ({len(s) - limit} more characters)")


def account_detail(v: dict, account: Any = None, images_root: str | os.PathLike | None = None) -> dict:
    """What the account view shows, from a verdict and (optionally) its dump record."""
    texts: dict[str, str] = {}
    profile = {"nickname": "", "bio": ""}
    if account is not None:
        texts = {str(p.id): p.text for p in account.posts}
        profile = {k: str(account.profile.get(k) or "") for k in ("nickname", "bio")}
    evidence = [e for e in (v.get("evidence") or []) if isinstance(e, dict)]
    posts_in = [p for p in (v.get("posts") or []) if isinstance(p, dict)]
    out: dict[str, Any] = {
        "id": _str(v.get("account_id")), "model": _str(v.get("model")), "labels": [_str(x) for x in v.get("labels") or []],
        "scores": {c: _num((v.get("scores") or {}).get(c)) for c in CATEGORIES},
        "bands": {c: _str((v.get("bands") or {}).get(c)) or None for c in CATEGORIES},
        "escalate": bool(v.get("escalate")), "review": bool(v.get("review")),
        "counts": v.get("counts") if isinstance(v.get("counts"), dict) else {},
        "error": _str(v.get("error"), 2000) if v.get("error") else None,
        "warnings": [_str(w) for w in (v.get("warnings") or [])][:20],
        "image_status": _str(v.get("image_status")) if v.get("image_status") else None,
        "from_dump": account is not None,
    }
    # Profile: the dump's fields with the verdict's profile hits highlighted in them.
    prof_hits = [h for e in evidence if e.get("kind") == "profile" for h in (e.get("hits") or [])]
    out["profile"] = {f: segments(profile[f], _spans(prof_hits, field=f)) for f in ("nickname", "bio")} \
        if account is not None else None
    prof_ev = next((e for e in evidence if e.get("kind") == "profile"), None)
    out["profile_scores"] = {c: _num((prof_ev.get("scores") or {}).get(c)) for c in CATEGORIES} if prof_ev else None
    out["profile_hits"] = [_str(_hit_label(h)) for h in prof_hits if isinstance(h, dict)][:30]
    out["rules"] = [{"category": _str(e.get("category")), "decision": _str(e.get("decision")),
                     "reason": _str(e.get("reason"), 2000)} for e in evidence if e.get("kind") == "rule"]
    ev_posts = []
    for e in evidence:
        if e.get("kind") != "post":
            continue
        pid = str(e.get("post_id"))
        terms = [t for t in (e.get("terms") or []) if isinstance(t, dict)]
        if pid in texts:
            seg = segments(texts[pid], _spans(terms))
            source = "dump"
        else:
            seg = segments(e.get("excerpt") or "", _spans(terms, shift=int(_num(e.get("excerpt_offset")) or 0)))
            source = "excerpt"
        ev_posts.append({"post_id": _str(pid), "category": _str(e.get("category")), "score": _num(e.get("score")),
                         "categories": {c: _num(s) for c, s in (e.get("categories") or {}).items() if c in CATEGORIES},
                         "text": seg, "source": source, "terms": [_str(_hit_label(t)) for t in terms][:30],
                         "omitted": _num(e.get("omitted"))})
    out["evidence_posts"] = ev_posts
    out["omitted"] = [_str(f"{e.get('category', '')}: {e.get('omitted')} more {e.get('what', '')} not listed")
                      for e in evidence if e.get("kind") == "omitted"]
    out["contacts"] = [{"type": _str(e.get("type")), "value": _str(e.get("value")), "count": _num(e.get("count")),
                        "in_profile": bool(e.get("in_profile")), "extended": bool(e.get("extended")),
                        "in_flagged_post": bool(e.get("in_flagged_post")),
                        "post_ids": [_str(p) for p in (e.get("post_ids") or [])][:20]}
                       for e in evidence if e.get("kind") == "contact"]
    # Posts behind the verdict, highest score first; their text when the dump has it.
    def post_key(p: dict) -> float:
        return -max([_num(s) or 0.0 for s in (p.get("scores") or {}).values()] or [0.0])

    posts = sorted(posts_in, key=post_key)
    out["posts"] = [{"id": _str(p.get("id")), "labels": [_str(x) for x in p.get("labels") or []],
                     "scores": {c: _num((p.get("scores") or {}).get(c)) for c in CATEGORIES},
                     "escalate": bool(p.get("escalate")),
                     "errors": [_str(x) for x in p.get("errors") or []][:5],
                     "text": segments(texts[str(p.get("id"))], [], limit=500) if str(p.get("id")) in texts else None}
                    for p in posts[:MAX_POSTS]]
    out["posts_omitted"] = max(0, len(posts) - MAX_POSTS)
    out["flagged_posts"] = {c: [_str(p.get("id")) for p in posts_in if c in (p.get("labels") or [])]
                            for c in CATEGORIES}
    images = [e for e in evidence if e.get("kind") == "image"]
    out["images"] = []
    for n, e in enumerate(images):
        thumb = None
        if images_root is not None and not out["escalate"] and n < MAX_THUMBS and isinstance(e.get("path"), str):
            thumb = thumbnail(e["path"], images_root)
        out["images"].append({"post_id": _str(e.get("post_id")), "path": _str(e.get("path")),
                              "score": _num(e.get("score")), "flagged": bool(e.get("flagged")), "thumb": thumb})
    out["images_note"] = ("escalated account: images are never embedded, only their scores" if out["escalate"] and images
                          else "no --images-root: scores only" if images and images_root is None else None)
    return out


def queue_row(n: int, v: dict, detail: dict) -> dict:
    """The queue's summary of one account (what filtering and search read)."""
    return {"n": n, "id": detail["id"], "risk": _risk(v), "escalate": detail["escalate"], "labels": detail["labels"],
            "bands": detail["bands"], "scores": detail["scores"],
            "contacts": sorted({c["value"] for c in detail["contacts"]})[:20],
            "flagged": {c: len(detail["flagged_posts"][c]) for c in CATEGORIES}}


# ----------------------------------------------------------------------------- overview
def histogram_svg(values: list[float], threshold: float | None, title: str, bins: int = 20) -> str:
    """An inline SVG bar chart of scores in [0, 1] (bar heights on a square-root scale, so a few
    high-scoring accounts stay visible next to thousands of clear ones) with the threshold marked."""
    from markupsafe import escape

    counts = [0] * bins
    for x in values:
        counts[min(bins - 1, max(0, int(x * bins)))] += 1
    w, h, pad = 320, 120, 20
    top = math.sqrt(max(counts) or 1)
    bw = (w - 2 * pad) / bins
    parts = [f'<svg class="hist" viewBox="0 0 {w} {h + 30}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for i, c in enumerate(counts):
        bh = (h - pad) * math.sqrt(c) / top
        parts.append(f'<rect x="{pad + i * bw:.1f}" y="{h - bh:.1f}" width="{bw - 1:.1f}" height="{bh:.1f}">'
                     f'<title>{i / bins:.2f}–{(i + 1) / bins:.2f}: {c}</title></rect>')
    parts.append(f'<line class="axis" x1="{pad}" y1="{h}" x2="{w - pad}" y2="{h}"/>')
    for t in (0, 0.5, 1):
        parts.append(f'<text x="{pad + t * (w - 2 * pad):.1f}" y="{h + 14}" text-anchor="middle">{t:g}</text>')
    if threshold is not None:
        x = pad + threshold * (w - 2 * pad)
        parts.append(f'<line class="thr" x1="{x:.1f}" y1="4" x2="{x:.1f}" y2="{h}"/>'
                     f'<text class="thr" x="{x + 3:.1f}" y="14">threshold {threshold:.3f}</text>')
    parts.append(f'<text x="{pad}" y="{h + 28}">n = {len(values)}</text></svg>')
    return "".join(parts)


def overview(verdicts: list[dict], thresholds: dict[str, float]) -> dict:
    errors = [v for v in verdicts if v.get("error")]
    scored = [v for v in verdicts if not v.get("error")]
    models = sorted({str(v.get("model")) for v in verdicts if v.get("model")})
    per_cat = []
    for c in CATEGORIES:
        vals = [s for v in scored if (s := _num((v.get("scores") or {}).get(c))) is not None]
        per_cat.append({"category": c, "labelled": sum(c in (v.get("labels") or []) for v in scored),
                        "review": sum((v.get("bands") or {}).get(c) == "review" for v in scored),
                        "threshold": thresholds.get(c), "scored": len(vals),
                        "svg": histogram_svg(vals, thresholds.get(c), f"{c}: account scores")})
    return {"accounts": len(verdicts), "scored": len(scored), "errors": len(errors),
            "error_rows": [{"id": _str(v.get("account_id")), "line": _str(v.get("line")),
                            "type": _str((v.get("error") or {}).get("type") if isinstance(v.get("error"), dict) else ""),
                            "message": _str((v.get("error") or {}).get("message") if isinstance(v.get("error"), dict)
                                            else v.get("error"))} for v in errors[:50]],
            "escalations": sum(bool(v.get("escalate")) for v in scored),
            "flagged": sum(bool(v.get("labels")) for v in scored), "review": sum(bool(v.get("review")) for v in scored),
            "models": models, "categories": per_cat}


# ----------------------------------------------------------------------------- the page
def json_for_script(obj: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">``: ``<``, ``>`` and ``&`` are
    escaped (no ``</script>`` or ``<!--`` can appear), and JSON.parse reads it back unchanged.

    >>> json_for_script({"a": "</script><!--"})
    '{"a":"\\\\u003c/script\\\\u003e\\\\u003c!--"}'
    """
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _asset(name: str) -> str:
    return resources.files(__name__).joinpath("templates", name).read_text(encoding="utf-8")


def build_report(verdicts: str | os.PathLike | IO[str], out: str | os.PathLike | None = None, *,
                 dump: str | os.PathLike | None = None, images_root: str | os.PathLike | None = None,
                 limit: int | None = None, thresholds: dict[str, float] | None = None,
                 title: str = "cleanclf review report") -> dict:
    """Build the review report from a verdicts JSONL file; write it to ``out`` when given.

    ``dump``: the scored account dump, for the original texts and profiles (matched by
    ``account_id`` and post id); ``images_root``: where image paths are resolved for
    thumbnails; ``limit``: at most this many accounts in the queue (highest risk first);
    ``thresholds``: per category (default: read from the installed bundle the verdicts name).
    Returns ``{"html", "report_id", "queued", "accounts", "dump_missing", ...}``.
    """
    try:
        import jinja2
        from markupsafe import Markup
    except ImportError as exc:
        raise MissingDependencyError(f"the report needs jinja2 ({exc.name} is missing): {INSTALL_HINT}") from None
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise InputError(f"limit: expected a positive integer or None, got {describe(limit)}")
    if images_root is not None and not Path(images_root).is_dir():
        raise InputError(f"images_root: {os.fspath(images_root)!r} is not a directory")
    vs, bad_lines = read_verdicts(verdicts)
    if thresholds is None:
        ids = {str(v.get("model")) for v in vs if v.get("model")}
        thresholds = model_thresholds(next(iter(ids))) if len(ids) == 1 else {}
    queue = sorted((v for v in vs if not v.get("error") and in_queue(v)), key=lambda v: -_risk(v))
    queued_total = len(queue)
    if limit is not None:
        queue = queue[:limit]
    accounts: dict = {}
    dump_unreadable = 0
    if dump is not None:
        from ..schema import read_accounts

        accounts, dump_unreadable = read_accounts(dump, ids={str(v.get("account_id")) for v in queue})
    details, rows = [], []
    for n, v in enumerate(queue):
        d = account_detail(v, accounts.get(str(v.get("account_id"))), images_root)
        details.append(d)
        rows.append(queue_row(n, v, d))
    h = hashlib.sha256()
    for v in vs:
        h.update(json.dumps(v, sort_keys=True, ensure_ascii=False).encode("utf-8", "replace"))
    h.update(f"limit={limit}".encode())
    report_id = h.hexdigest()[:16]
    ov = overview(vs, thresholds)
    meta = {"report_id": report_id, "page_size": PAGE_SIZE, "categories": list(CATEGORIES),
            "models": ov["models"], "thresholds": thresholds, "queued": len(queue), "queued_total": queued_total}
    script = _asset("report.js")
    csp_hash = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    env = jinja2.Environment(loader=jinja2.PackageLoader(__name__, "templates"),
                             autoescape=jinja2.select_autoescape(["html", "html.j2"], default=True),
                             undefined=jinja2.StrictUndefined)
    html = env.get_template("report.html.j2").render(
        title=title, meta=meta, ov=ov, bad_lines=bad_lines, dump=dump is not None,
        dump_missing=sum(1 for v in queue if str(v.get("account_id")) not in accounts) if dump is not None else 0,
        dump_unreadable=dump_unreadable, limit=limit, images_root=images_root is not None,
        css=Markup(_asset("report.css")), script=Markup(script), csp_hash=csp_hash,
        meta_json=Markup(json_for_script(meta)), queue_json=Markup(json_for_script(rows)),
        details=[Markup(json_for_script(d)) for d in details],
        histograms={c["category"]: Markup(c["svg"]) for c in ov["categories"]})
    if out is not None:
        Path(out).write_text(html, encoding="utf-8")
    return {"html": html, "report_id": report_id, "accounts": len(vs), "queued": len(queue),
            "queued_total": queued_total, "unreadable_verdict_lines": bad_lines,
            "dump_missing": sum(1 for v in queue if str(v.get("account_id")) not in accounts) if dump is not None else None,
            "dump_unreadable": dump_unreadable, "bytes": len(html.encode("utf-8"))}


__all__ = ["build_report", "read_verdicts", "model_thresholds", "segments", "display_text", "json_for_script",
           "account_detail", "queue_row", "in_queue", "overview", "histogram_svg", "thumbnail", "INSTALL_HINT"]
