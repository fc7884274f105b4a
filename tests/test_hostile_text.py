"""Hostile text: properties of the normaliser, the contact extractor and ``score_texts`` on
arbitrary Unicode (lone surrogates, combining runs, controls, astral characters) and on
texts built to make regular expressions backtrack.

tests/test_normalize.py already checks (on short texts without surrogates) fast == tracked,
monotone offsets, single-character round trips and idempotence; test_contacts.py checks that
the extractor never raises on short texts. Here: arbitrary *spans*, surrogates and other
hostile code points, long runs, and the scorer's one-result-per-input contract.
"""

from __future__ import annotations

import json

import pytest
from _alarm import Alarm
from hypothesis import HealthCheck, given, settings, strategies as st

from cleanclf.text.contacts import CONTACT_TYPES, extract_contacts
from cleanclf.text.normalize import normalize, normalize_with_offsets

SETTINGS = dict(derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Characters the rules react to, plus the code points that break naive text handling.
_RULE_CHARS = ("约炮加薇威喂心信卫星企鹅扣口麦饼片偏篇买卖一二三八零幺两点。"
               "0123456789abcvxqolp@.:/-_*| +，\u3000")
_HOSTILE = ("\ud800\udbff\udc00\udfff"          # lone surrogates (JSON "\ud800" escapes)
            "\u0301\u0336\u20dd"                 # combining marks
            "\u200b\u200d\u2060\ufeff\u202e\u2066"  # zero-width, BOM, bidi overrides
            "\x00\x07\r\n\t\x85\u2028"           # controls and line separators
            "\U0001d414\U0001f9cc\U000e0041\U0010ffff"  # math letters, emoji, tags, last code point
            "ﬀ㍿ǅİẞ")                          # ligatures, squared words, title case, İ and ẞ (case mapping grows)
hostile_chars = st.one_of(st.sampled_from(_RULE_CHARS), st.sampled_from(_HOSTILE), st.characters())
hostile_text = st.one_of(
    st.text(hostile_chars, max_size=80),
    st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=40),  # includes surrogates
    st.builds(lambda u, n: u * n, st.text(hostile_chars, min_size=1, max_size=4), st.integers(1, 60)),
)


# ---------------------------------------------------------------- normaliser
@settings(max_examples=500, **SETTINGS)
@given(hostile_text, st.data())
def test_any_span_maps_inside_the_original_and_covers_its_sources(t, data):
    n = normalize_with_offsets(t)
    assert n.text == normalize(t)
    m = len(n.text)
    i = data.draw(st.integers(0, m), label="start")
    j = data.draw(st.integers(i, m), label="end")
    a, b = n.to_original(i, j)
    assert 0 <= a <= b <= len(t)
    for k in range(i, j):  # every normalised character of the span comes from inside [a, b)
        assert a <= n.offsets[k] < n.ends[k] <= b
    if i == j:
        assert a == b
    else:
        assert a < b  # a non-empty span never maps to nothing


@settings(max_examples=500, **SETTINGS)
@given(hostile_text)
def test_normalising_is_idempotent_on_hostile_text(t):
    once = normalize(t)
    assert normalize(once) == once
    assert normalize_with_offsets(once).text == once


def test_case_mapping_that_grows_keeps_offsets_consistent():
    t = "İẞﬀ" * 50 + "加薇 ABC123"
    n = normalize_with_offsets(t)
    assert len(n.offsets) == len(n.text) + 1 and n.offsets[-1] == len(t)
    s, e = n.to_original(len(n.text) - 6, len(n.text))
    assert t[s:e].lower() == "abc123"


# ---------------------------------------------------------------- contacts
@settings(max_examples=400, **SETTINGS)
@given(hostile_text)
def test_contacts_never_raise_and_spans_point_into_the_text(t):
    contacts = extract_contacts(t)
    prev_end = 0
    for c in contacts:
        assert c.type in CONTACT_TYPES
        assert 0 <= c.start < c.end <= len(t)
        assert c.raw == t[c.start:c.end]
        assert c.start >= prev_end  # ordered, no overlaps
        prev_end = c.end
        assert c.value and isinstance(c.value, str)


