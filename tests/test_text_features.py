"""Contract checks for every public text transformer (check_estimator skips string input)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from cleanclf.text.contacts import ContactFeatures
from cleanclf.text.features import LexiconFeatures, char_ngrams, make_text_features, word_ngrams
from cleanclf.text.normalize import Normalizer
from cleanclf.text.tokenize import JiebaTokenizer

from _texts import BENIGN, EXPLICIT, SOLICIT, TINY_LEXICONS

TEXTS = SOLICIT + EXPLICIT + BENIGN
NORMED = Normalizer().fit_transform(TEXTS)

TRANSFORMERS = [
    pytest.param(lambda: LexiconFeatures(TINY_LEXICONS), id="lexicons"),
    pytest.param(ContactFeatures, id="contacts"),
    pytest.param(lambda: char_ngrams(min_df=1), id="chars"),
    pytest.param(lambda: word_ngrams(min_df=1), id="words"),
    pytest.param(lambda: make_text_features(TINY_LEXICONS, char_min_df=1, words=True), id="union"),
]


@pytest.mark.parametrize("make", TRANSFORMERS)
def test_transformer_contract(make):
    est = make()
    params = est.get_params()
    twin = clone(est)
    assert twin.get_params().keys() == params.keys()
    X = est.fit(NORMED).transform(NORMED)
    assert X.shape[0] == len(NORMED)
    names = est.get_feature_names_out()
    assert len(names) == X.shape[1]
    again = pickle.loads(pickle.dumps(est))
    Y = again.transform(NORMED)
    dense = lambda m: m.toarray() if hasattr(m, "toarray") else np.asarray(m)  # noqa: E731
    np.testing.assert_allclose(dense(X), dense(Y))
    # one row per input, whatever the batch length
    assert est.transform(NORMED[:1]).shape[0] == 1


@pytest.mark.parametrize("make", TRANSFORMERS)
@pytest.mark.parametrize("bad", ["a single string", 42, [None], [b"bytes"]])
def test_transformer_rejects_bad_input(make, bad, request):
    if bad == [b"bytes"] and request.node.callspec.id.split("-")[-1] in ("chars", "words", "union"):
        pytest.skip("sklearn's TfidfVectorizer decodes bytes as UTF-8 by design")
    est = make().fit(NORMED)
    with pytest.raises((TypeError, ValueError)):
        est.transform(bad)


def test_lexicon_features_count_hits_and_name_them():
    f = LexiconFeatures(TINY_LEXICONS).fit(NORMED)
    row = f.transform(["包夜 楼凤 卖片"]).toarray()[0]
    names = list(f.get_feature_names_out())
    assert row[names.index("lex__solicitation_demo")] == pytest.approx(np.log1p(2))
    assert row[names.index("lex__porn_demo")] == pytest.approx(np.log1p(1))
    assert row[names.index("lex__n_distinct")] == pytest.approx(np.log1p(3))
    assert f.transform(["外卖很好吃"]).nnz == 0


def test_lexicon_terms_are_normalised_like_posts():
    # a traditional / full-width listed term still matches the normalised post
    f = LexiconFeatures({"x": {"terms": ["賣片"]}}).fit(["x"])
    assert f.transform(Normalizer().transform(["卖片"])).toarray()[0, 0] > 0


def test_lexicon_features_reject_empty_lexicons():
    with pytest.raises(ValueError, match="lexicons"):
        LexiconFeatures({}).fit(["x"])


def test_jieba_tokenizer_pickles_and_cuts():
    tok = JiebaTokenizer()
    again = pickle.loads(pickle.dumps(tok))
    assert again == tok and again("今天天气很好") == tok("今天天气很好")
    assert "北京" in tok("我们在北京工作")
    with pytest.raises(TypeError, match="text"):
        tok(None)


def test_pipeline_with_normalizer_learns_and_clones():
    y = [1] * len(SOLICIT) + [1] * len(EXPLICIT) + [0] * len(BENIGN)
    pipe = make_pipeline(Normalizer(), make_text_features(TINY_LEXICONS, char_min_df=1), LogisticRegression(C=10))
    pipe.fit(TEXTS, y)
    assert pipe.score(TEXTS, y) == 1.0
    clone(pipe).fit(TEXTS, y)
    assert pickle.loads(pickle.dumps(pipe)).predict(TEXTS).tolist() == pipe.predict(TEXTS).tolist()


def test_cue_columns_separate_a_bare_contact_cue_from_one_next_to_sexual_terms():
    """"加我" alone is an ordinary ad's cue; next to a sexual-list hit it is something else."""
    from cleanclf.text.features import LexiconFeatures

    lex = {"porn_demo": {"terms": ["卖片"]}, "context_ad": {"terms": ["代发"]}}
    f = LexiconFeatures(lex, cue_columns=True).fit(["x"])
    names = list(f.get_feature_names_out())
    assert names[-2:] == ["lex__cue_alone", "lex__cue_sexual"]
    X = f.transform(["代发 加我", "卖片 加我", "卖片", "今天天气好"]).toarray()
    alone, hot = names.index("lex__cue_alone"), names.index("lex__cue_sexual")
    assert X[0, alone] > 0 and X[0, hot] == 0          # a context-list hit is not sexual
    assert X[1, hot] > 0 and X[1, alone] == 0
    assert not X[2:, [alone, hot]].any()
    plain = LexiconFeatures(lex).fit(["x"])
    assert plain.transform(["代发 加我"]).shape[1] == X.shape[1] - 2
