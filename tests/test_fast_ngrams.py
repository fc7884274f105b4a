"""The fast scoring path gives exactly what the plain scikit-learn / per-character paths give.

Equivalence on generated texts (seeded): the vectorised char n-gram transform vs
``TfidfVectorizer.transform``; the union pass with reused lexicon hits and contact
spans vs ``FeatureUnion.transform``; the replayed offset map vs the full
offset-tracking run; the gated regex searches vs ungated ones; and whole
``score_texts`` results with and without the fast n-gram transform.
"""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from cleanclf.text import fastngrams
from cleanclf.text.fastngrams import FastCharNgrams, fast_char_ngrams, supports

# Pieces that exercise the analyzer's corners: whitespace runs of every kind (collapsed
# only when two or more), single tabs / newlines (kept), Unicode spaces, non-BMP
# characters (emoji, CJK extension B), combining marks, and ordinary CJK / ASCII text.
_PIECES = ["约", "炮", "加", "微信", "包夜", "同城", "a", "b", "abc", "x1", "13800000000", " ", "  ", "\t",
           "\n", "\n\n", " \t ", "\u3000", "\xa0", "\x85", "\u2028", "\U0001F600", "\U0001F351", "\U00020000",
           "e\u0301", "💋💋", "。", ",", "-", "你好", "今天天气很好", "qq", "ab ab"]


def _texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = ["", "a", " ", "  ", "\t", "\U0001F600", "ab", "a  b", "a\tb", "   lead", "trail   "]
    for _ in range(n):
        out.append("".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 25))))
    return out


def _same(A, B) -> None:
    assert type(A) is type(B)
    assert A.shape == B.shape and A.dtype == B.dtype
    assert np.array_equal(A.indptr, B.indptr)
    assert np.array_equal(A.indices, B.indices)
    assert np.array_equal(A.data, B.data)  # exact, not approximately


@pytest.mark.parametrize("params", [
    {},  # the shipped configuration: char (1, 3), sublinear, l2, float32
    {"ngram_range": (1, 1)},
    {"ngram_range": (2, 3)},
    {"ngram_range": (1, 2), "sublinear_tf": False, "norm": "l1"},
    {"norm": None, "use_idf": False},
    {"binary": True, "dtype": np.float64},
    {"min_df": 2, "max_features": 50},
])
def test_fast_transform_equals_sklearn_on_generated_texts(params):
    base = {"analyzer": "char", "ngram_range": (1, 3), "lowercase": False, "sublinear_tf": True,
            "dtype": np.float32}
    vec = TfidfVectorizer(**{**base, **params}).fit(_texts(300, seed=1))
    fast = FastCharNgrams(vec).fit()
    for docs in (_texts(500, seed=2), ["", ""], ["z"], ["x" * 3000 + "  " + "约炮" * 500]):
        _same(fast.transform(docs), vec.transform(docs))
    if vec.norm is not None:  # like sklearn's normalize, no rows is an error, not an empty matrix
        with pytest.raises(ValueError):
            vec.transform([])
        with pytest.raises(ValueError):
            fast.transform([])


def test_fast_transform_keeps_lone_surrogates_as_characters():
    docs = ["a\ud800b", "\udfff", "ab"]
    vec = TfidfVectorizer(analyzer="char", lowercase=False).fit(docs)
    _same(FastCharNgrams(vec).fit().transform(docs), vec.transform(docs))


def test_whitespace_rule_is_sklearns():
    # The fast path hard-codes the char analyzer's whitespace collapsing; fail loudly if
    # scikit-learn ever changes it.
    from sklearn.feature_extraction.text import _VectorizerMixin

    assert _VectorizerMixin._white_spaces.pattern == fastngrams._WHITE_SPACES.pattern


def test_unsupported_vectorizers_are_refused_not_approximated():
    texts = ["ab cd", "cd ef"]
    assert not supports(TfidfVectorizer(analyzer="char").fit(texts))  # lowercase=True
    assert not supports(TfidfVectorizer(analyzer="char", lowercase=False, ngram_range=(1, 4)).fit(texts))
    assert not supports(TfidfVectorizer(lowercase=False).fit(texts))  # word analyzer
    assert not supports(TfidfVectorizer(analyzer="char", lowercase=False))  # not fitted
    assert fast_char_ngrams(TfidfVectorizer(analyzer="char").fit(texts)) is None
    with pytest.raises(ValueError):
        FastCharNgrams(TfidfVectorizer(analyzer="char").fit(texts)).fit()


def test_lookup_table_is_shared_and_rebuilt_after_a_refit():
    vec = TfidfVectorizer(analyzer="char", lowercase=False).fit(["ab", "bc"])
    first = fast_char_ngrams(vec)
    assert fast_char_ngrams(vec).slot_keys_ is first.slot_keys_
    vec.fit(["xyz", "zz"])
    again = fast_char_ngrams(vec)
    assert again.slot_keys_ is not first.slot_keys_
    _same(again.transform(["xyz", "ab"]), vec.transform(["xyz", "ab"]))
    assert again.get_feature_names_out().tolist() == vec.get_feature_names_out().tolist()


def test_fast_vectorizer_is_a_picklable_estimator():
    import pickle

    from sklearn.base import clone

    vec = TfidfVectorizer(analyzer="char", lowercase=False).fit(["ab", "bc"])
    fast = FastCharNgrams(vec).fit()
    assert clone(fast).get_params()["vectorizer"] is not None
    back = pickle.loads(pickle.dumps(fast))
    _same(back.transform(["abc"]), vec.transform(["abc"]))


# ---------------------------------------------------------------------------
# The union pass and whole results
# ---------------------------------------------------------------------------


