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
import pickle
from collections import OrderedDict
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..categories import TEXT_CATEGORIES
from ..errors import BundleError, describe
from .lexicon import LEXICON_CATEGORY, find_minor_signals

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


class TextModel:
    """Fitted text classifiers for ``explicit_text`` and ``solicitation``.

    Built by :func:`cleanclf.train.fit_text_model`; loaded from a bundle by
    :meth:`from_bundle`.
    """

    FILE = "text_model.pkl.gz"

    def __init__(self, features, classifiers: dict, thresholds: dict[str, float],
                 meta: dict | None = None, max_chars: int = MAX_TEXT_CHARS):
        self.features = features          # fitted FeatureUnion on normalised text
        self.classifiers = classifiers    # category -> fitted CalibratedClassifierCV
        self.thresholds = dict(thresholds)
        self.meta = dict(meta or {})
        self.max_chars = max_chars
        self.cache_size = DEFAULT_CACHE_SIZE  # set 0 to disable the cache
        self._cache: OrderedDict[str, dict] = OrderedDict()

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
        from .normalize import normalize

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
                results[i] = _copy(hit)
                continue
            todo.setdefault(t, []).append(i)
        if todo:
            uniq = list(todo)
            clipped = [t[: self.max_chars] for t in uniq]
            normed = [normalize(t) for t in clipped]
            # One feature pass serves scoring and evidence: the per-text work below reads
            # the rows of X instead of re-extracting features text by text.
            X = self.features.transform(normed).tocsr()
            probs = self._proba(X)
            blocks = self._blocks()
            ptr, ind, dat = X.indptr, X.indices, X.data
            for k, (t, c, n, p) in enumerate(zip(uniq, clipped, normed, probs)):
                # Row k as raw index/data slices: scipy's X[k] costs ~0.1 ms a row.
                row = _Row(ind[ptr[k]:ptr[k + 1]], dat[ptr[k]:ptr[k + 1]])
                res = self._result(t, c, n, p, row, blocks)
                self._remember(t, res)
                for i in todo[t]:
                    results[i] = _copy(res)
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

    def _remember(self, text: str, res: dict) -> None:
        if len(text) > 2000 or self.cache_size <= 0:
            return  # long texts rarely repeat; keep the cache's memory bounded
        self._cache[text] = res
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def _result(self, original: str, clipped: str, normed: str, p, xrow, blocks) -> dict:
        scores = {c: float(round(p[j], 6)) for j, c in enumerate(TEXT_CATEGORIES)}
        labels = [c for c in TEXT_CATEGORIES if scores[c] >= self.thresholds[c]]
        lex = self._lexicon()
        hits = lex.hits(normed) if lex is not None and _any(xrow, blocks.get("lexicons")) else []
        minors = find_minor_signals(normed)
        sexual_hit = any(list_category(n) for h in hits for n in h.lists)
        near = any(scores[c] >= ESCALATE_FRACTION * self.thresholds[c] for c in TEXT_CATEGORIES)
        escalate = bool(minors) and (bool(labels) or near or sexual_hit)
        contacts = []
        if "contacts" not in blocks or _any(xrow, blocks["contacts"]):
            from .contacts import extract_contacts

            contacts = extract_contacts(clipped)
        evidence: list[dict] = []
        if labels or escalate or near:
            evidence = self._evidence(clipped, hits, contacts, labels, minors if escalate else [], xrow, blocks)
        elif contacts:
            # Clearly benign text: only its contacts (accounts count handles repeated across
            # posts); terms and n-grams explain flags, and skipping them spares the offset map.
            evidence = [_contact_entry(c) for c in contacts[:20]]
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

    def _evidence(self, clipped: str, hits, contacts, labels, minors, xrow, blocks) -> list[dict]:
        from .normalize import normalize_with_offsets

        nz = normalize_with_offsets(clipped)
        ev: list[dict] = []
        lex = self._lexicon()
        merged: dict[tuple[int, int], dict] = {}
        for h in hits:
            # A term can be hit by a literal and a regex line of another list: one entry per span.
            if (h.start, h.end) in merged:
                entry = merged[(h.start, h.end)]
                entry["lists"] = sorted(set(entry["lists"]) | set(h.lists))
                entry["categories"] = sorted(set(entry["categories"]) | {list_category(n) or "" for n in h.lists} - {""})
                continue
            if len(merged) >= 20:
                continue
            s, e = nz.to_original(h.start, h.end)
            cats = sorted({list_category(n) or "" for n in h.lists} - {""})
            merged[(h.start, h.end)] = {"kind": "term", "term": h.term, "text": clipped[s:e], "span": [s, e],
                                        "lists": sorted(h.lists), "categories": cats}
        ev.extend(sorted(merged.values(), key=lambda d: d["span"]))
        ev.extend(_contact_entry(c) for c in contacts[:20])
        for term, s0, e0 in minors:
            s, e = nz.to_original(s0, e0)
            ev.append({"kind": "minor_signal", "term": term, "text": clipped[s:e], "span": [s, e]})
        for cat in labels:
            ev.extend(self._top_ngrams(cat, nz, clipped, xrow, blocks.get("chars")))
        return ev

    def _top_ngrams(self, category: str, nz, clipped: str, xrow, block) -> list[dict]:
        """The character n-grams that pushed this text's score up most (coef x tf-idf)."""
        chars = dict(getattr(self.features, "transformer_list", [])).get("chars")
        est = _linear(self.classifiers[category])
        if chars is None or est is None or block is None:
            return []
        lo, hi = block
        sel = (xrow.indices >= lo) & (xrow.indices < hi)
        idx, val = xrow.indices[sel], xrow.data[sel]
        if idx.size == 0:
            return []
        contrib = val * est.coef_.ravel()[idx]
        names = self._ngram_names(chars)
        out = []
        for k in np.argsort(-contrib)[:_TOP_NGRAMS]:
            if contrib[k] <= 0:
                break
            gram = names[idx[k] - lo]
            pos = nz.text.find(gram)
            if pos < 0 or not gram.strip():
                continue
            s, e = nz.to_original(pos, pos + len(gram))
            out.append({"kind": "ngram", "category": category, "ngram": gram, "text": clipped[s:e],
                        "span": [s, e], "weight": round(float(contrib[k]), 4)})
        return out

