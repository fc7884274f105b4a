"""Two baselines cleanclf must beat: a lexicon matcher and TF-IDF(jieba words) + logistic regression.

Both expose ``score_texts(texts) -> list[dict]`` in cleanclf's format
(``{"explicit_text": p, "solicitation": p, "labels": [...]}``, or ``{"error": {...}}`` for a
non-string input) and a ``thresholds`` dict, so the quality and speed harnesses treat them
exactly like ``cleanclf.load()``.

>>> kw = KeywordBaseline.from_terms({"explicit_text": ["黄片"], "solicitation": ["包夜", "escort"]})
>>> r = kw.score_texts(["包夜 300", "escorting", "an escort", "黄片资源", 5])
>>> [x.get("labels") for x in r[:4]], r[4]["error"]["type"]
([['solicitation'], [], ['solicitation'], ['explicit_text']], 'InputTypeError')
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

CATEGORIES: tuple[str, ...] = ("explicit_text", "solicitation")
SHARED = Path(os.environ.get("CLEANCLF_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
LEXICON_DIR = SHARED / "lexicons"
TRAIN = SHARED / "text" / "train.jsonl"
DEV = SHARED / "text" / "dev.jsonl"

#: Lexicon file prefix -> category (DATA.md: lexicons are features, not verdicts).
LEXICON_CATEGORY: dict[str, str] = {
    "porn_": "explicit_text",
    "literature_": "explicit_text",
    "vulgar_": "explicit_text",
    "solicitation_": "solicitation",
    "hookup_": "solicitation",
}

_REGEX_LINE = re.compile(r"^/(.*)/([a-z]*)$")
_ASCII_WORD = re.compile(r"^[a-z0-9][a-z0-9 '\-]*$")


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """Rows of a JSONL file (one JSON object per line, blank lines skipped)."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _error(item: Any) -> dict:
    return {"error": {"type": "InputTypeError", "message": f"expected str, got {type(item).__name__}"}}