# Repeated units that make a pattern with nested repetition try every start position.
# Found by a sweep over all 1- and 2-unit repetitions of rule-relevant strings (see
# benchmarks/RESULTS-fuzz.md); each is 10,000 characters (the model's MAX_TEXT_CHARS).
BACKTRACK_UNITS = ["a点", "a。", "ab点", "dot", "a dot ", "加微信", "加企鹅", "1 ", "1-", "a@", "a.", "12-", "1o", "加薇", "扣扣1", "微信a"]


@pytest.mark.parametrize("unit", BACKTRACK_UNITS)
def test_pathological_repetitions_finish(unit):
    t = (unit * (10_000 // len(unit) + 1))[:10_000]
    # A hang guard, not a timing assertion: the quadratic URL pattern took ~6 s here,
    # a linear one takes milliseconds; 30 s only catches a run-away regex.
    with Alarm(30):
        contacts = extract_contacts(t)
        normalize_with_offsets(t)
    assert all(t[c.start:c.end] == c.raw for c in contacts)


def test_dotted_chain_counts_only_once_and_stays_linear():
    # 'a点a点...a点com' is one URL, found from its first label
    t = "a点" * 3000 + "com"
    with Alarm(30):
        urls = [c for c in extract_contacts(t) if c.type == "url"]
    assert len(urls) >= 1 and urls[-1].raw.endswith("com")


# ---------------------------------------------------------------- score_texts contract
anything = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), hostile_text,
              st.binary(max_size=20)),
    lambda kids: st.one_of(st.lists(kids, max_size=3), st.dictionaries(st.text(max_size=3), kids, max_size=3)),
    max_leaves=6,
)


def _check_results(items, results, max_chars):
    assert isinstance(results, list) and len(results) == len(items)
    for item, r in zip(items, results):
        if "error" in r:
            assert set(r) == {"error"} and set(r["error"]) == {"type", "message"}
            assert r["error"]["type"] in ("TypeError", "ValueError")
            ok = isinstance(item, str) and item.strip()
            if ok:
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    ok = False
            assert not ok, (item, r)  # a usable string is never an error
            continue
        assert isinstance(item, str)
        for c in ("explicit_text", "solicitation"):
            assert 0.0 <= r[c] <= 1.0
        assert r["truncated"] == (len(item) > max_chars)
        clipped = item[:max_chars]
        for ev in r["evidence"]:
            s, e = ev["span"]
            assert 0 <= s <= e <= len(clipped)
            assert ev["text"] == clipped[s:e]
        json.dumps(r, ensure_ascii=False).encode("utf-8")  # writable as a verdict line


@settings(max_examples=150, **SETTINGS)
@given(st.lists(anything, max_size=6))
def test_score_texts_one_result_per_input_never_raises(tiny_text_model, items):
    results = tiny_text_model.score_texts(items)
    _check_results(items, results, tiny_text_model.max_chars)


def test_score_texts_on_2mb_texts_and_surrogates(tiny_text_model):
    from cleanclf.classify import Classifier

    clf = Classifier(text_model=tiny_text_model, manifest={"name": "tiny", "version": "0"})
    big = "包夜 加薇 abc123 " + "好" * 2_000_000 + " 加薇 zzz999"
    items = [big, "\ud800" + "包夜", "  ", "", 7, None, b"bytes", "包夜 \x00 加薇 abc123"]
    res = clf.score_texts(items)
    _check_results(items, res, tiny_text_model.max_chars)
    assert res[0]["truncated"] is True
    assert all("zzz999" not in json.dumps(ev) for ev in res[0]["evidence"])  # only the prefix is read
    assert [r.get("error", {}).get("type") for r in res[1:7]] == ["ValueError", "ValueError", "ValueError",
                                                                   "TypeError", "TypeError", "TypeError"]
    assert "error" not in res[7]
    with pytest.raises(TypeError, match="texts"):
        clf.score_texts("a single string")


@settings(max_examples=60, **SETTINGS)
@given(st.lists(anything, max_size=5))
def test_real_model_score_texts_on_hostile_values(items):
    import cleanclf

    tm = _real_text_model()
    _check_results(items, tm.score_texts(items), tm.max_chars)


_REAL = {}


def _real_text_model():
    if "tm" not in _REAL:
        import cleanclf

        _REAL["tm"] = cleanclf.load().text_model
    return _REAL["tm"]