def list_category(name: str) -> str | None:
    """Category a lexicon list speaks for (by the shared file-name prefixes)."""
    return next((c for p, c in LEXICON_CATEGORY.items() if name.startswith(p)), None)


def _linear(calibrated):
    """The fitted linear model inside a CalibratedClassifierCV (ensemble=False) or a bare one."""
    if hasattr(calibrated, "coef_"):
        return calibrated
    ccs = getattr(calibrated, "calibrated_classifiers_", None)
    if ccs:
        est = getattr(ccs[0], "estimator", None)
        if hasattr(est, "coef_"):
            return est
    return None


def _contact_entry(c) -> dict:
    return {"kind": "contact", "type": c.type, "value": c.value, "text": c.raw, "span": [c.start, c.end]}


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
    if not t.strip():
        return {"type": "ValueError", "message": f"texts[{i}]: empty text, nothing to score"}
    try:
        t.encode("utf-8")
    except UnicodeEncodeError as exc:
        return {"type": "ValueError",
                "message": f"texts[{i}]: not valid Unicode (lone surrogate at index {exc.start})"}
    return None


def _copy(res: dict) -> dict:
    # Cached results are shared: hand out copies so a caller's edit cannot leak.
    out = dict(res)
    out["labels"] = list(res["labels"])
    out["evidence"] = [dict(e) for e in res["evidence"]]
    out["escalate_reasons"] = list(res["escalate_reasons"])
    return out

