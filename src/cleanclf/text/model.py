"""TextModel: the fitted text side (features + two calibrated classifiers + thresholds).

It normalises each text once, extracts all features on the normalised text,
scores both categories in one vectorised pass, and only then does the
per-text work a reviewer needs (evidence spans into the original text,
minors escalation) for the texts where something was found. Evidence: terms,
n-grams and minors signals for texts that are flagged, escalated or at least
half-way to a threshold; contact handles for every text.

>>> import cleanclf
>>> tm = cleanclf.load().text_model                               # doctest: +SKIP
>>> tm.score_texts(["同城上门 包夜 加薇 abc123", "外卖很好吃"])[1]["labels"]  # doctest: +SKIP
[]
"""

from __future__ import annotations

import gzip
import hashlib
import marshal
import pickle
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..categories import TEXT_CATEGORIES
from ..errors import BundleError, describe
from .lexicon import find_minor_signals, list_category

# Texts longer than this are scored on their first MAX_TEXT_CHARS characters
# and say so ("truncated": true). Long enough for any post or escort ad;
# bounds time and memory for hostile 2 MB strings.
MAX_TEXT_CHARS = 10_000
# Escalation needs sexual context: a minors signal next to a category score at
# least this fraction of the category threshold, or a sexual lexicon hit.
ESCALATE_FRACTION = 0.5
# Repeated spam is common, so identical texts are scored once. Each entry
# holds a result with evidence (~1-2 kB); 20k entries bound a worker's cache
# to a few tens of MB (batch memory measurements: the cache was what grew).
DEFAULT_CACHE_SIZE = 20_000
_TOP_NGRAMS = 3
# At most this many lexicon terms and as many contacts per text; an "omitted" entry counts the rest.
_MAX_ENTRIES = 20


