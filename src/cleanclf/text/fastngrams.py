"""A vectorised ``transform`` for a fitted character n-gram ``TfidfVectorizer``.

scikit-learn's char analyzer builds every n-gram as a Python ``str`` and looks
it up in a dict, one text at a time: on short posts that was a quarter of the
scoring time. :class:`FastCharNgrams` computes the same matrix with a few NumPy
passes over a whole batch: the batch's code points go into one integer array,
each 1/2/3-gram is packed into one ``int64`` key (21 bits per code point, stored
as ``code point + 1`` so that an absent position is 0 and grams of different
lengths never collide), keys are looked up in a hash table made once from
``vocabulary_``, and counts per (row, column) come from one sort. The tf-idf
weighting (sublinear tf, idf, l2 norm) then runs on the count matrix with the
very operations scikit-learn applies, so the result is identical, not merely
close: same indices, same float32 values.

The fitted vectorizer is not changed and nothing new is pickled: the lookup
table is derived from ``vocabulary_`` on first use (:func:`fast_char_ngrams`).

>>> from sklearn.feature_extraction.text import TfidfVectorizer
>>> import numpy as np
>>> vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), lowercase=False,
...                       sublinear_tf=True, dtype=np.float32).fit(["约炮 加微信", "今天  天气"])
>>> fast = FastCharNgrams(vec).fit()
>>> docs = ["加微信  约", "天气", ""]
>>> bool((fast.transform(docs) != vec.transform(docs)).nnz == 0)
True
"""

from __future__ import annotations

import re
import weakref
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import normalize as _sk_normalize
from sklearn.utils.validation import check_is_fitted

from ..errors import InputError, InputTypeError, describe
from .normalize import text_input_tags

__all__ = ["FastCharNgrams", "fast_char_ngrams", "supports"]

# scikit-learn's _VectorizerMixin._white_spaces: the char analyzer collapses runs of two or
# more whitespace characters (a single tab or newline stays as it is) before taking n-grams.
_WHITE_SPACES = re.compile(r"\s\s+")
_BITS = 21  # code points are < 0x110000 <= 2**21 - 1 once shifted by one
_MAX_N = 3  # three 21-bit slots fill an int64 (63 bits)


