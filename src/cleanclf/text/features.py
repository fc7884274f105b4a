"""Text features as scikit-learn transformers.

Each transformer takes a 1-D iterable of *normalised* ``str`` (run
:class:`cleanclf.text.normalize.Normalizer` first, or let
:class:`cleanclf.text.model.TextModel` do it once for all features), clones,
pickles and has ``get_feature_names_out``.

>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.linear_model import LogisticRegression
>>> from cleanclf.text.normalize import Normalizer
>>> from cleanclf.text.features import make_text_features
>>> pipe = make_pipeline(Normalizer(), make_text_features(lexicons={"demo": {"terms": ["包夜"]}}),
...                      LogisticRegression())
>>> _ = pipe.fit(["包夜 加微信", "今天天气很好", "上门包夜", "外卖很好吃"], [1, 0, 1, 0])
>>> int(pipe.predict(["可以包夜"])[0])
1
"""

from __future__ import annotations

import re

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.utils.validation import check_is_fitted

from ..errors import InputError, describe
from .lexicon import TermMatcher
from .normalize import as_texts, text_input_tags  # the one text-input validator
from .tokenize import JiebaTokenizer


class LexiconFeatures(TransformerMixin, BaseEstimator):
    """Per-list hit counts (log1p) of term lexicons on normalised text.

    Parameters
    ----------
    lexicons : dict
        ``{list_name: {"terms": [...], "regexes": [...]}}`` (the shape
        :func:`cleanclf.text.lexicon.read_lexicon_dir` returns). Stored in the
        fitted model, so a bundle carries the lists it was trained with.
    normalize_terms : bool
        Normalise the listed terms like the posts, so a traditional or
        full-width listed spelling still matches.
    cue_columns : bool
        Add two context columns: a contact route cue ("加我", "私聊", "vx",
        "主页", "qq" ...) with no hit of a sexual list (``cue_alone``), and with
        one (``cue_sexual``). A linear model cannot form that conjunction from
        the separate columns, and "加我" alone is what ordinary ads say.

    >>> f = LexiconFeatures({"paid": {"terms": ["包夜", "楼凤"]}}).fit(["x"])
    >>> f.transform(["包夜 楼凤 包夜"]).toarray().astype(float).round(3).tolist()   # log1p(3 hits), log1p(2 distinct terms)
    [[1.386, 1.099]]
    >>> list(f.get_feature_names_out())
    ['lex__paid', 'lex__n_distinct']
    """

    def __init__(self, lexicons: dict | None = None, normalize_terms: bool = True, cue_columns: bool = False):
        self.lexicons = lexicons
        self.normalize_terms = normalize_terms
        self.cue_columns = cue_columns

    def __sklearn_tags__(self):
        tags = text_input_tags(super().__sklearn_tags__())
        tags.requires_fit = True
        tags.transformer_tags.preserves_dtype = []  # text in, float32 out
        return tags

    def fit(self, X, y=None):
        """Validate ``X`` (a 1-D iterable of str; the lists need no data) and compile the lexicons."""
        as_texts(X)
        for name in ("normalize_terms", "cue_columns"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise InputError(f"{name}: expected True or False, got {describe(getattr(self, name))}")
        lex = self.lexicons
        if not isinstance(lex, dict) or not lex:
            raise InputError(f"lexicons: expected a non-empty dict of name -> {{'terms': [...]}}, got {describe(lex)}")
        from .lexicon import list_category
        from .normalize import normalize

        norm = normalize if self.normalize_terms else str
        terms: dict[str, list[str]] = {}
        regexes: dict[str, list[str]] = {}
        meanings: dict[str, str] = {}
        for name, entry in lex.items():
            if isinstance(entry, (list, tuple)):
                entry = {"terms": list(entry)}
            if not isinstance(entry, dict):
                raise InputError(f"lexicons[{name!r}]: expected a dict with 'terms', got {describe(entry)}")
            ts = [t for t in entry.get("terms", []) if isinstance(t, str) and t.strip()]
            if self.normalize_terms:
                ts = sorted({norm(t) for t in ts} - {""})
            terms[str(name)] = ts
            regexes[str(name)] = list(entry.get("regexes", []))
            for t, m in (entry.get("meanings") or {}).items():
                if isinstance(t, str) and isinstance(m, str):
                    meanings.setdefault(norm(t), m)
        self.matcher_ = TermMatcher(terms, regexes)
        # term -> what it means (lists that document their terms, e.g. cleanclf's slang list):
        # evidence shows it to a reviewer
        self.meanings_ = meanings
        self.list_names_ = list(lex)
        self.sexual_lists_ = frozenset(n for n in self.list_names_ if list_category(n))
        return self

    def hits(self, text: str):
        """The lexicon hits in one normalised text (used for evidence)."""
        check_is_fitted(self, "matcher_")
        return self.matcher_.find(text)

    def transform(self, X):
        return self._transform_hits(X)[0]

    def _transform_hits(self, X):
        """``transform`` plus each text's hits (the scorer reuses them for evidence)."""
        check_is_fitted(self, "matcher_")
        X = as_texts(X)
        index = {n: i for i, n in enumerate(self.list_names_)}
        k = len(self.list_names_)
        cues = getattr(self, "cue_columns", False)  # bundles before 0.5.0 have no such parameter
        out = np.zeros((len(X), k + 1 + 2 * cues), dtype=np.float32)
        find = self.matcher_.find
        all_hits = [find(text) for text in X]
        sexual = getattr(self, "sexual_lists_", frozenset())
        for row, hits in enumerate(all_hits):
            if cues and _CUE.search(X[row]):
                hot = any(name in sexual for h in hits for name in h.lists)
                out[row, k + 2 if hot else k + 1] = 1.0
            if not hits:
                continue
            seen = set()
            for h in hits:
                seen.add(h.term)
                for name in h.lists:
                    out[row, index[name]] += 1.0
            out[row, k] = len(seen)
        np.log1p(out, out=out)
        return sp.csr_matrix(out), all_hits

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "matcher_")
        extra = ["lex__cue_alone", "lex__cue_sexual"] if getattr(self, "cue_columns", False) else []
        return np.array([f"lex__{n}" for n in self.list_names_] + ["lex__n_distinct"] + extra, dtype=object)