def _scoring_texts() -> list[str]:
    from _texts import BENIGN, EXPLICIT, SOLICIT

    rng = random.Random(3)
    base = SOLICIT + EXPLICIT + BENIGN + ["加-薇 ABC123，约❤炮", "麦饼-喂心 CAD571", "扣扣 1 2 3 4 5 6 7 8",
                                          "一三八 零零零零 零零零零, 看名字", "学生妹 14岁 包夜", "𝐔𝐗４４４２ 約-炮"]
    out = list(base)
    for _ in range(300):
        parts = [rng.choice(base) for _ in range(rng.randint(1, 4))]
        out.append(rng.choice([" ", "  ", "\n\n", "❤", "", "\t"]).join(parts))
    return out


def test_union_pass_equals_feature_union_transform(tiny_text_model):
    from cleanclf.text.contacts import find_contact_spans
    from cleanclf.text.features import transform_with_details
    from cleanclf.text.normalize import normalize, normalize_many

    union = tiny_text_model.features
    normed, renormed = normalize_many(_scoring_texts())
    assert renormed == [normalize(t) for t in normed]
    X, details = transform_with_details(union, normed, renormed)
    _same(X, union.transform(normed))
    lex = dict(union.transformer_list)["lexicons"]
    assert details["lexicons"] == [lex.hits(t) for t in normed]
    assert details["contacts"] == [find_contact_spans(normalize(t)) for t in normed]
    assert any(details["lexicons"]) and any(details["contacts"])


def test_scores_and_evidence_equal_with_and_without_the_fast_ngrams(tiny_text_model, monkeypatch):
    import copy

    texts = _scoring_texts()
    fast_model = copy.deepcopy(tiny_text_model)
    fast_model.clear_cache()
    fast = fast_model.score_texts(texts)
    slow_model = copy.deepcopy(tiny_text_model)
    slow_model.clear_cache()
    monkeypatch.setattr(fastngrams, "supports", lambda vectorizer: False)
    slow = slow_model.score_texts(texts)
    assert fast == slow
    assert any(r["labels"] for r in fast) and any(e["kind"] == "ngram" for r in fast for e in r["evidence"])


# ---------------------------------------------------------------------------
# Offsets, contact and lexicon gates
# ---------------------------------------------------------------------------


def test_replayed_offsets_equal_the_full_tracking_run():
    from cleanclf.text import normalize as N

    rng = random.Random(5)
    disguises = ["加-薇 ABC123", "麦饼-喂心 CAD571", "扣扣 1 2 3 4 5 6 7 8", "约 * 炮", "一三八 零零零零 零零零零",
                 "26OO米", "UKC9ł7", "ＡＢ 约❤炮", "弓虽", "yp", "vx: abc123", "加🐧 12345", "ᚰᚰ", "\u200b",
                 "ℨ", "①③⑧", "微x", "𝐔𝐗４", "「」", "👠💋", "\U0001F600", "  ", "\t", "Ä"]
    for _ in range(2000):
        t = "".join(rng.choice(disguises) for _ in range(rng.randint(1, 6)))
        n = N.normalize_with_offsets(t)
        text, starts, ends = N._run_tracked_full(t)
        assert (n.text, n.offsets, n.ends) == (text, (*starts, len(t)), tuple(ends)), t
        info = N._info(t)
        assert info.text == n.text == N.normalize(t)
        if info.fixed:
            assert N.normalize(info.text) == info.text


def test_contact_pattern_gates_are_necessary_conditions():
    # A pattern is skipped on a text holding none of its "needs" characters: that must never
    # hide a match. Check every match of every pattern (gates ignored) contains one of them.
    from cleanclf.text.contacts import _patterns

    rng = random.Random(9)
    pieces = ["qq", "微信", "加", "v", "@", "abc", "kta677", "卖片", "看名字", "主页有", "dd我", "私我", "点",
              "。", ".", "com", "t.me/", "tg", "电报", "飞机", "https://", "www.", "dot", "(dot)", "1", "3",
              "13800000000", "12345678", " ", ":", "☎", "资源", "来看", "盘片", "日批", "x@y.cn", "_", "-"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))) for _ in range(4000)]
    matched = 0
    for _kind, _prio, pattern, needs in _patterns():
        for t in texts:
            for m in pattern.finditer(t):
                matched += 1
                assert not needs.isdisjoint(t), (pattern.pattern[:40], t)
    assert matched > 1000


def test_lexicon_regex_gates_never_hide_a_match():
    from cleanclf.text.lexicon import TermMatcher, _required_chars

    regexes = ["(?:同城|附近|线下|全国).*?(?:约见|匹配|上门)", "(?i:[找寻约求](?:个|固定)?[炮萢p]友?)", "奶.大",
               "^(?=.*(?:💕))(?=.*(?:野站))", "(?i:ks.*?主播)", "a?b*", "[^x]y", "^[a-zA-Z\\s]+\\n只入", "t.cn"]
    rng = random.Random(11)
    pieces = ["同城", "附近", "约见", "上门", "找", "约", "P", "p", "炮", "友", "奶", "大", "💕", "野站", "KS", "ks",
              "主播", "y", "x", "\n", "只入", "abc", " ", "t", ".", "cn", "固定"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 10))) for _ in range(3000)]
    gated = TermMatcher({}, {"r": regexes})
    ungated = TermMatcher({}, {"r": regexes})
    ungated._needs = [None] * len(ungated._needs)
    assert sum(n is not None for n in gated._needs) >= 6
    for t in texts:
        assert gated.find(t) == ungated.find(t), t
    assert _required_chars(re.compile("(?i:ks)")) is None  # letters under IGNORECASE: no gate
