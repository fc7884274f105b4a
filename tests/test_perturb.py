"""cleanclf.text.perturb (the disguise generator of the benchmarks and of training augmentation,
imported by benchmarks as ``perturb``): every disguise family does its job, deterministically."""

from __future__ import annotations

import doctest
import random
import sys
import unicodedata
from pathlib import Path

import pytest

from cleanclf.text import perturb

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import perturb as benchmarks_perturb  # noqa: E402  (the benchmarks' shim)

# (family, a text containing its target, a text without it or None when every text is a target)
CASES = [
    ("soundalike", "加我微信看片", "今天天气很好"),
    ("pinyin", "同城约炮包夜", "今天天气很好"),
    ("emoji", "加企鹅打电话", "今天天气很好"),
    ("split_chars", "好妹妹约炮", "今天天气不错"),
    ("separators", "加企鹅", "a"),
    ("fullwidth", "QQ 12345", "没有拉丁字母"),
    ("traditional", "约会发视频", "今天天气很好"),
    ("digit_scripts", "电话 13800001234", "没有数字 abc"),
    ("zero_width", "约炮", "约"),
    ("leetspeak", "sexy escort", "中文而已"),
    ("homoglyphs", "escort ads", "中文 123"),
]


def test_doctests():
    res = doctest.testmod(perturb)
    assert res.attempted > 15 and res.failed == 0


def test_benchmarks_import_the_library_module():
    assert benchmarks_perturb.perturb is perturb.perturb and benchmarks_perturb.FAMILIES is perturb.FAMILIES


def test_every_family_is_covered():
    assert {c[0] for c in CASES} == set(perturb.FAMILIES) == set(perturb.ALL)


@pytest.mark.parametrize("name,target,plain", CASES)
def test_family_changes_its_target(name, target, plain):
    fam = perturb.FAMILIES[name]
    for seed in range(20):  # even at a low rate at least one occurrence changes
        assert fam(target, random.Random(seed), 0.05) != target


@pytest.mark.parametrize("name,target,plain", CASES)
def test_family_leaves_text_without_target(name, target, plain):
    assert perturb.FAMILIES[name](plain, random.Random(0), 1.0) == plain


@pytest.mark.parametrize("name,target,plain", CASES)
def test_family_is_deterministic(name, target, plain):
    fam = perturb.FAMILIES[name]
    text = target * 3
    assert fam(text, random.Random(42), 0.5) == fam(text, random.Random(42), 0.5)
    assert fam(text, 42, 0.5) == fam(text, random.Random(42), 0.5)  # int seed accepted


def test_specific_forms():
    r = random.Random(0)
    assert perturb.split_chars("好妹", r, 1.0) == "女子女未"
    assert perturb.fullwidth("a1", r, 1.0) == "ａ１"
    assert perturb.traditional("鸡", r, 1.0) == "雞"
    assert perturb.leetspeak("esoai", r, 1.0) == "3$0@1"
    assert perturb.homoglyphs("aeopc", r, 1.0) == "аеорс"
    assert perturb.soundalike("卖片", r, 1.0) in perturb.SOUNDALIKES["卖片"]
    assert perturb.soundalike("QQ", r, 1.0) in perturb.SOUNDALIKES["qq"]
    zw = perturb.zero_width("加微信", r, 1.0)
    assert zw.replace("\u200b", "").replace("\u200c", "").replace("\u200d", "").replace("\u2060", "") \
             .replace("\ufeff", "") == "加微信" and len(zw) == 5
    sep = perturb.separators("约炮", r, 1.0)
    assert sep[0] == "约" and sep[-1] == "炮" and len(sep) > 2


def test_digit_scripts_keep_the_number():
    # Every script encodes the same digits, so a normaliser can recover the number.
    for seed in range(30):
        out = perturb.digit_scripts("13800001234", random.Random(seed), 1.0)
        assert out != "13800001234" and len(out) == 11
        for name, digits in perturb.DIGIT_SCRIPTS.items():
            assert len(digits) == 10 and len(set(digits)) == 10, name


def test_fullwidth_is_undone_by_nfkc():
    out = perturb.fullwidth("WeChat abc123", random.Random(0), 1.0)
    assert out != "WeChat abc123" and unicodedata.normalize("NFKC", out) == "WeChat abc123"


def test_perturb_deterministic_and_changes_positives():
    texts = ["加我微信 abc123 约炮 包夜300", "Hot sexy escort call 5551234", "看片加QQ 12345678"]
    for t in texts:
        assert perturb.perturb(t, 5) == perturb.perturb(t, 5)
        assert all(perturb.perturb(t, s) != t for s in range(20))
    outs = {perturb.perturb(texts[0], s) for s in range(20)}
    assert len(outs) > 5  # different seeds, different disguises


def test_perturb_family_subset_and_errors():
    assert perturb.perturb("中文而已", 0, families=["leetspeak", "homoglyphs"]) == "中文而已"
    assert perturb.perturb("", 0) == ""
    with pytest.raises(ValueError, match="families"):
        perturb.perturb("x", 0, families=["nope"])
    with pytest.raises(TypeError, match="rng"):
        perturb.perturb("x", "seed")
    with pytest.raises(TypeError, match="text"):
        perturb.perturb(None, 0)


def test_perturb_rows_keeps_labels_and_perturbs_every_positive():
    rows = [{"id": str(i), "text": f"加微信约炮{i}号", "solicitation": 1, "explicit_text": None} for i in range(10)]
    rows += [{"id": f"n{i}", "text": f"今天外卖很好吃{i}", "solicitation": 0, "explicit_text": 0} for i in range(50)]
    out = perturb.perturb_rows(rows, seed=1, negative_share=0.3)
    assert [r["id"] for r in out] == [r["id"] for r in rows]
    assert all(o["solicitation"] == r["solicitation"] and o["explicit_text"] == r["explicit_text"]
               for o, r in zip(out, rows))
    assert all(o["perturbed"] and o["text"] != r["text"] for o, r in zip(out[:10], rows[:10]))
    share = sum(o["perturbed"] for o in out[10:]) / 50
    assert 0.1 < share < 0.6
    assert out == perturb.perturb_rows(rows, seed=1, negative_share=0.3)
    assert rows[0]["text"] == "加微信约炮0号" and "perturbed" not in rows[0]  # inputs untouched