def load_lexicons(directory: str | os.PathLike = LEXICON_DIR) -> tuple[dict[str, list[str]], dict[str, list[re.Pattern]]]:
    """Terms and compiled regular-expression lines per category from the shared lexicon files.

    Lines of the form ``/pattern/flags`` are regular expressions (compiled apart, ``i`` honoured);
    ``#`` lines are headers. Terms are lower-cased, like the text they are matched against.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"directory: lexicon directory {str(directory)!r} not found")
    terms: dict[str, list[str]] = {c: [] for c in CATEGORIES}
    regexes: dict[str, list[re.Pattern]] = {c: [] for c in CATEGORIES}
    for path in sorted(directory.glob("*.txt")):
        cat = next((c for p, c in LEXICON_CATEGORY.items() if path.name.startswith(p)), None)
        if cat is None:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            m = _REGEX_LINE.match(line)
            if m:
                try:
                    regexes[cat].append(re.compile(m.group(1), re.IGNORECASE if "i" in m.group(2) else 0))
                except re.error:
                    pass  # a JS-only construct; the baseline just lacks that line
            else:
                terms[cat].append(line.lower())
    return terms, regexes


class KeywordBaseline:
    """Aho-Corasick lexicon matcher over lower-cased text; score = hits / (hits + 1).

    One hit gives 0.5 (the threshold), more hits rank higher, so PR-AUC is meaningful.
    ASCII terms must stand as whole words ("ass" does not fire in "class"); Chinese terms
    match anywhere, as Chinese has no word boundaries.

    >>> kw = KeywordBaseline.from_terms({"explicit_text": ["ass"], "solicitation": []})
    >>> [r["explicit_text"] for r in kw.score_texts(["class", "kick ass", "ass ass"])]
    [0.0, 0.5, 0.6666666666666666]
    """

    name = "keyword"

    def __init__(self, terms: Mapping[str, Sequence[str]], regexes: Mapping[str, Sequence[re.Pattern]] | None = None):
        import ahocorasick  # dev dependency: pip install pyahocorasick

        self.terms = {c: list(terms.get(c, ())) for c in CATEGORIES}
        self.regexes = {c: list((regexes or {}).get(c, ())) for c in CATEGORIES}
        self.thresholds = {c: 0.5 for c in CATEGORIES}
        self._automaton = ahocorasick.Automaton()
        entries: dict[str, set] = {}
        for cat, words in self.terms.items():
            for w in words:
                entries.setdefault(w, set()).add(cat)
        for w, cats in entries.items():
            self._automaton.add_word(w, (len(w), tuple(sorted(cats)), bool(_ASCII_WORD.match(w))))
        if entries:
            self._automaton.make_automaton()
        self._empty = not entries

    @classmethod
    def from_terms(cls, terms: Mapping[str, Sequence[str]]) -> "KeywordBaseline":
        return cls({c: [t.lower() for t in v] for c, v in terms.items()})

    @classmethod
    def from_lexicons(cls, directory: str | os.PathLike = LEXICON_DIR) -> "KeywordBaseline":
        return cls(*load_lexicons(directory))

    def _hits(self, text: str) -> dict[str, int]:
        low = text.lower()
        hits = {c: 0 for c in CATEGORIES}
        if not self._empty:
            for end, (length, cats, ascii_word) in self._automaton.iter(low):
                start = end - length + 1
                if ascii_word and ((start > 0 and low[start - 1].isascii() and low[start - 1].isalnum())
                                   or (end + 1 < len(low) and low[end + 1].isascii() and low[end + 1].isalnum())):
                    continue
                for c in cats:
                    hits[c] += 1
        for c, pats in self.regexes.items():
            hits[c] += sum(1 for p in pats if p.search(text))
        return hits

    def score_texts(self, texts: Iterable[Any]) -> list[dict]:
        out = []
        for t in texts:
            if not isinstance(t, str):
                out.append(_error(t))
                continue
            hits = self._hits(t)
            scores = {c: hits[c] / (hits[c] + 1.0) for c in CATEGORIES}
            out.append({**scores, "labels": [c for c in CATEGORIES if scores[c] >= self.thresholds[c]]})
        return out


def jieba_tokens(text: str) -> list[str]:
    """jieba word tokens of lower-cased text, whitespace dropped (a picklable tokenizer).

    >>> jieba_tokens("加我 微信")[:2]   # doctest: +SKIP
    ['加', '我']
    """
    import jieba

    return [w for w in jieba.lcut(text.lower()) if w.strip()]


class TfidfLRBaseline:
    """TF-IDF over jieba words (1-2 grams) + one logistic regression per category.

    Rows with a null label for a category are left out of that category's fit; thresholds are
    the best-F1 thresholds on dev rows when given (0.5 otherwise).
    """

    name = "tfidf-lr"

    def __init__(self, *, C: float = 4.0, min_df: int = 2, max_features: int | None = 300_000):
        self.C = C
        self.min_df = min_df
        self.max_features = max_features

    def fit(self, rows: Sequence[Mapping], dev_rows: Sequence[Mapping] | None = None) -> "TfidfLRBaseline":
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        from cleanclf.metrics import best_f1_threshold

        self.vectorizer_ = TfidfVectorizer(tokenizer=jieba_tokens, lowercase=False, token_pattern=None,
                                           ngram_range=(1, 2), min_df=self.min_df, sublinear_tf=True,
                                           max_features=self.max_features, dtype=np.float32)
        X = self.vectorizer_.fit_transform([r["text"] for r in rows])
        self.models_ = {}
        for c in CATEGORIES:
            idx = np.array([i for i, r in enumerate(rows) if r.get(c) is not None])
            y = np.array([rows[i][c] for i in idx], dtype=int)
            self.models_[c] = LogisticRegression(C=self.C, max_iter=2000, solver="liblinear").fit(X[idx], y)
        self.thresholds = {c: 0.5 for c in CATEGORIES}
        if dev_rows:
            probs = self._probs([r["text"] for r in dev_rows])
            for c in CATEGORIES:
                ys = [r.get(c) for r in dev_rows]
                if any(y == 1 for y in ys):
                    self.thresholds[c] = best_f1_threshold(ys, probs[c])
        return self

    def _probs(self, texts: list[str]) -> dict[str, np.ndarray]:
        X = self.vectorizer_.transform(texts)
        return {c: self.models_[c].predict_proba(X)[:, 1] for c in CATEGORIES}

    def score_texts(self, texts: Iterable[Any]) -> list[dict]:
        texts = list(texts)
        ok = [i for i, t in enumerate(texts) if isinstance(t, str)]
        probs = self._probs([texts[i] for i in ok]) if ok else {c: [] for c in CATEGORIES}
        out: list[dict] = [_error(t) for t in texts]
        for j, i in enumerate(ok):
            scores = {c: float(probs[c][j]) for c in CATEGORIES}
            out[i] = {**scores, "labels": [c for c in CATEGORIES if scores[c] >= self.thresholds[c]]}
        return out


def fit_tfidf(train_rows: Sequence[Mapping], dev_rows: Sequence[Mapping] | None = None,
              cache: str | os.PathLike | None = None) -> TfidfLRBaseline:
    """Fit the TF-IDF baseline, reusing a pickle at ``cache`` made from the same rows."""
    import hashlib
    import pickle

    key = hashlib.sha256()
    for r in list(train_rows) + [{"dev": 1}] + list(dev_rows or []):
        key.update(json.dumps([r.get("id"), r.get("text"), r.get("explicit_text"), r.get("solicitation")],
                              ensure_ascii=False).encode())
    digest = key.hexdigest()[:16]
    if cache is not None:
        cache = Path(cache)
        if cache.exists():
            with open(cache, "rb") as fh:
                saved = pickle.load(fh)
            if saved.get("digest") == digest:
                return saved["model"]
    model = TfidfLRBaseline().fit(train_rows, dev_rows)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with open(cache, "wb") as fh:
            pickle.dump({"digest": digest, "model": model}, fh)
    return model


def require_shared_data() -> None:
    """Exit with a clear message when ../shared/data is not there (benchmarks only)."""
    missing = [p for p in (TRAIN, DEV, LEXICON_DIR) if not p.exists()]
    if missing:
        raise SystemExit(f"shared data not found: {', '.join(map(str, missing))} "
                         "(set CLEANCLF_SHARED_DATA to the directory holding text/ and lexicons/)")
