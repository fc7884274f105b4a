"""Tests of cleanclf.text.contacts. Every handle and number here is made up
(abc123, 13800000000, 12345678...); none is copied from the data."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from cleanclf.text.contacts import CONTACT_TYPES, Contact, ContactFeatures, extract_contacts

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def kinds(text):
    return [(c.type, c.value) for c in extract_contacts(text)]


def test_contact_is_frozen_with_original_span():
    (c,) = extract_contacts("快加 V: abc123 哦")
    assert isinstance(c, Contact)
    assert (c.type, c.value) == ("wechat", "abc123")
    assert "快加 V: abc123 哦"[c.start : c.end] == c.raw == "V: abc123"
    with pytest.raises(AttributeError):
        c.value = "x"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("电话 13800000000", [("phone", "13800000000")]),
        ("1 3 8 0 0 0 0 0 0 0 0", [("phone", "13800000000")]),
        ("一三八零零零零零零零零", [("phone", "13800000000")]),
        ("①③⑧⓪⓪⓪⓪⓪⓪⓪⓪", [("phone", "13800000000")]),
        ("+86 138 0000 0000", [("phone", "13800000000")]),
    ],
)
def test_phone_forms(text, expected):
    assert kinds(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("扣扣 12345678", [("qq", "12345678")]),
        ("q 12345678", [("qq", "12345678")]),
        ("加企鹅: 1234 5678", [("qq", "12345678")]),
        ("QQ：1234567890", [("qq", "1234567890")]),
        ("12345678看扣", [("qq", "12345678")]),
        ("12345678+口+口", [("qq", "12345678")]),
    ],
)
def test_qq_forms(text, expected):
    assert kinds(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("加薇 abc123", [("wechat", "abc123")]),
        ("V: abc123", [("wechat", "abc123")]),
        ("vx abc_123", [("wechat", "abc_123")]),
        ("微信号：13800000000", [("wechat", "13800000000")]),
        ("喂心 ABC123", [("wechat", "abc123")]),
        ("ABC123 麦饼卫星", [("wechat", "abc123")]),  # tg-spam: code next to 威/卫星
        ("XYZ789 买乒威", [("wechat", "xyz789")]),
        ("迦威 ab123 456", [("wechat", "ab123456")]),
    ],
)
def test_wechat_forms(text, expected):
    assert kinds(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("TG @abc_def", [("telegram", "abc_def")]),
        ("t.me/abcdef", [("telegram", "abcdef")]),
        ("https://t.me/abc_group进群", [("telegram", "abc_group")]),
        ("电报: abcdef1", [("telegram", "abcdef1")]),
    ],
)
def test_telegram_forms(text, expected):
    assert kinds(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("看 https://example.com/x", [("url", "https://example.com/x")]),
        ("www.example.com", [("url", "www.example.com")]),
        ("abc123点com", [("url", "abc123.com")]),
        ("abc123。com", [("url", "abc123.com")]),
        ("example dot com", [("url", "example.com")]),
    ],
)
def test_url_forms(text, expected):
    assert kinds(text) == expected


def test_email_and_handle():
    assert kinds("mail abc@example.com") == [("email", "abc@example.com")]
    assert kinds("找 @abc_def 聊") == [("handle", "abc_def")]


@pytest.mark.parametrize("route", ["看名字", "看昵称", "看主页", "主页有", "私我", "私聊", "滴滴我", "看头像", "看姐姐名字"])
def test_routes(route):
    assert [c.type for c in extract_contacts(f"想要的{route}")] == ["route"]


@pytest.mark.parametrize(
    "text",
    ["这份外卖68元,很好吃", "订单号 20190506", "2019-05-06 送达", "3-5天到货", "价格 12345 元", "孩子 3 岁 2 个月", "一个人吃了两碗"],
)
def test_ordinary_numbers_are_not_contacts(text):
    assert extract_contacts(text) == []


def test_raw_is_the_disguised_original():
    text = "加-企-鹅：1 2 3 4 5 6 7 8"
    (c,) = extract_contacts(text)
    assert c.type == "qq" and c.value == "12345678"
    assert c.raw == text[c.start : c.end] and c.raw.startswith("企-鹅")


def test_empty_and_type_errors():
    assert extract_contacts("") == []
    for bad in (None, b"13800000000", 13800000000, ["x"]):
        with pytest.raises(TypeError, match="text"):
            extract_contacts(bad)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=60), st.text(alphabet="加薇扣q企鹅微信vx@.:点com0123456789 一三八t/me私我看名字", max_size=60)))
def test_property_never_raises_and_spans_are_consistent(text):
    contacts = extract_contacts(text)
    for c in contacts:
        assert c.type in CONTACT_TYPES
        assert 0 <= c.start <= c.end <= len(text)
        assert text[c.start : c.end] == c.raw
    starts = [c.start for c in contacts]
    assert starts == sorted(starts)


# --- transformer -----------------------------------------------------------


def test_contact_features_contract():
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    f = ContactFeatures()
    assert f.fit(["x"]) is f
    names = list(f.get_feature_names_out())
    X = f.transform(["加薇 abc123 13800000000", "今天天气不错", "看名字"])
    assert X.shape == (3, len(names)) and X.dtype == np.float64
    row = dict(zip(names, X[0]))
    assert row["has_wechat"] == 1.0 and row["has_phone"] == 1.0 and row["has_qq"] == 0.0
    assert row["n_contacts"] == pytest.approx(np.log1p(2))
    assert row["has_digit_run_5"] == 1.0
    assert X[1].sum() == 0.0
    assert dict(zip(names, X[2]))["has_route"] == 1.0
    assert f.transform([]).shape == (0, len(names))
    np.testing.assert_array_equal(clone(f).transform(["q 12345678"]), f.transform(["q 12345678"]))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(f)).transform(["q 12345678"]), f.transform(["q 12345678"]))
    pipe = make_pipeline(ContactFeatures(), FunctionTransformer())
    assert pipe.fit_transform(["q 12345678"]).shape == (1, len(names))


@pytest.mark.parametrize("bad", ["one string", 5, None, ["ok", 3]])
def test_contact_features_reject_bad_input_naming_x(bad):
    with pytest.raises(TypeError, match="X"):
        ContactFeatures().fit(bad)
    with pytest.raises(TypeError, match="X"):
        ContactFeatures().transform(bad)


def test_contact_features_reject_params():
    with pytest.raises(ValueError, match="ContactFeatures"):
        ContactFeatures().set_params(foo=1)


# --- optional check on the shared data -------------------------------------


@pytest.mark.shared_data
@pytest.mark.skipif(not (SHARED / "text" / "train.jsonl").exists(), reason="shared data absent")
def test_shared_data_contact_rates():
    benign_sources = {"waimai-reviews", "medical-search-queries"}
    benign = pos = 0
    n_benign = n_pos = 0
    with (SHARED / "text" / "train.jsonl").open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i > 40000:
                break
            row = json.loads(line)
            if row["source"] in benign_sources:
                n_benign += 1
                benign += bool(extract_contacts(row["text"]))
            elif row["source"] == "tg-spam" and row["solicitation"] == 1:
                n_pos += 1
                pos += bool(extract_contacts(row["text"]))
    assert benign / n_benign < 0.02
    assert pos / n_pos > 0.3
