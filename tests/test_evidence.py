"""Evidence a reviewer can read (issue 18): whole words for English n-grams, phone numbers in
common national formats as contacts (evidence only: the model's features and its fingerprint
stay as they are), no duplicated entries, and "omitted" counts where a list is cut.

Every number and handle here is made up (555-0100 is a fictional-use number, 138 0000 0000
and vx_test01 are placeholders); the texts are written here, not copied from any data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cleanclf
from cleanclf.accounts import DEFAULT_PARAMS, AccountModel
from cleanclf.compat import PROBES, feature_fingerprint
from cleanclf.schema import Account, Post
from cleanclf.text.contacts import extract_contacts, find_contact_spans
from cleanclf.text.model import _readable_span
from cleanclf.text.normalize import normalize

BUNDLE = Path(__file__).resolve().parents[1] / "models" / "default"

ENGLISH_ADS = [
    "Available tonight, full service, call 555-0100",
    "Sweet new girl in town, incall and outcall, text 555-0100",
    # default@0.7.0 scores the shorter "Hot girls available 24/7, book now (555) 010-0100" 0.667, just
    # under its 0.671 cut (a recall miss recorded in CARD-text.md); this test is about how evidence reads
    "Sexy escort girls available 24/7, incall outcall, book now (555) 010-0100",
]


@pytest.fixture(scope="module")
def clf():
    return cleanclf.load()


def phones(text, formats="evidence"):
    return [c.value for c in extract_contacts(text, formats) if c.type == "phone"]


# ------------------------------------------------------------------ the model's side is unchanged

def test_feature_fingerprint_is_the_one_the_shipped_bundle_records():
    manifest = json.loads((BUNDLE / "manifest.json").read_text(encoding="utf-8"))
    recorded = manifest["requires"]["feature_code"]
    assert feature_fingerprint() == recorded


def test_model_formats_do_not_see_the_evidence_only_phones():
    # the default is the model's formats: what ContactFeatures and the fingerprint read
    assert extract_contacts("call 555-0100") == []
    assert phones("call 555-0100", "model") == []
    for probe in PROBES:
        n = normalize(probe)
        assert find_contact_spans(n) == find_contact_spans(n, formats="model")
        # the evidence formats only ever add spans after the model's, never replace one
        model = find_contact_spans(n)
        assert find_contact_spans(n, formats="evidence")[: len(model)] == model


def test_unknown_formats_are_refused_by_name():
    with pytest.raises(ValueError, match="formats"):
        extract_contacts("call 555-0100", formats="wide")


# ------------------------------------------------------------------ phone formats

@pytest.mark.parametrize("text, value", [
    ("call 555-0100", "5550100"),
    ("Back in town, text 555-0100 tonight", "5550100"),
    ("text me at 5 5 5 0 1 0 0", "5550100"),             # spaced digits: the normaliser joins them
    ("(555) 010-0100", "5550100100"),
    ("book now (555) 010-0100", "5550100100"),
    ("555 010 0100", "5550100100"),
    ("07700 900123", "7700900123"),
    ("+44 7700 900123", "7700900123"),
    ("five five five zero one zero zero", "5550100"),
    ("call five five five, zero one zero zero", "5550100"),
    ("电话 010-1234 5678", "01012345678"),
    ("138 0000 0000", "13800000000"),                     # the model's own format, still found
])
def test_phone_formats_found_as_contacts(text, value):
    assert phones(text) == [value]


def test_north_american_number_with_country_code_is_a_phone():
    # "+1 555 010 0100" normalises to "+15550100100", which the model's Chinese-mobile rule
    # already reads (as 155 5010 0100): it stays the model's contact, with that value
    (c,) = extract_contacts("+1 555 010 0100", formats="evidence")
    assert c.type == "phone" and c.value == "15550100100"


def test_same_number_in_two_formats_compares_equal():
    assert phones("(555) 010-0100") == phones("call 555.010.0100") == phones("555 010 0100")


@pytest.mark.parametrize("text", [
    "2026-12-07",
    "see you on 2026-12-07",
    "call me on 2026-12-07",
    "order #5550100100",
    "order number 5550100100 shipped",
    "ID 5550100100",
    "$1200000",
    "price 1200000 usd",
    "5550100100 views",
    "1,200,000 followers",
    "one two three four five six seven eight",
    "nine eight seven six five four three",
    "5 5 5 0 1 0 0",                                      # seven bare digits without a cue
    "we won 3 to 1 and then 2 to 0",
    "Outcall only, 100 roses per hour",
])
def test_non_phones_are_not_contacts(text):
    assert phones(text) == []


def test_contact_span_and_raw_are_in_the_original_text():
    text = "New pics ✨ text me at (555) 010-0100 ❤"
    (c,) = extract_contacts(text, formats="evidence")
    assert text[c.start:c.end] == c.raw == "text me at (555) 010-0100"


# ------------------------------------------------------------------ readable n-gram evidence

def test_readable_span_widens_to_words_and_drops_punctuation():
    t = "Available tonight, call 555-0100"
    assert t[slice(*_readable_span(t, 1, 4))] == "Available"           # "vai"
    assert t[slice(*_readable_span(t, 15, 18))] == "tonight"           # "ht,"
    assert _readable_span(t, 17, 19) is None                           # ", "
    assert _readable_span(t, 23, 26) is None                           # " 55", no contact known
    assert _readable_span(t, 23, 26, [(19, 32)]) == (19, 32)           # " 55" inside "call 555-0100"
    zh = "同城上门服务"
    assert _readable_span(zh, 2, 4) == (2, 4)                          # Chinese: the n-gram itself


@pytest.mark.parametrize("text", ENGLISH_ADS)
def test_english_ngram_evidence_is_whole_words(clf, text):
    res = clf.score_text(text)
    assert res["labels"], "the ad should be flagged for its evidence to show"
    ngrams = [e for e in res["evidence"] if e["kind"] == "ngram"]
    assert ngrams
    contacts = [e["span"] for e in res["evidence"] if e["kind"] == "contact"]
    for e in ngrams:
        s, end = e["span"]
        assert text[s:end] == e["text"]
        assert e["text"][0].isalnum() and e["text"][-1].isalnum(), e
        assert (s == 0 or not text[s - 1].isalnum()) and (end == len(text) or not text[end].isalnum()), e
        assert any(ch.isalpha() for ch in e["text"]) or e["span"] in contacts, e


def test_disguised_english_keeps_offsets_into_the_original(clf):
    text = "Ａｖａｉｌａｂｌｅ tonight, full\u200b service, call 555-0100"
    res = clf.score_text(text)
    for e in res["evidence"]:
        if "span" in e:
            assert text[e["span"][0]:e["span"][1]] == e["text"], e


def test_english_ad_lists_its_phone_as_an_extended_contact(clf):
    res = clf.score_text("Available tonight, full service, call 555-0100")
    (c,) = [e for e in res["evidence"] if e["kind"] == "contact"]
    assert (c["type"], c["value"], c["text"], c.get("extended")) == ("phone", "5550100", "call 555-0100", True)


def test_chinese_evidence_has_no_term_twice(clf):
    for text in ("新片上架 全套资源 私我", "上门服务 包夜 加薇 vx_test01", "同城约炮，qq 12345678，看主页"):
        ev = clf.score_text(text)["evidence"]
        shown = [tuple(e["span"]) for e in ev if e["kind"] in ("term", "ngram")]
        assert len(shown) == len(set(shown)), ev
        # an n-gram inside a lexicon term already shown is not listed again
        terms = [e["span"] for e in ev if e["kind"] == "term"]
        for e in ev:
            if e["kind"] == "ngram":
                assert not any(a <= e["span"][0] and e["span"][1] <= b for a, b in terms), e


def test_many_contacts_in_one_text_are_counted_not_dropped_silently(clf):
    text = " ".join(f"微信 abc{i}" for i in range(100, 125))   # ("vx" itself reads as 微信)
    ev = clf.score_text(text)["evidence"]
    assert sum(e["kind"] == "contact" for e in ev) == 20
    assert {"kind": "omitted", "what": "contact", "omitted": 5} in ev


# ------------------------------------------------------------------ account evidence

def res(expl=0.01, sol=0.01, *, contacts=(), extended=(), terms=0):
    ev = [{"kind": "ngram", "category": "solicitation", "ngram": f"w{k}", "text": f"word{k}", "span": [k, k + 1],
           "weight": 0.1} for k in range(terms)]
    ev += [{"kind": "contact", "type": "wechat", "value": v, "text": v, "span": [0, 3]} for v in contacts]
    ev += [{"kind": "contact", "type": "phone", "value": v, "text": v, "span": [0, 3], "extended": True}
           for v in extended]
    return {"explicit_text": expl, "solicitation": sol,
            "labels": [c for c, p in (("explicit_text", expl), ("solicitation", sol)) if p >= 0.5],
            "evidence": ev, "escalate": False, "escalate_reasons": [], "truncated": False}


def account(n):
    return Account("vx_test01", {"nickname": "", "bio": ""}, [Post(f"p{i}", f"text {i}") for i in range(n)])


def test_contact_repeated_in_five_posts_is_one_entry_with_its_count(clf):
    posts = ["Available tonight, full service, call 555-0100",
             "Back in town this weekend, text 555-0100",
             "New pics, book now 555-0100",
             "Outcall only, 100 roses per hour, text 555-0100",
             "Sweet new girl in town, incall and outcall, text 555-0100"]
    v = clf.score_account({"account_id": "vx_test01", "posts": [{"id": f"p{i}", "text": t} for i, t in enumerate(posts)]})
    entries = [e for e in v["evidence"] if e["kind"] == "contact"]
    assert len(entries) == 1
    (e,) = entries
    assert (e["type"], e["value"], e["count"], e["post_ids"], e["extended"]) == \
        ("phone", "5550100", 5, [f"p{i}" for i in range(5)], True)
    # evidence only: the account rule does not count it
    assert v["counts"]["repeated_contact_posts"] == 0


def test_extended_contacts_do_not_change_the_account_rule():
    m = AccountModel()
    acc = account(6)
    flagged = [res(sol=0.9, extended=["5550100"])] * 2 + [res()] * 4
    v = m.verdict(acc, flagged, None, None, model_id="m")
    plain = m.verdict(acc, [res(sol=0.9)] * 2 + [res()] * 4, None, None, model_id="m")
    for key in ("labels", "scores", "counts", "bands", "review"):
        assert v[key] == plain[key]
    (c,) = [e for e in v["evidence"] if e["kind"] == "contact"]
    assert c["count"] == 2 and c["extended"] is True
    # the same handle found by the model's formats is support, as before
    v = m.verdict(acc, [res(sol=0.9, contacts=["vx_test01"])] * 2 + [res()] * 4, None, None, model_id="m")
    assert v["counts"]["repeated_contact_posts"] == 2
    assert "repeated_contact" in next(e for e in v["evidence"] if e["kind"] == "rule")["support"]


def test_post_flagged_for_both_categories_is_listed_once():
    m = AccountModel()
    v = m.verdict(account(4), [res(expl=0.9, sol=0.9, terms=2)] * 3 + [res()], None, None, model_id="m")
    posts = [e for e in v["evidence"] if e["kind"] == "post"]
    ids = [e["post_id"] for e in posts]
    assert len(ids) == len(set(ids)) == 3
    for e in posts:
        assert set(e["categories"]) == {"explicit_text", "solicitation"}
        spans = [tuple(t["span"]) for t in e["terms"]]
        assert len(spans) == len(set(spans))


def test_truncated_evidence_lists_say_how_much_was_omitted():
    ev = DEFAULT_PARAMS["evidence"]
    m = AccountModel()
    n = 20
    results = [res(sol=0.9, terms=ev["terms_per_post"] + 3, contacts=[f"vx_test{i % 8:02d}", "vx_shared"])
               for i in range(n)]
    v = m.verdict(account(n), results, None, None, model_id="m")
    posts = [e for e in v["evidence"] if e["kind"] == "post"]
    assert posts and all(e["omitted"] == 3 and len(e["terms"]) == ev["terms_per_post"] for e in posts)
    assert {"kind": "omitted", "what": "post", "category": "solicitation",
            "omitted": n - ev["top_posts"]} in v["evidence"]
    assert {"kind": "omitted", "what": "contact", "omitted": 9 - ev["contacts"]} in v["evidence"]
    shared = next(e for e in v["evidence"] if e["kind"] == "contact" and e["value"] == "vx_shared")
    assert shared["count"] == n and len(shared["post_ids"]) == ev["contact_posts"]
    assert shared["omitted"] == n - ev["contact_posts"]
    # nothing cut, nothing said
    small = m.verdict(account(3), [res(sol=0.9, terms=2)] * 3, None, None, model_id="m")
    assert not any("omitted" in e or e["kind"] == "omitted" for e in small["evidence"])