def supports(vectorizer) -> bool:
    """Whether :class:`FastCharNgrams` reproduces ``vectorizer.transform`` exactly.

    Only a fitted ``TfidfVectorizer`` with ``analyzer="char"``, n-grams of 1..3
    characters, no lower-casing, accent stripping or preprocessor, and
    ``input="content"``; anything else keeps scikit-learn's own transform.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    if type(vectorizer) is not TfidfVectorizer or not hasattr(vectorizer, "vocabulary_"):
        return False
    p = vectorizer.get_params(deep=False)
    lo, hi = p["ngram_range"]
    return (p["analyzer"] == "char" and 1 <= lo <= hi <= _MAX_N and p["lowercase"] is False
            and p["preprocessor"] is None and p["strip_accents"] is None and p["input"] == "content"
            and p["norm"] in (None, "l1", "l2"))


class FastCharNgrams(TransformerMixin, BaseEstimator):
    """Same output as ``vectorizer.transform`` for a fitted char n-gram ``TfidfVectorizer``, faster.

    Parameters
    ----------
    vectorizer : TfidfVectorizer
        Fitted, and accepted by :func:`supports`. Not modified.

    ``fit`` reads ``vocabulary_`` into a hash table of packed keys
    (``slot_keys_``, ``slot_columns_``) and a column -> n-gram list
    (``names_``), built once per vectorizer and shared;
    ``transform`` takes a 1-D list of ``str``.

    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> vec = TfidfVectorizer(analyzer="char", lowercase=False).fit(["ab", "abc"])
    >>> FastCharNgrams(vec).fit().transform(["abc"]).toarray().round(3).tolist()
    [[0.502, 0.502, 0.705]]
    """

    def __init__(self, vectorizer=None):
        self.vectorizer = vectorizer

    def __sklearn_tags__(self):
        tags = text_input_tags(super().__sklearn_tags__())
        tags.transformer_tags.preserves_dtype = []  # text in, the vectorizer's dtype out
        return tags

    def fit(self, X=None, y=None):
        """Build the lookup table; returns ``self``.

        A fitted ``vectorizer`` is used as it is (``X`` may then be omitted; it is
        validated when given); an unfitted one is cloned and fitted on ``X``, a
        1-D iterable of str, into ``vectorizer_``; ``None`` stands for
        ``TfidfVectorizer(analyzer="char", ngram_range=(1, 3), lowercase=False,
        sublinear_tf=True, dtype=np.float32)``.
        """
        from sklearn.base import clone
        from sklearn.feature_extraction.text import TfidfVectorizer

        from .normalize import as_texts

        vec = self.vectorizer
        docs = None if X is None and hasattr(vec, "vocabulary_") else as_texts(X)
        if vec is None:
            vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), lowercase=False, sublinear_tf=True,
                                  dtype=np.float32)
        if not hasattr(vec, "vocabulary_"):
            if not hasattr(vec, "fit") or not hasattr(vec, "get_params"):
                raise InputError(f"vectorizer: expected a TfidfVectorizer, got {describe(vec)}")
            vec = clone(vec).fit(docs)
        if not supports(vec):
            raise InputError("vectorizer: FastCharNgrams needs a TfidfVectorizer(analyzer='char', ngram_range within "
                             f"(1, 3), lowercase=False, no preprocessor); got {describe(self.vectorizer)} "
                             "(see fastngrams.supports)")
        table = _table(vec)
        self.vectorizer_ = vec
        self.slot_keys_, self.slot_columns_, self.names_ = table.slot_keys, table.slot_columns, table.names
        self.n_features_ = len(table.names)
        return self

    def counts(self, docs: list[str]) -> sp.csr_matrix:
        """Term counts per text (CountVectorizer semantics), float in the vectorizer's dtype, sorted indices."""
        check_is_fitted(self, "slot_keys_")
        vec = self.vectorizer_
        lo, hi = vec.ngram_range
        n_docs = len(docs)
        docs = [_WHITE_SPACES.sub(" ", d) for d in docs]
        lens = np.fromiter(map(len, docs), dtype=np.int64, count=n_docs)
        cps = _code_points("".join(docs)) + 1
        total = cps.size
        row = np.repeat(np.arange(n_docs, dtype=np.int64), lens)
        # Characters left in the text from each position on (itself included): a gram of n
        # characters starts at a position only if at least n are left, as in _char_ngrams.
        left = np.repeat(np.cumsum(lens), lens) - np.arange(total, dtype=np.int64)
        key_parts, row_parts = [], []
        key = cps << (_BITS * (_MAX_N - 1))
        for n in range(1, hi + 1):
            if n > 1:
                key = key[:-1] | (cps[n - 1:] << (_BITS * (_MAX_N - n)))
            if n >= lo:
                ok = left[:total - n + 1] >= n
                key_parts.append(key[ok])
                row_parts.append(row[:total - n + 1][ok])
        keys = np.concatenate(key_parts) if key_parts else np.zeros(0, np.int64)
        rows = np.concatenate(row_parts) if row_parts else np.zeros(0, np.int64)
        cols = _lookup(self.slot_keys_, self.slot_columns_, keys)
        found = cols >= 0
        cell = rows[found] * self.n_features_ + cols[found]
        # One sort gives every (row, column) count; the parts are row-ordered runs, which the
        # stable (merge) sort exploits.
        cell = np.sort(cell, kind="stable")
        if cell.size:
            first = np.flatnonzero(np.concatenate(([True], cell[1:] != cell[:-1])))
            count = np.diff(np.append(first, cell.size))
            cell = cell[first]
        else:
            count = np.zeros(0, np.int64)
        cell_rows = cell // self.n_features_
        indptr = np.zeros(n_docs + 1, dtype=np.int32)
        np.cumsum(np.bincount(cell_rows, minlength=n_docs), out=indptr[1:])
        indices = (cell - cell_rows * self.n_features_).astype(np.int32)
        data = np.ones(count.shape, dtype=vec.dtype) if vec.binary else count.astype(vec.dtype)
        return sp.csr_matrix((data, indices, indptr), shape=(n_docs, self.n_features_))

    def transform(self, X):
        """The tf-idf matrix ``vectorizer.transform(X)`` would return."""
        check_is_fitted(self, "slot_keys_")
        if isinstance(X, (str, bytes)):
            raise InputTypeError(f"X: expected a 1-D iterable of str, got a single {type(X).__name__}")
        docs = list(X) if not isinstance(X, list) else X
        if not all(isinstance(d, str) for d in docs):
            return self.vectorizer_.transform(docs)  # its own errors for bytes, nan, ...
        vec = self.vectorizer_
        M = self.counts(docs)
        # TfidfTransformer.transform, step by step (same operations, same order, same dtype).
        if vec.sublinear_tf:
            np.log(M.data, M.data)
            M.data += 1.0
        if vec.use_idf:
            M.data *= vec.idf_[M.indices]
        if vec.norm is not None:
            M = _sk_normalize(M, norm=vec.norm, copy=False)
        return M

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "names_")
        return np.asarray(self.names_, dtype=object)


