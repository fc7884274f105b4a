"""benchmarks/adversary.py (independent disguise generator) and its frozen suite: offline, deterministic."""

from __future__ import annotations

import hashlib
import random
import sys
import unicodedata
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import adversary as A  # noqa: E402
import bench_adversary as B  # noqa: E402

ZH = "约炮加微信 wx12345678 上门服务 包夜800元，私聊看片资源"
EN = "Hot sexy escort incall outcall, call 555-123-4567, 200 roses/hr, text me"
LONG_ZH = ("今天下班以后我们一起去公园散步然后吃晚饭再看电影好不好" * 2 + "约炮" + "明天早上还要开会所以不要太晚回家" * 2
           + "微信" + "周末可以一起去爬山也可以在家休息看书")
# families that cannot apply to English text (Chinese-only), and those deterministic by design
ZH_ONLY = {"pinyin", "soundalike", "traditional"}
SEED_FREE = {"traditional"}  # whole-post conversion by default: the same output for every seed


@pytest.mark.parametrize("family", list(A.ALL))
def test_family_changes_text_and_is_deterministic(family):
    fn = A.ALL[family]
    samples = [ZH] if family in ZH_ONLY else [ZH, EN]
    for text in samples:
        a = fn(text, random.Random(7))
        b = fn(text, random.Random(7))
        assert a == b, "same seed, same output"
        assert a != text, f"{family} left {text!r} unchanged"
    if family not in SEED_FREE:
        variety = max(len({fn(t, random.Random(s)) for s in range(12)}) for t in samples)
        assert variety >= 3, f"{family} ignores the seed"
    # disguise(): seeded per (seed, family, key), independent of call order
    assert A.disguise(ZH, family, 21, "row-1") == A.disguise(ZH, family, 21, "row-1")


@pytest.mark.parametrize("family", list(A.ALL))
def test_length_bounded(family):
    for text in (ZH, EN, LONG_ZH, "约", "a"):
        for s in range(20):
            out = A.ALL[family](text, random.Random(s))
            assert len(out) <= 2 * len(text) + 40, (family, text, out)
            assert len(out) >= len(text) - 16  # only word -> emoji shortens, at two points


def test_points_mode_touches_key_words_not_the_whole_post():
    # two disguise points in a long benign post: most of the post stays as it was
    for family in ("separator", "zero_width", "homoglyph", "soundalike", "pinyin"):
        out = A.ALL[family](LONG_ZH, random.Random(3))
        common = sum(1 for ch in LONG_ZH if ch in out)
        assert common >= 0.9 * len(LONG_ZH), family


def test_combiner_applies_two_or_three_families_that_change_text():
    seen = set()
    for s in range(30):
        out, applied = A.combine(ZH, random.Random(s))
        assert 2 <= len(applied) <= 3, applied
        assert len(set(applied)) == len(applied)
        assert all(a in A.FAMILIES for a in applied)
        assert applied == sorted(applied, key=A.APPLY_ORDER.index)
        assert out != ZH
        seen.update(applied)
    assert len(seen) >= 6, "the combiner draws from many families"
    # on English text only families that can change it are chosen
    for s in range(10):
        _, applied = A.combine(EN, random.Random(s))
        assert len(applied) >= 2 and not set(applied) & ZH_ONLY


def _inserted_gaps(orig: str, out: str) -> list[int]:
    """Gap indices of ``orig`` at which ``out`` has extra characters (orig has no separator chars)."""
    gaps, j = [], 0
    for i, ch in enumerate(orig):
        start = j
        while out[j] != ch:
            j += 1
        if j > start:
            gaps.append(i)
        j += 1
    return gaps


def test_separators_land_at_irregular_positions():
    n_gaps = len(LONG_ZH) - 1
    for s in range(10):
        out = A.separator(LONG_ZH, random.Random(s), frac=0.3)
        gaps = _inserted_gaps(LONG_ZH, out)
        assert 0 < len(gaps) < n_gaps, "some gaps, never every gap"
        steps = {b - a for a, b in zip(gaps, gaps[1:])}
        assert len(steps) > 1, "not a fixed stride"
    # points mode on a long post: separators only inside the key words (约炮, 微信)
    k1, k2 = LONG_ZH.index("约炮"), LONG_ZH.index("微信")
    for s in range(10):
        gaps = _inserted_gaps(LONG_ZH, A.separator(LONG_ZH, random.Random(s)))
        assert gaps and set(gaps) <= {k1 + 1, k2 + 1}, gaps
    # even frac=1.0 leaves at least one gap without a separator
    full = _inserted_gaps("约炮加微信上门服务", A.separator("约炮加微信上门服务", random.Random(1), frac=1.0))
    assert 0 < len(full) < 8


