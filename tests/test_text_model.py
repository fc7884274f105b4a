"""The text model's API: one result per input, evidence spans into the original, escalation, bad input."""

from __future__ import annotations

import pickle

import pytest

from cleanclf.classify import Classifier
from cleanclf.text.model import MAX_TEXT_CHARS


@pytest.fixture(scope="module")
def clf(tiny_text_model):
    return Classifier(text_model=tiny_text_model, manifest={"name": "tiny", "version": "0"})


def test_scores_separate_categories(clf):
    sol = clf.score_text("同城上门服务 包夜 加微信 xyz789")
    exp = clf.score_text("卖片 资源 网址私聊 黄片")
    ben = clf.score_text("空调上门维修 师傅很专业")
    assert sol["solicitation"] > ben["solicitation"] and sol["solicitation"] > exp["solicitation"]
    assert exp["explicit_text"] > ben["explicit_text"] and exp["explicit_text"] > sol["explicit_text"]
    assert set(sol) >= {"explicit_text", "solicitation", "labels", "evidence", "escalate", "truncated"}


def test_one_result_per_input_whatever_the_length(clf):
    for n in (0, 1, 3, 50):
        texts = ["外卖很好吃"] * n
        assert len(clf.score_texts(texts)) == n


def test_bad_items_give_error_entries_in_place(clf):
    out = clf.score_texts(["包夜 上门", None, "", 5, "a\ud800b", "外卖"])
    assert [("error" in r) for r in out] == [False, True, True, True, True, False]
    assert out[1]["error"]["type"] == "TypeError" and "texts[1]" in out[1]["error"]["message"]
    assert "empty" in out[2]["error"]["message"]
    assert "surrogate" in out[4]["error"]["message"]


def test_single_text_api_raises_naming_the_argument(clf):
    with pytest.raises(TypeError, match="text"):
        clf.score_text(None)
    with pytest.raises(ValueError, match="text"):
        clf.score_text("   ")
    with pytest.raises(TypeError, match="texts"):
        clf.score_texts("a string, not a list")


def test_long_text_is_scored_on_a_prefix_and_says_so(clf):
    big = "外卖很好吃" * (2_000_000 // 5)
    r = clf.score_texts([big, "外卖很好吃"])
    assert r[0]["truncated"] is True and r[1]["truncated"] is False
    assert all(e["span"][1] <= MAX_TEXT_CHARS for e in r[0]["evidence"])


def test_evidence_spans_point_into_the_original_text(clf):
    text = "同城 包 夜，加 薇 abc123 看名字"
    r = clf.score_text(text)
    assert r["evidence"], r
    for e in r["evidence"]:
        s, t = e["span"]
        assert 0 <= s < t <= len(text)
        assert text[s:t] == e["text"]
    kinds = {e["kind"] for e in r["evidence"]}
    assert "contact" in kinds and "term" in kinds
    term = next(e for e in r["evidence"] if e["kind"] == "term" and e["term"] == "包夜")
    assert term["text"] == "包 夜"  # the disguised original, not the normalised form


def test_minors_escalate_only_with_sexual_context(clf):
    r = clf.score_text("学生妹 包夜 上门服务 加微信 abc123")
    assert r["escalate"] is True and r["escalate_reasons"] == ["minor_signal:学生妹"]
    assert any(e["kind"] == "minor_signal" for e in r["evidence"])
    assert clf.score_text("初中生 数学 作业 很难")["escalate"] is False


def test_cache_returns_independent_copies(clf):
    a = clf.score_text("同城 包夜 约炮")
    a["labels"].append("tampered")
    a["evidence"].clear()
    b = clf.score_text("同城 包夜 约炮")
    assert "tampered" not in b["labels"] and b["evidence"]


def test_model_pickles_without_its_cache(tiny_text_model):
    tiny_text_model.score_texts(["缓存 测试 文本"])
    again = pickle.loads(pickle.dumps(tiny_text_model))
    assert len(again._cache) == 0
    assert again.score_texts(["包夜"])[0]["solicitation"] == pytest.approx(
        tiny_text_model.score_texts(["包夜"])[0]["solicitation"])


def test_slang_evidence_says_what_a_term_means_and_context_words_are_never_evidence(tiny_text_model):
    """The slang lexicon's meanings reach the reviewer; its context lists (ads, services) explain nothing."""
    res = tiny_text_model.score_texts(["寂寞少妇 约炮 同城 代发 私聊我"])[0]
    assert "solicitation" in res["labels"]
    terms = {e["term"]: e for e in res["evidence"] if e["kind"] == "term"}
    assert "约炮" in terms and "casual sex" in terms["约炮"]["meaning"]
    assert "代发" not in terms  # context_nonsexual_ad: a feature, never evidence
    assert all(e["categories"] for e in terms.values())


def test_row_weights_and_weighted_fit(tmp_path):
    from conftest import tiny_rows

    from cleanclf.errors import InputError
    from cleanclf.training import fit_text_model, row_weights

    rows = tiny_rows()
    w = row_weights(rows, {"demo-spam": 3.0})
    assert sorted(set(w.tolist())) == [1.0, 3.0] and w.sum() == len(rows) + 2 * sum(r["source"] == "demo-spam" for r in rows)
    with pytest.raises(InputError, match="source_weights"):
        row_weights(rows, {"demo-spam": 0})
    plain = fit_text_model(rows, cv=2, C=4.0, slang=False)
    weighted = fit_text_model(rows, cv=2, C=4.0, slang=False, source_weights={"demo-spam": 3.0})
    assert weighted.meta["params"]["source_weights"] == {"demo-spam": 3.0}
    p0 = plain.predict_proba(["上门 包夜 私聊"])[0]
    p1 = weighted.predict_proba(["上门 包夜 私聊"])[0]
    assert p1[1] != p0[1]