def _code_points(s: str) -> np.ndarray:
    # UTF-32 is one unit per code point, as Python indexes str; surrogatepass keeps a lone
    # surrogate as its own code point instead of failing.
    return np.frombuffer(s.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64)


class _Table(NamedTuple):
    slot_keys: np.ndarray     # open-addressing hash table of packed n-gram keys (_EMPTY: free slot)
    slot_columns: np.ndarray  # column of the key in each slot
    names: list               # column -> n-gram
    vocabulary: dict          # the vocabulary_ it was built from (identity tells a refit)


_EMPTY = -1  # packed keys are > 0
_MUL = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: the top bits of key * 2**64 / phi


def _slots(keys: np.ndarray, bits: int) -> np.ndarray:
    return ((keys.astype(np.uint64) * _MUL) >> np.uint64(64 - bits)).astype(np.int64)


def _lookup(slot_keys: np.ndarray, slot_columns: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Column of each key, -1 when absent: linear probing, one vectorised round per probe
    step over the keys still unresolved (a hash probe is ~3x cheaper than a binary search
    of the 300k sorted keys, whose every step is a cache miss)."""
    bits = int(slot_keys.size).bit_length() - 1
    mask = slot_keys.size - 1
    slot = _slots(keys, bits)
    out = np.full(keys.shape, -1, dtype=np.int64)
    todo = np.arange(keys.size)
    while todo.size:
        s = slot[todo]
        held = slot_keys[s]
        hit = held == keys[todo]
        out[todo[hit]] = slot_columns[s[hit]]
        todo = todo[~hit & (held != _EMPTY)]
        slot[todo] = (slot[todo] + 1) & mask
    return out


# Fitted vectorizer -> its lookup table. Weak keys, and the table holds no reference to the
# vectorizer: it lives as long as the model that owns the vectorizer, and is never pickled.
_TABLES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _table(vec) -> _Table:
    vocab = vec.vocabulary_
    try:
        table = _TABLES.get(vec)
    except TypeError:  # not weak-referenceable: build every time
        table = None
    if table is not None and table.vocabulary is vocab:
        return table
    table = _build_table(vocab)
    try:
        _TABLES[vec] = table
    except TypeError:
        pass
    return table


def _build_table(vocab: dict) -> _Table:
    grams = list(vocab)
    cols = np.fromiter(vocab.values(), dtype=np.int64, count=len(grams))
    names = [""] * len(grams)
    for g, c in zip(grams, cols.tolist()):
        names[c] = g
    lens = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
    if lens.size and (lens.min() < 1 or lens.max() > _MAX_N):
        raise ValueError("vocabulary_ holds n-grams longer than 3 characters")
    cps = _code_points("".join(grams)) + 1
    first = np.cumsum(lens) - lens
    keys = np.zeros(len(grams), dtype=np.int64)
    for slot in range(_MAX_N):
        has = lens > slot
        keys[has] |= cps[first[has] + slot] << (_BITS * (_MAX_N - 1 - slot))
    if np.unique(keys).size != keys.size:
        raise ValueError("vocabulary_ maps two n-grams to one key")  # cannot happen for distinct str grams
    # A table at most 1/3 full keeps linear-probing runs short.
    bits = max(4, int(3 * max(len(grams), 1)).bit_length())
    size = 1 << bits
    slot_keys = np.full(size, _EMPTY, dtype=np.int64)
    slot_columns = np.zeros(size, dtype=np.int64)
    slot = _slots(keys, bits)
    todo = np.arange(keys.size)
    while todo.size:  # insert round by round: the first key to claim a free slot takes it
        s = slot[todo]
        free = slot_keys[s] == _EMPTY
        taken, first = np.unique(s[free], return_index=True)
        winners = todo[free][first]
        slot_keys[taken] = keys[winners]
        slot_columns[taken] = cols[winners]
        placed = np.zeros(keys.size, dtype=bool)
        placed[winners] = True
        todo = todo[~placed[todo]]
        slot[todo] = (slot[todo] + 1) & (size - 1)
    return _Table(slot_keys, slot_columns, names, vocab)


def fast_char_ngrams(vectorizer) -> FastCharNgrams | None:
    """A fitted :class:`FastCharNgrams` for ``vectorizer``, or None if :func:`supports` says no.

    Cheap after the first call: the lookup table is cached per vectorizer (and
    rebuilt when it was refitted, i.e. has a new ``vocabulary_``).

    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> vec = TfidfVectorizer(analyzer="char", lowercase=False).fit(["ab"])
    >>> fast_char_ngrams(vec).slot_keys_ is fast_char_ngrams(vec).slot_keys_
    True
    """
    return FastCharNgrams(vectorizer).fit() if supports(vectorizer) else None