class TextModel:
    """Fitted text classifiers for ``explicit_text`` and ``solicitation``.

    Built from a fitted :class:`~cleanclf.text.classifier.TextClassifier`
    (:func:`cleanclf.training.fit_text_model`); loaded from a bundle by :meth:`from_bundle`.
    """

    FILE = "text_model.pkl.gz"

    def __init__(self, features, classifiers: dict, thresholds: dict[str, float],
                 meta: dict | None = None, max_chars: int = MAX_TEXT_CHARS):
        self.features = features          # fitted FeatureUnion on normalised text
        self.classifiers = classifiers    # category -> fitted GroupCalibratedClassifier (CalibratedClassifierCV before)
        self.thresholds = dict(thresholds)
        self.meta = dict(meta or {})
        self.max_chars = max_chars
        self.cache_size = DEFAULT_CACHE_SIZE  # set 0 to disable the cache
        # text -> marshal.dumps(result): bytes are not tracked by the cyclic garbage collector,
        # so 20k cached results add nothing to what every full collection walks (dicts did:
        # ~10 % of cold scoring time), and loads() hands out an independent deep copy.
        self._cache: OrderedDict[str, bytes] = OrderedDict()

    # ------------------------------------------------------------- persistence
    def __getstate__(self):
        state = dict(self.__dict__)
        state["_cache"] = OrderedDict()  # never ship scored texts inside a bundle
        # Derived caches and the runtime cache size are not model state: leaving them out
        # keeps a rebuilt bundle byte-identical to the shipped one.
        for key in ("_names", "_block_cache", "cache_size"):
            state.pop(key, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.cache_size = DEFAULT_CACHE_SIZE

    def save(self, directory: str | Path) -> str:
        """Write the model as a gzip-compressed pickle; returns the file name (relative to ``directory``)."""
        data = pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)
        (Path(directory) / self.FILE).write_bytes(gzip.compress(data, compresslevel=6, mtime=0))
        return self.FILE

    @classmethod
    def from_bundle(cls, directory: Path, section: dict, manifest: dict | None = None) -> "TextModel":
        """Unpickle the text model of a verified bundle.

        The file must be listed by the component *and* hashed by the manifest;
        its bytes are hashed again after reading, so a file swapped between
        :func:`~cleanclf.models.verify_bundle` and this read is refused too.
        Plain pickle, not joblib: joblib's unpickler is pure Python and took
        ~10 s for the 300k-entry n-gram vocabulary; the C unpickler takes <1 s.
        """
        files = section.get("files") or []
        if not files:
            raise BundleError(f"text component of {str(directory)!r}: lists no files; expected [{cls.FILE!r}]")
        expected = None
        if manifest is not None:
            entry = manifest.get("files", {}).get(files[0])
            if not isinstance(entry, dict):
                raise BundleError(f"text component of {str(directory)!r}: {files[0]!r} is not hashed by the manifest")
            expected = entry.get("sha256")
        raw = (Path(directory) / files[0]).read_bytes()
        if expected is not None and hashlib.sha256(raw).hexdigest() != expected:
            raise BundleError(f"text component of {str(directory)!r}: {files[0]!r} changed after verification; "
                              "refusing to unpickle it")
        model = pickle.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
        if not isinstance(model, cls):
            raise BundleError(f"text component of {str(directory)!r}: expected a TextModel, got {describe(model)}")
        if section.get("thresholds"):
            model.thresholds = {k: float(v) for k, v in section["thresholds"].items()}
        return model

    def clear_cache(self) -> None:
        self._cache.clear()

    # ------------------------------------------------------------- scoring
    def predict_proba(self, normalized: list[str]) -> np.ndarray:
        """(n, 2) calibrated probabilities for normalised texts, columns = TEXT_CATEGORIES."""
        return self._proba(self.features.transform(normalized))

    def _proba(self, X) -> np.ndarray:
        cols = [self.classifiers[c].predict_proba(X)[:, 1] for c in TEXT_CATEGORIES]
        return np.column_stack(cols) if cols else np.zeros((X.shape[0], 0))

    def score_texts(self, texts: list[Any]) -> list[dict]:
        """One result per input (see :mod:`cleanclf.classify` for the shape)."""
        from .features import transform_with_details
        from .normalize import normalize_many

        results: list[dict | None] = [None] * len(texts)
        todo: dict[str, list[int]] = {}
        for i, t in enumerate(texts):
            problem = _text_problem(t, i)
            if problem is not None:
                results[i] = {"error": problem}
                continue
            hit = self._cache.get(t)
            if hit is not None:
                self._cache.move_to_end(t)
                results[i] = marshal.loads(hit)
                continue
            todo.setdefault(t, []).append(i)
        if todo:
            uniq = list(todo)
            clipped = [t[: self.max_chars] for t in uniq]
            # normed[k] = normalize(clipped[k]); renormed[k] = normalize(normed[k]), what the
            # contact block reads (the same string unless the normaliser hit its round cap).
            normed, renormed = normalize_many(clipped)
            # One feature pass serves scoring and evidence: the per-text work below reads
            # the rows of X, and the lexicon hits and contact spans the feature blocks found,
            # instead of re-extracting them text by text.
            X, details = transform_with_details(self.features, normed, renormed)
            X = X.tocsr()
            probs = self._proba(X)
            blocks = self._blocks()
            fired = _blocks_fired(X, blocks)
            ctx = self._context(blocks)
            # round(np.float64, 6) is np.round: one vectorised call instead of one per score.
            rounded = np.round(probs, 6).tolist()
            lex_hits = details.get("lexicons")
            spans = details.get("contacts")
            ptr, ind, dat = X.indptr, X.indices, X.data
            for k, (t, c, n) in enumerate(zip(uniq, clipped, normed)):
                # Row k as raw index/data slices: scipy's X[k] costs ~0.1 ms a row.
                row = _Row(ind[ptr[k]:ptr[k + 1]], dat[ptr[k]:ptr[k + 1]])
                hits = None
                if fired["lexicons"][k] and lex_hits is not None:
                    hits = lex_hits[k]
                found = None
                if spans is not None and renormed[k] == n:
                    found = spans[k]  # find_contact_spans(normalize(clipped)), as extract_contacts computes it
                res = self._result(t, c, n, rounded[k], row, blocks, ctx,
                                   hits=hits, lexicon_fired=fired["lexicons"][k],
                                   contacts_fired=fired["contacts"][k], found=found)
                blob = self._remember(t, res)
                first, *more = todo[t]
                for i in more:  # the same text again in this batch: independent copies
                    results[i] = marshal.loads(blob) if blob is not None else _copy(res)
                results[first] = res
        return results  # type: ignore[return-value]

    def _blocks(self) -> dict[str, tuple[int, int]]:
        """Column range of each feature block (chars, lexicons, contacts) in the union's output."""
        blocks = self.__dict__.get("_block_cache")
        if blocks is None:
            blocks, start = {}, 0
            for name, tr in getattr(self.features, "transformer_list", []):
                width = len(tr.get_feature_names_out())
                blocks[name] = (start, start + width)
                start += width
            self._block_cache = blocks
        return blocks

    def _remember(self, text: str, res: dict) -> bytes | None:
        """Cache ``res`` (as marshal bytes, taken before the caller can edit it); returns them."""
        if len(text) > 2000 or self.cache_size <= 0:
            return None  # long texts rarely repeat; keep the cache's memory bounded
        try:
            blob = marshal.dumps(res)
        except ValueError:  # a type marshal cannot write (none today): do not cache it
            return None
        self._cache[text] = blob
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return blob

    def _context(self, blocks) -> "_Context":
        """What every text's result assembly needs from the model, looked up once per batch."""
        from .fastngrams import fast_char_ngrams

        parts = dict(getattr(self.features, "transformer_list", []))
        chars = parts.get("chars")
        fast = fast_char_ngrams(chars) if chars is not None else None
        linear = {}
        for cat in TEXT_CATEGORIES:
            est = _linear(self.classifiers[cat])
            linear[cat] = None if est is None else est.coef_.ravel()
        return _Context(self._lexicon(), chars, fast.names_ if fast is not None else None, linear)

    def _result(self, original: str, clipped: str, normed: str, p, xrow, blocks, ctx=None, *,
                hits=None, lexicon_fired=None, contacts_fired=None, found=None) -> dict:
        """One text's result. ``p``: its scores per category (floats, already rounded to 6
        decimals); the keyword arguments carry what the batch already knows (block flags,
        lexicon hits, contact spans) and are recomputed when missing."""
        if ctx is None:
            ctx = self._context(blocks)
        scores = dict(zip(TEXT_CATEGORIES, p))
        thresholds = self.thresholds
        labels = [c for c in TEXT_CATEGORIES if scores[c] >= thresholds[c]]
        lex = ctx.lexicon
        if lexicon_fired is None:
            lexicon_fired = _any(xrow, blocks.get("lexicons"))
        if lex is None or not lexicon_fired:
            hits = []
        elif hits is None:
            hits = lex.hits(normed)
        sexual_hit = any(list_category(n) for h in hits for n in h.lists) if hits else False
        near = any(scores[c] >= ESCALATE_FRACTION * thresholds[c] for c in TEXT_CATEGORIES)
        # Signs of minors matter only next to sexual content or solicitation: look for
        # them only then (most texts are neither, and the search is a full scan).
        minors = find_minor_signals(normed) if (labels or near or sexual_hit) else []
        escalate = bool(minors)
        if contacts_fired is None:
            contacts_fired = "contacts" not in blocks or _any(xrow, blocks["contacts"])
        nz = None
        contacts = []
        from .contacts import contacts_from_spans, find_contact_spans, find_evidence_phone_spans

        if "contacts" not in blocks or contacts_fired:
            from .normalize import normalize

            if found is None:
                found = find_contact_spans(normalize(clipped))
        else:
            found = []
        # Phone formats the model was not fitted on (see cleanclf.text.contacts): evidence only,
        # marked "extended" so the account rule keeps counting the model's contacts alone.
        # Found on ``normed`` (normalize(clipped)), around the model's spans, never replacing one.
        extended = find_evidence_phone_spans(normed, found) if normed else []
        if found or extended:
            nz = _offsets(clipped)
            contacts = [(c, False) for c in contacts_from_spans(clipped, found, nz)]
            if extended:
                contacts += [(c, True) for c in contacts_from_spans(clipped, extended, nz)]
                contacts.sort(key=lambda ce: (ce[0].start, ce[0].end))
        evidence: list[dict] = []
        if labels or escalate or near:
            if nz is None:
                nz = _offsets(clipped)
            evidence = self._evidence(clipped, hits, contacts, labels, minors if escalate else [], xrow, blocks,
                                      nz=nz, ctx=ctx)
        elif contacts:
            # Clearly benign text: only its contacts (accounts count handles repeated across
            # posts); terms and n-grams explain flags, and skipping them spares the offset map.
            evidence = _contact_entries(contacts)
        return {
            **scores,
            "labels": labels,
            "evidence": evidence,
            "escalate": escalate,
            "escalate_reasons": sorted({f"minor_signal:{t}" for t, _, _ in minors}) if escalate else [],
            "truncated": len(original) > len(clipped),
        }

    def _ngram_names(self, chars) -> np.ndarray:
        # get_feature_names_out rebuilds a 300k-entry array each call: derive it once.
        names = self.__dict__.get("_names")
        if names is None:
            names = self._names = chars.get_feature_names_out()
        return names

    def _lexicon(self):
        for name, tr in getattr(self.features, "transformer_list", []):
            if name == "lexicons":
                return tr
        return None

    def _evidence(self, clipped: str, hits, contacts, labels, minors, xrow, blocks, *, nz=None,
                  ctx=None) -> list[dict]:
        if nz is None:
            nz = _offsets(clipped)
        if ctx is None:
            ctx = self._context(blocks)
        ev: list[dict] = []
        merged: dict[tuple[int, int], dict] = {}
        skipped: set[tuple[int, int]] = set()
        for h in hits:
            # A term can be hit by a literal and a regex line of another list: one entry per span.
            if (h.start, h.end) in merged:
                entry = merged[(h.start, h.end)]
                entry["lists"] = sorted(set(entry["lists"]) | set(h.lists))
                entry["categories"] = sorted(set(entry["categories"]) | {list_category(n) or "" for n in h.lists} - {""})
                continue
            cats = sorted({list_category(n) or "" for n in h.lists} - {""})
            if not cats:
                continue  # context lists (ordinary ads, services, insults) explain no flag
            if len(merged) >= _MAX_ENTRIES:
                skipped.add((h.start, h.end))
                continue
            s, e = nz.to_original(h.start, h.end)
            entry = {"kind": "term", "term": h.term, "text": clipped[s:e], "span": [s, e],
                     "lists": sorted(h.lists), "categories": cats}
            meaning = getattr(ctx.lexicon, "meanings_", {}).get(h.term) if ctx.lexicon is not None else None
            if meaning:
                entry["meaning"] = meaning
            merged[(h.start, h.end)] = entry
        ev.extend(sorted(merged.values(), key=_span_key))
        if skipped:
            ev.append(_omitted("term", len(skipped)))
        ev.extend(_contact_entries(contacts))
        for term, s0, e0 in minors:
            s, e = nz.to_original(s0, e0)
            ev.append({"kind": "minor_signal", "term": term, "text": clipped[s:e], "span": [s, e]})
        # n-grams read as the words they sit in; one already shown (a lexicon term, or an
        # n-gram of another category) is not shown again
        shown = [tuple(t["span"]) for t in merged.values()]
        contact_spans = [(c.start, c.end) for c, _ in contacts]
        for cat in labels:
            ev.extend(self._top_ngrams(cat, nz, clipped, xrow, blocks.get("chars"), ctx=ctx,
                                       shown=shown, contacts=contact_spans))
        return ev

    def _top_ngrams(self, category: str, nz, clipped: str, xrow, block, *, ctx=None, shown=None,
                    contacts=()) -> list[dict]:
        """The character n-grams that pushed this text's score up most (coef x tf-idf), each
        shown as the text it sits in (:func:`_readable_span`: whole words in Latin script, the
        n-gram itself in Chinese). An n-gram whose text is already in ``shown`` (spans; the
        new ones are added), or one that reads as punctuation or digits outside a contact
        (``contacts``: spans in ``clipped``), is left out."""
        if shown is None:
            shown = []
        if ctx is None:
            ctx = self._context(self._blocks())
        chars = ctx.chars
        coef = ctx.coef.get(category)
        if chars is None or coef is None or block is None:
            return []
        lo, hi = block
        sel = (xrow.indices >= lo) & (xrow.indices < hi)
        idx, val = xrow.indices[sel], xrow.data[sel]
        if idx.size == 0:
            return []
        contrib = val * coef[idx]
        # The fast vectorizer's column -> n-gram list; sklearn's get_feature_names_out otherwise.
        names = ctx.names if ctx.names is not None else self._ngram_names(chars)
        out: list[dict] = []
        for k in np.argsort(-contrib)[:_TOP_NGRAMS]:
            if contrib[k] <= 0:
                break
            gram = names[idx[k] - lo]
            pos = nz.text.find(gram)
            if pos < 0 or not gram.strip():
                continue
            s, e = nz.to_original(pos, pos + len(gram))
            span = _readable_span(clipped, s, e, contacts)
            if span is None or any(a <= span[0] and span[1] <= b for a, b in shown):
                continue  # no word, or text already shown
            s, e = span
            # overlapping n-grams of this category ("服务包", "务包") are one entry, for the
            # text they cover together; it keeps the strongest n-gram and its weight
            for entry in out:
                a, b = entry["span"]
                if a < e and s < b:
                    shown.remove((a, b))
                    s, e = min(a, s), max(b, e)
                    entry["span"], entry["text"] = [s, e], clipped[s:e]
                    break
            else:
                entry = None
            shown.append((s, e))
            if entry is None:
                out.append({"kind": "ngram", "category": category, "ngram": gram, "text": clipped[s:e],
                            "span": [s, e], "weight": round(float(contrib[k]), 4)})
        return out