#: Contact-route cues on normalised text (lower case; the normaliser has undone disguises).
_CUE = re.compile(r"加我|加v|加微|加q|私聊|私我|私信|私戳|vx|wx|v信|微信|威信|薇信|滴滴|dd我|主页|简介|扣扣|qq|🐧|"
                  r"电话|联系我|看名字|看头像|戳我|找我|来撩|call me|text me|dm me|\bdm\b")


def transform_with_details(union, texts: list[str], renormalized: list[str] | None = None):
    """``union.transform(texts)`` and, per text, what the lexicon and contact blocks found.

    Returns ``(X, details)``, ``details`` keyed by the union's transformer
    names: for a :class:`LexiconFeatures` block, the hits of each text; for a
    :class:`~cleanclf.text.contacts.ContactFeatures` block, the contact spans of
    each ``renormalized[i]`` (``normalize(texts[i])``, which is what that block
    reads; computed here when not given). The char n-gram
    block goes through :mod:`cleanclf.text.fastngrams` when it is a supported
    vectorizer. ``X`` is the very matrix ``union.transform`` returns (same blocks,
    same ``scipy.sparse.hstack``); a union this function does not know (weights,
    dropped or pandas-output transformers) is left to ``union.transform``.

    >>> u = make_text_features(lexicons={"demo": {"terms": ["包夜"]}}, char_min_df=1).fit(["包夜 加微信 abc123"])
    >>> X, d = transform_with_details(u, ["包夜 加微信 abc123"])
    >>> (X != u.transform(["包夜 加微信 abc123"])).nnz, [h.term for h in d["lexicons"][0]], d["contacts"][0][0][2]
    (0, ['包夜'], 'wechat')
    """
    from .contacts import ContactFeatures
    from .fastngrams import fast_char_ngrams

    texts = list(texts)
    details: dict[str, list] = {}
    parts = getattr(union, "transformer_list", None)
    if (type(union) is not FeatureUnion or union.transformer_weights is not None or not parts
            or _pandas_output(union) or any(_pandas_output(tr) or isinstance(tr, str) or tr is None
                                            for _, tr in parts)):
        return union.transform(texts), details
    Xs = []
    for name, tr in parts:
        if type(tr) is LexiconFeatures:
            M, details[name] = tr._transform_hits(texts)
        elif type(tr) is ContactFeatures:
            if renormalized is None:
                from .normalize import normalize

                renormalized = [normalize(t) for t in texts]
            M, details[name] = tr._transform_normalized(renormalized)
        else:
            fast = fast_char_ngrams(tr)
            M = fast.transform(texts) if fast is not None else tr.transform(texts)
        Xs.append(M)
    if any(sp.issparse(M) for M in Xs):  # FeatureUnion._hstack
        return sp.hstack(Xs).tocsr(), details
    return np.hstack(Xs), details


def _pandas_output(est) -> bool:
    config = getattr(est, "_sklearn_output_config", None) or {}
    return config.get("transform", "default") != "default"


def char_ngrams(ngram_range=(1, 3), min_df=2, max_features=300_000) -> TfidfVectorizer:
    """Character n-grams of normalised text (sublinear tf-idf).

    Characters carry most of the signal in short, disguised Chinese spam; no
    tokenizer cost, and robust to the word-boundary noise separators leave.
    """
    return TfidfVectorizer(
        analyzer="char", ngram_range=ngram_range, min_df=min_df, max_features=max_features,
        sublinear_tf=True, lowercase=False, dtype=np.float32,
    )


def word_ngrams(ngram_range=(1, 2), min_df=2, max_features=200_000, hmm=False) -> TfidfVectorizer:
    """jieba word n-grams of normalised text, with the picklable :class:`JiebaTokenizer`."""
    return TfidfVectorizer(
        tokenizer=JiebaTokenizer(hmm=hmm), token_pattern=None, ngram_range=ngram_range,
        min_df=min_df, max_features=max_features, sublinear_tf=True, lowercase=False, dtype=np.float32,
    )


def make_text_features(lexicons: dict | None = None, *, char_ngram_range=(1, 3), char_min_df=2,
                       char_max_features=300_000, words: bool = False, contacts: bool = True,
                       cue_columns: bool = False) -> FeatureUnion:
    """The feature union the text classifiers use: chars (+ words) + lexicons + contacts."""
    parts = [("chars", char_ngrams(char_ngram_range, char_min_df, char_max_features))]
    if words:
        parts.append(("words", word_ngrams()))
    if lexicons:
        parts.append(("lexicons", LexiconFeatures(lexicons, cue_columns=cue_columns)))
    if contacts:
        from .contacts import ContactFeatures

        parts.append(("contacts", ContactFeatures()))
    return FeatureUnion(parts)