def test_digits_only_become_non_ascii_digit_forms():
    text = "QQ 123456789, tel 13800138000, 价格 500 元/次, call 0755"
    scripts_seen = set()
    for s in range(40):
        out = A.digits(text, random.Random(s), frac=1.0 if s % 2 else None)
        assert len(out) == len(text) and out != text
        for o, d in zip(text, out):
            if o == d:
                continue
            assert o in "0123456789", f"non-digit {o!r} changed"
            assert not d.isascii()
            assert unicodedata.numeric(d) == int(o), (o, d)
            scripts_seen.add(next(n for n, al in A.DIGIT_SCRIPTS.items() if d in al))
    assert len(scripts_seen) >= 8
    assert A.digits("没有数字的帖子", random.Random(1)) == "没有数字的帖子"
    # points mode: the two longest numbers (contact numbers) go first
    out = A.digits(text, random.Random(5))
    assert "13800138000" not in out and "123456789" not in out and "0755" in out


def test_zero_width_inserts_only_invisible_or_combining_marks():
    allowed = set(A.ZERO_WIDTH) | set(A.COMBINING)
    for s in range(20):
        out = A.zero_width(ZH, random.Random(s))
        extra = "".join(ch for ch in out if ch in allowed)
        assert extra
        assert "".join(ch for ch in out if ch not in allowed) == ZH


def test_homoglyph_soundalike_pinyin_leet_emoji_substitutions_are_of_their_kind():
    for s in range(20):
        out = A.homoglyph(EN, random.Random(s))
        assert len(out) == len(EN) and any(not c.isascii() for c in out)
        assert all(c == o or not c.isascii() for c, o in zip(out, EN))
        out = A.homoglyph("卖片看片资源", random.Random(s))
        assert out != "卖片看片资源" and len(out) == 6
        out = A.soundalike(ZH, random.Random(s))
        assert len(out) == len(ZH)
        for c, o in zip(out, ZH):
            assert c == o or c in A.SOUNDALIKE[o]
        out = A.leetspeak(EN, random.Random(s))
        assert any(c in "@4310!$57+98" for c, o in zip(out, EN) if c != o)
        out = A.emoji(ZH, random.Random(s))
        assert any(ord(c) > 0x2000 and unicodedata.category(c) == "So" for c in out)
    # pinyin: key words romanised, full or initials
    forms = {A.pinyin("约炮", random.Random(s)).lower() for s in range(40)}
    assert forms & {"yuepao", "yue pao", "yp"} and forms <= {"yuepao", "yue pao", "yp"}
    assert {A.pinyin("微信", random.Random(s)).lower() for s in range(40)} == {"weixin", "wei xin", "wx"}
    assert A.traditional("上门服务", random.Random(0)) == "上門服務"
    assert A.fullwidth("wx: abc123", random.Random(0), frac=1.0) == "ｗｘ： ａｂｃ１２３"


def test_frozen_hash_matches_generator_source():
    sha = hashlib.sha256((BENCH / "adversary.py").read_bytes()).hexdigest()
    assert B.generator_sha256() == sha
    assert B.GENERATOR_SHA256 == sha, ("benchmarks/adversary.py was edited: the suite is frozen. If the edit is "
                                       "intended, bump adversary.VERSION and GENERATOR_SHA256 together, and say why")


def test_evaluate_counts_kept_recall_and_hard_negative_fp():
    rows = [{"id": "p1", "explicit_text": 1, "solicitation": None},
            {"id": "p2", "explicit_text": 1, "solicitation": 1},
            {"id": "n1", "explicit_text": 0, "solicitation": 0},
            {"id": "n2", "explicit_text": 0, "solicitation": 0}]
    is_hn = [False, False, True, True]
    clean = [{"explicit_text"}, {"explicit_text", "solicitation"}, set(), set()]
    disg = [set(), {"explicit_text", "solicitation"}, set(), {"solicitation"}]
    r = B.evaluate(rows, is_hn, clean, disg, [True, True, False, True])
    assert r["explicit_text"]["recall_kept"] == 0.5 and r["explicit_text"]["clean"]["f1"] == 1.0
    assert r["explicit_text"]["f1_drop"] == round(1.0 - 2 / 3, 4)
    assert r["solicitation"]["disguised"]["fp"] == 1
    assert r["hard_negatives"] == {"n": 2, "changed": 1, "fp_clean": 0, "fp": 1, "fpr": 0.5, "new_fp_ids": ["n2"]}


def test_suite_rows_from_dev_only():
    data = B.DEFAULT_DATA
    if not (data / "dev.jsonl").exists():
        pytest.skip("../shared/data not available")
    rows, is_hn = B.load_rows(data, 50, 21)
    assert len(rows) == 100 and sum(is_hn) == 50
    assert all(r["id"].startswith("dev-") for r in rows)
    assert all(any(r.get(c) == 1 for c in B.CATS) for r, h in zip(rows, is_hn) if not h)
    assert all(not any(r.get(c) == 1 for c in B.CATS) for r, h in zip(rows, is_hn) if h)