def _linear(calibrated):
    """The fitted linear model of a category: a bare one, the ``estimator_`` of a
    :class:`~cleanclf.text.classifier.GroupCalibratedClassifier`, or the one inside a
    ``CalibratedClassifierCV(ensemble=False)`` (bundles before TextClassifier)."""
    if hasattr(calibrated, "coef_"):
        return calibrated
    est = getattr(calibrated, "estimator_", None)
    if hasattr(est, "coef_"):
        return est
    ccs = getattr(calibrated, "calibrated_classifiers_", None)
    if ccs:
        est = getattr(ccs[0], "estimator", None)
        if hasattr(est, "coef_"):
            return est
    return None


def _contact_entry(c, extended: bool = False) -> dict:
    entry = {"kind": "contact", "type": c.type, "value": c.value, "text": c.raw, "span": [c.start, c.end]}
    if extended:
        # found by the evidence-only phone formats: no model feature, not counted by the account rule
        entry["extended"] = True
    return entry


def _contact_entries(contacts: list) -> list[dict]:
    """Evidence entries of ``[(Contact, extended)]``: the first :data:`_MAX_ENTRIES`, then how many were left out."""
    out = [_contact_entry(c, x) for c, x in contacts[:_MAX_ENTRIES]]
    if len(contacts) > _MAX_ENTRIES:
        out.append(_omitted("contact", len(contacts) - _MAX_ENTRIES))
    return out


