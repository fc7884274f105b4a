"""Aggregation from post results to account verdicts: features, labels, contacts, escalation, evidence."""

from __future__ import annotations

import math

import pytest

from cleanclf.accounts import DEFAULT_PARAMS, FEATURES, AccountModel, error_verdict
from cleanclf.categories import CATEGORIES
from cleanclf.schema import Account, Post


def res(expl=0.01, sol=0.01, *, contacts=(), terms=(), escalate=False):
    ev = [{"kind": "term", "category": c, "text": t, "span": [0, len(t)]} for c, t in terms]
    ev += [{"kind": "contact", "category": "solicitation", "type": "wechat", "value": v, "span": [0, 3]}
           for v in contacts]
    return {"explicit_text": expl, "solicitation": sol,
            "labels": [c for c, p in (("explicit_text", expl), ("solicitation", sol)) if p >= 0.5],
            "evidence": ev, "escalate": escalate, "escalate_reasons": ["minor signal"] if escalate else [],
            "truncated": False}


def account(n, bio=""):
    return Account("u", {"nickname": "nick", "bio": bio}, [Post(f"p{i}", f"text {i}") for i in range(n)])


def test_features_express_volume():
    m = AccountModel()
    acc = account(10)
    results = [res(sol=0.9)] * 4 + [res()] * 6
    f = m.features(acc, results, None, None)
    s = f["solicitation"]
    assert s["log1p_flagged"] == pytest.approx(math.log1p(4))
    assert s["share_flagged"] == pytest.approx(0.4)
    assert s["topk_mean"] == pytest.approx((0.9 * 4 + 0.01) / 5)
    assert s["max"] == 0.9 and s["profile"] == 0.0
    assert f["lewd_images"] is None  # no image results: not computed


def test_more_offending_posts_score_higher_and_benign_is_clean():
    m = AccountModel()
    scores = []
    for k in (0, 1, 3, 10):
        acc = account(20)
        results = [res(sol=0.95)] * k + [res()] * (20 - k)
        scores.append(m.verdict(acc, results, None, None, model_id="m@1")["scores"]["solicitation"])
    assert scores == sorted(scores) and scores[0] < 0.05 and scores[-1] > 0.5


def test_profile_and_repeated_contact_strengthen_solicitation():
    m = AccountModel()
    acc = account(3, bio="看名字")
    base = [res(sol=0.7, contacts=[f"abc{i}"]) for i in range(3)]
    same = [res(sol=0.7, contacts=["abc1"]) for _ in range(3)]
    prof = res(sol=0.9, contacts=["abc1"])
    s_base = m.verdict(acc, base, None, None, model_id="m")["scores"]["solicitation"]
    s_same = m.verdict(acc, same, None, None, model_id="m")["scores"]["solicitation"]
    v = m.verdict(acc, same, prof, None, model_id="m")
    assert s_base < s_same < v["scores"]["solicitation"]
    assert v["counts"]["repeated_contact_posts"] == 4  # three posts + the profile
    contact = next(e for e in v["evidence"] if e["kind"] == "contact")
    assert contact["value"] == "abc1" and contact["in_profile"] and contact["post_ids"] == ["p0", "p1", "p2"]


def test_repeated_contact_of_a_benign_shop_does_not_count():
    m = AccountModel()
    v = m.verdict(account(5), [res(contacts=["13800000000"])] * 5, None, None, model_id="m")
    assert v["counts"]["repeated_contact_posts"] == 0 and v["labels"] == []


def test_escalation_from_post_or_profile_with_reasons():
    m = AccountModel()
    v = m.verdict(account(2), [res(), res(sol=0.9, escalate=True)], None, None, model_id="m", posts="flagged")
    assert v["escalate"] is True
    esc = [e for e in v["evidence"] if e["kind"] == "escalation"]
    assert esc == [{"kind": "escalation", "post_id": "p1", "reasons": ["minor signal"]}]
    assert [p["id"] for p in v["posts"]] == ["p1"] and v["posts"][0]["escalate"] is True
    v2 = m.verdict(account(1), [res()], res(escalate=True), None, model_id="m")
    assert v2["escalate"] and v2["evidence"][-1]["field"] == "profile"


def test_text_errors_are_counted_not_fatal():
    m = AccountModel()
    v = m.verdict(account(2), [res(sol=0.9), {"error": {"type": "InputError", "message": "x"}}], None, None,
                  model_id="m", posts="all")
    assert v["counts"]["errors"] == 1 and v["posts"][1]["errors"][0]["source"] == "text"
    assert v["posts"][1]["scores"]["solicitation"] is None


def test_images_aggregate_per_post_max():
    m = AccountModel()
    acc = Account("u", posts=[Post(f"p{i}", "", [f"{i}a.png", f"{i}b.png"]) for i in range(6)])
    imgs = [[{"lewd_images": 0.1, "labels": []}, {"lewd_images": 0.99, "labels": ["lewd_images"]}]] * 6
    v = m.verdict(acc, [None] * 6, None, imgs, model_id="m")
    assert v["counts"]["flagged"]["lewd_images"] == 6 and "lewd_images" in v["labels"]
    assert [e["path"] for e in v["evidence"] if e["kind"] == "image"][:1] == ["5b.png"]


def test_evidence_is_bounded():
    m = AccountModel()
    acc = account(500)
    results = [res(expl=0.9, sol=0.9, contacts=[f"c{i % 50}"], terms=[("solicitation", "包夜")] * 20) for i in range(500)]
    v = m.verdict(acc, results, None, None, model_id="m")
    ev = DEFAULT_PARAMS["evidence"]
    assert len(v["evidence"]) <= 2 * ev["top_posts"] + ev["contacts"] + ev["images"] + 1 + ev["escalations"]
    assert all(len(e.get("terms", ())) <= ev["terms_per_post"] for e in v["evidence"])
    assert all(len(e.get("post_ids", ())) <= ev["contact_posts"] for e in v["evidence"])


def test_profile_spans_mapped_to_fields():
    m = AccountModel()
    acc = Account("u", {"nickname": "加薇", "bio": "看名字"}, [])
    prof = {**res(sol=0.9), "evidence": [{"kind": "term", "category": "solicitation", "text": "看名字", "span": [3, 6]}]}
    v = m.verdict(acc, [], prof, None, model_id="m")
    hit = v["evidence"][0]["hits"][0]
    assert v["evidence"][0]["kind"] == "profile" and hit["field"] == "bio" and hit["span"] == [0, 3]


def test_params_from_bundle_override_defaults():
    m = AccountModel({"thresholds": {"solicitation": 0.999}})
    assert m.params["thresholds"]["explicit_text"] == DEFAULT_PARAMS["thresholds"]["explicit_text"]
    assert m.params["thresholds"]["solicitation"] == 0.999
    v = m.verdict(account(10), [res(sol=0.95)] * 10, None, None, model_id="m")
    assert "solicitation" not in v["labels"] and v["scores"]["solicitation"] < 0.999
    assert set(FEATURES) <= set(m.params["weights"]["solicitation"])


def test_error_verdict_keys():
    v = error_verdict("a", {"type": "RecordError", "message": "m"}, line=2, model_id="m@1", posts="none")
    assert list(v) == ["account_id", "labels", "scores", "counts", "escalate", "evidence", "model", "error", "line"]
    assert v["scores"] == {c: None for c in CATEGORIES}