def _omitted(what: str, n: int, **extra) -> dict:
    """The evidence entry that says ``n`` entries of kind ``what`` were left out of a list."""
    return {"kind": "omitted", "what": what, **extra, "omitted": n}


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return 0x2E80 <= o <= 0x9FFF or 0xAC00 <= o <= 0xD7AF or 0xF900 <= o <= 0xFAFF or o >= 0x20000


def _is_word(ch: str) -> bool:
    """A character of a space-separated word (Latin, Cyrillic, Greek, full-width letters, digits)."""
    return ch.isalnum() and not _is_cjk(ch)


def _readable_span(text: str, s: int, e: int, contacts=()) -> tuple[int, int] | None:
    """The span a reviewer reads for the n-gram at ``text[s:e]`` (a span of the original text):
    trimmed of punctuation and spaces, widened to whole words where it touches a word of a
    space-separated script ("vai" -> "available", "rl " -> "girl"; Chinese has no spaces, so
    an n-gram of Chinese characters stays as it is). Punctuation and digits alone ("", " 55")
    are no term: ``None``, unless they lie in a contact (spans in ``contacts``), which is then
    the span.

    >>> t = "Available tonight, call 555-0100"
    >>> [t[a:b] for a, b in (_readable_span(t, 1, 4), _readable_span(t, 8, 11))]
    ['Available', 'Available tonight']
    >>> _readable_span(t, 17, 19) is None, _readable_span(t, 23, 26, [(19, 32)])
    (True, (19, 32))
    """
    while s < e and not (text[s].isalnum()):
        s += 1
    while e > s and not (text[e - 1].isalnum()):
        e -= 1
    if s >= e:
        return None
    if _is_word(text[s]):
        while s > 0 and _is_word(text[s - 1]):
            s -= 1
    if _is_word(text[e - 1]):
        while e < len(text) and _is_word(text[e]):
            e += 1
    if not any(ch.isalpha() for ch in text[s:e]):
        for a, b in contacts:
            if a < e and s < b:
                return (a, b)
        return None
    return (s, e)


class _Context(NamedTuple):
    """Per-batch lookups for result assembly (see :meth:`TextModel._context`)."""

    lexicon: Any            # the fitted LexiconFeatures block, or None
    chars: Any              # the char n-gram vectorizer, or None
    names: Any              # column -> n-gram of ``chars`` (a list), or None to ask sklearn
    coef: dict              # category -> coefficients of its linear model (or None)


def _span_key(d: dict):
    return d["span"]


def _offsets(clipped: str):
    from .normalize import normalize_with_offsets

    return normalize_with_offsets(clipped)


def _blocks_fired(X, blocks) -> dict[str, list[bool]]:
    """For the lexicon and contact blocks, per row of CSR ``X``: whether :func:`_any` is true
    (one vectorised pass per block instead of one small NumPy expression per text).

    Blocks the union does not have read as True for every row, as ``_any(row, None)`` does.
    """
    n = X.shape[0]
    rows = np.repeat(np.arange(n), np.diff(X.indptr))
    nonzero = X.data != 0
    out: dict[str, list[bool]] = {}
    for name in ("lexicons", "contacts"):
        block = blocks.get(name)
        if block is None:
            out[name] = [True] * n
            continue
        lo, hi = block
        sel = (X.indices >= lo) & (X.indices < hi) & nonzero
        out[name] = (np.bincount(rows[sel], minlength=n) > 0).tolist()
    return out


class _Row(NamedTuple):
    """One row of a CSR matrix: its column indices and values."""

    indices: np.ndarray
    data: np.ndarray


def _any(xrow, block) -> bool:
    """Whether a sparse row has a non-zero feature in the column range ``block``."""
    if block is None:
        return True
    lo, hi = block
    return bool(((xrow.indices >= lo) & (xrow.indices < hi) & (xrow.data != 0)).any())


def _text_problem(t: Any, i: int) -> dict | None:
    if not isinstance(t, str):
        return {"type": "TypeError", "message": f"texts[{i}]: expected str, got {describe(t)}"}
    if not t or t.isspace():
        return {"type": "ValueError", "message": f"texts[{i}]: empty text, nothing to score"}
    m = _SURROGATE.search(t)  # a scan without the copy t.encode() would make
    if m is not None:
        return {"type": "ValueError",
                "message": f"texts[{i}]: not valid Unicode (lone surrogate at index {m.start()})"}
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")


def _copy(res: dict) -> dict:
    # An independent copy of a result (for a repeated text that was not cached).
    import copy

    return copy.deepcopy(res)

