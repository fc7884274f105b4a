"""Tests of cleanclf.text.normalize: one test per disguise family, offsets,
properties (hypothesis), ordinary text left alone, the transformer contract.

Handles and numbers below are made up (abc123, 13800000000, 12345678...).
"""

from __future__ import annotations

import json
import pickle
import random
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from cleanclf.text.normalize import (
    MAX_PASSES,
    Normalized,
    Normalizer,
    _char_table,
    _normalize_no_keywords,
    _rules,
    normalize,
    normalize_with_offsets,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def norm(text: str) -> str:
    """normalize, checked against the offset path on the way."""
    out = normalize(text)
    assert normalize_with_offsets(text).text == out
    return out


# --- character-level families ---------------------------------------------


def test_nfkc_fullwidth_and_math_letters():
    assert norm("𝐔𝐗４４４２ＡＢＣ") == "ux4442abc"
    assert norm("ｘᴇｋ４９６") == "xek496"


def test_traditional_to_simplified():
    assert norm("約炮,買賣,聯繫") == "约炮,买卖,联系"


def test_zero_width_and_combining_decorations_removed():
    assert norm("约\u200b炮\ufeff") == "约炮"
    assert norm("约\u0347\u035f炮") == "约炮"
    assert norm("微\ufe0f信") == "微信"


def test_decorative_symbols_removed_meaningful_kept():
    assert norm("约❤炮☆★♥") == "约炮"
    assert norm("2◍48 78ℨ2控ᚰ") == "2487832控"
    assert norm("💋🍑") == "💋🍑"  # meaningful emoji stay
    assert norm("☎13800000000") == "☎13800000000"


def test_homoglyphs_to_ascii():
    assert norm("ХСК396") == "xck396"  # Cyrillic
    assert norm("ΧΑ596") == "xa596"  # Greek capitals
    assert norm("C₳D571 ＫＵ€５３７") == "cad571 kue537"
    assert norm("cЗ4З68") == "c34368"


def test_digits_in_any_script():
    assert norm("①③⑧⓪") == "1380"
    assert norm("⒉0⒐1⒈1") == "209111"
    assert norm("๑๒๓") == "123"  # Thai digits
    assert norm("²³") == "23"


def test_chinese_numerals_only_in_long_runs():
    assert norm("一三八零零零零零零零零") == "13800000000"
    assert norm("幺三八 零零零零 零零零零") == "13800000000"
    assert norm("一3八0000") == "1380000"
    assert norm("一个人") == "一个人"
    assert norm("三三两两") == "三三两两"
    assert norm("买了1000一个") == "买了1000一个"


def test_digit_lookalikes_inside_numbers():
    assert norm("每天26OO米") == "每天2600米"
    assert norm("UKC9ł7") == "ukc917"
    assert norm("hello world 100lbs") == "hello world 100lbs"


def test_separators_between_cjk_collapsed():
    assert norm("约 * 炮") == "约炮"
    assert norm("加-企-鹅") == "加qq"
    assert norm("你好，世界。") == "你好,世界。"  # punctuation is not a separator


def test_spaced_digits_collapsed_but_two_numbers_stay_apart():
    assert norm("1 3 8 0 0 0 0 0 0 0 0") == "13800000000"
    assert norm("138-0000-0000") == "13800000000"
    assert norm("12345678 13800000000") == "12345678 13800000000"
    assert norm("3-5天") == "3-5天"
    assert norm("3.5元") == "3.5元"


def test_spaced_out_and_separated_codes_joined():
    assert norm("韵-黄色 K U C 5 3 4") == "韵黄色 kuc534"
    assert norm("B A R B I E") == "barbie"
    assert norm("落 fta*6*7*6 卖片") == "落 fta676 卖片"
    assert norm("pa.a.4.9.5唛片") == "paa495唛片"
    assert norm("c~t~6~0~85") == "ct6085"
    assert norm("加QQ2737^40658") == "加qq273740658"


def test_code_rules_leave_ordinary_text_and_handles_alone():
    assert norm("I love u r a star") == "i love u r a star"  # three single letters are English
    assert norm("12-05-20 ok") == "12-05-20 ok"            # two separators: a date
    assert norm("version 1.2.3 of it") == "version 1.2.3 of it"
    assert norm("wx: ab_cd_12_34") == "微信: ab_cd_12_34"    # underscores belong to WeChat IDs
    assert norm("covid-19 和 t.me") == "covid-19 和 t.me"


def test_decorative_radical_and_enumeration_comma():
    assert norm("忍不丶住眼泪") == "忍不住眼泪"
    assert norm("色哥哥、、拍、、慰、视、频") == "色哥哥拍慰视频"
    assert norm("台湾、巴基斯坦、肯尼亚") == "台湾、巴基斯坦、肯尼亚"  # a list of words keeps its commas


def test_slang_initials_next_to_chinese():
    assert norm("flj资源") == "福利姬资源"
    assert norm("lsp进来") == "老色批进来"


def test_split_characters():
    assert norm("弓虽") == "强"
    assert norm("氵壬 荡") == "淫荡"
    assert norm("女且女且在家") == "姐姐在家"


def test_emoji_words():
    assert norm("🌿") == "草"
    assert norm("伽🐧 12345678") == "加qq 12345678"


# --- key-word families -----------------------------------------------------


@pytest.mark.parametrize(
    "disguised, expected",
    [
        ("加薇 abc123", "加微信 abc123"),
        ("V: abc123", "微信: abc123"),
        ("vx abc123", "微信 abc123"),
        ("wx:abc123", "微信:abc123"),
        ("加v", "加微信"),
        ("喂心 abc123", "微信 abc123"),
        ("卫心", "微信"),
        ("徽信", "微信"),
        ("微x", "微信"),
        ("威信abc123", "微信abc123"),
        ("佳喂：sx106107", "加微信:sx106107"),
        ("看片加威信12345678", "看片加微信12345678"),
        ("麦饼卫星", "卖片微信"),
        ("weixin abc123", "微信 abc123"),
    ],
)
def test_wechat_spellings(disguised, expected):
    assert norm(disguised) == expected


@pytest.mark.parametrize(
    "disguised, expected",
    [
        ("扣扣 12345678", "qq 12345678"),
        ("加企鹅 12345678", "加qq 12345678"),
        ("加乞鹅 12345 67890", "加qq 1234567890"),
        ("q 12345678", "qq 12345678"),
        ("+口+口", "+qq"),
        ("加窛", "加qq"),
        ("12345678看扣", "12345678看qq"),
    ],
)
def test_qq_spellings(disguised, expected):
    assert norm(disguised) == expected


@pytest.mark.parametrize(
    "disguised, expected",
    [
        ("麦偏", "卖片"),
        ("买篇的私聊我", "卖片的私聊我"),
        ("麦-P", "卖片"),
        ("买乒", "卖片"),
        ("ABC123麦片", "abc123卖片"),
        ("麦饼-喂心 ABC123", "卖片微信 abc123"),
    ],
)
def test_selling_clips_spellings(disguised, expected):
    assert norm(disguised) == expected


@pytest.mark.parametrize(
    "disguised, expected",
    [("约泡", "约炮"), ("箹", "约"), ("约p", "约炮"), ("yuepao", "约炮"), ("yp", "约炮"), ("pao友", "炮友"),
     ("baoye", "包夜"), ("shangmen", "上门"), ("loufeng", "楼凤")],
)
def test_hookup_spellings_and_pinyin(disguised, expected):
    assert norm(disguised) == expected


@pytest.mark.parametrize(
    "disguised, expected",
    [("看~姐~名~字~+喂.", "看姐名字+微信."), ("名字.+.+.+喂", "名字+++微信"), ("网站看我|名|字|+|+.", "网站看我名字++."),
     ("名字+ . + . + . 喂 . 爽", "名字+++喂爽"), ("妻子 Q 5、0、7、6、2", "妻子 qq 50762"),
     ("麦、-、P、卫、心", "卖片微信")],
)
def test_one_separator_between_every_character(disguised, expected):
    assert norm(disguised) == expected


@pytest.mark.parametrize("text", ["......好的~~~~", "----", "a - b - c", "www.example.com", "约、炮", "2-3"])
def test_separator_runs_that_are_not_a_disguise_stay(text):
    assert norm(text) == text.lower()


def test_deleted_separators_keep_tight_offsets():
    n = normalize_with_offsets("看~姐~名~字")
    assert n.text == "看姐名字"
    assert [n.to_original(i, i + 1) for i in range(4)] == [(0, 1), (2, 3), (4, 5), (6, 7)]


@pytest.mark.parametrize(
    "disguised, expected",
    [("sao货", "骚货"), ("身边的s货", "身边的骚货"), ("扣b", "扣逼"), ("那大抠bi", "那大抠逼"), ("nai头", "奶头"),
     ("👀片", "看片"), ("🥛大", "奶大"), ("看b站视频", "看b站视频"), ("sao", "sao"), ("sb", "sb"), ("jobs货", "jobs货")],
)
def test_pinyin_and_emoji_inside_words(disguised, expected):
    assert norm(disguised) == expected


@pytest.mark.parametrize(
    "disguised, expected",
    [("qw➍➋➏➑➎", "qw42685"), ("❶❷❸", "123"), ("a⓿➀", "a01"), ("FAK贰伍陆", "fak256"), ("sx一〇六", "sx106"),
     ("贰陆零壹", "2601"), ("三六〇度", "360度"), ("二〇二四年", "2024年"),
     # ordinary numerals stay words
     ("一二三", "一二三"), ("三六九等", "三六九等"), ("第一二三名", "第一二三名"), ("ok一二", "ok一二")],
)
def test_more_digit_scripts(disguised, expected):
    assert norm(disguised) == expected


@pytest.mark.parametrize(
    "disguised, expected",
    [("看小女未衤果表演", "看小妹裸表演"), ("想舌忝你", "想舔你"), ("马蚤货", "骚货"), ("女乃头", "奶头"), ("纟勺火包", "约炮"),
     # pairs that are words stay
     ("女子学校", "女子学校"), ("我女票", "我女票"), ("小米青春版", "小米青春版"), ("新款女表", "新款女表")],
)
def test_split_characters(disguised, expected):
    assert norm(disguised) == expected


# --- ordinary text is left alone -------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "这是对国家安全的威胁",
        "他是这个领域的权威",
        "台风威力很大",
        "树立威信",
        "卫星发射成功",
        "动物园里的企鹅很可爱",
        "增加企鹅的数量",
        "早餐吃麦片和麦饼",
        "一个人点了68元的套餐",
        "口口声声说爱我",
        "李佳薇,你好",
        "张家伟,你好",
        "参加威尼斯电影节",
        "扣100元",
        "订单号 20190506",
    ],
)
def test_ordinary_text_unchanged(text):
    assert norm(text) == text


# --- offsets ---------------------------------------------------------------


@pytest.mark.parametrize(
    "original, keyword, disguised",
    [
        ("快来麦饼-喂心 ABC123", "微信", "喂心"),
        ("快来麦饼-喂心 ABC123", "卖片", "麦饼"),
        ("找我 加-企-鹅 12345678", "qq", "企-鹅"),
        ("今晚約❤炮吗", "约炮", "約❤炮"),
        ("Ｖ：abc123", "微信", "Ｖ"),
        ("號碼 1 3 8 0 0 0 0 0 0 0 0 哦", "13800000000", "1 3 8 0 0 0 0 0 0 0 0"),
    ],
)
def test_offsets_round_trip_to_disguised_form(original, keyword, disguised):
    n = normalize_with_offsets(original)
    start = n.text.index(keyword)
    ostart, oend = n.to_original(start, start + len(keyword))
    assert original[ostart:oend] == disguised


def test_offsets_shape_and_type():
    n = normalize_with_offsets("ＡＢ 约❤炮")
    assert isinstance(n, Normalized)
    assert len(n.offsets) == len(n.text) + 1
    assert n.offsets[-1] == len("ＡＢ 约❤炮")
    with pytest.raises(ValueError, match="start"):
        n.to_original(3, 1)
    with pytest.raises(TypeError, match="start"):
        n.to_original("0", 1)
    with pytest.raises(AttributeError):
        n.text = "x"  # frozen


def test_non_str_rejected_naming_text():
    with pytest.raises(TypeError, match="text"):
        normalize(b"bytes")
    with pytest.raises(TypeError, match="text"):
        normalize_with_offsets(None)


# --- properties ------------------------------------------------------------

_ALPHABET = (
    "约炮加薇威喂心信卫星企鹅扣口麦饼片偏篇买卖P一二三八零幺两个人的了是"
    "0123456789abcvxqoOlIł -_*./|:+，。！ \u200b\ufeff❤☆◍ᚰ①③⑧ＡＶ𝐔ℨЗαΧ約買🐧🌿💋"
)
texts = st.one_of(st.text(alphabet=_ALPHABET, max_size=40), st.text(max_size=40))


@settings(max_examples=400, deadline=None)
@given(texts)
def test_property_fast_path_equals_offset_path(t):
    assert normalize_with_offsets(t).text == normalize(t)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_property_offsets_monotone_and_in_range(t):
    n = normalize_with_offsets(t)
    assert len(n.offsets) == len(n.text) + 1
    assert n.offsets[-1] == len(t)
    assert all(0 <= a <= b <= len(t) for a, b in zip(n.offsets, n.offsets[1:]))
    assert all(n.offsets[i] < n.ends[i] <= len(t) for i in range(len(n.text)))
    for i in range(len(n.text)):
        a, b = n.to_original(i, i + 1)
        assert 0 <= a < b <= len(t)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_property_idempotent(t):
    once = normalize(t)
    assert normalize(once) == once


def test_char_table_is_closed():
    table = _char_table()
    for out in table.values():
        for ch in out:
            assert table.get(ord(ch), ch) == ch


def test_keyword_outputs_are_fixed_by_char_table():
    table = _char_table()
    for word in ("微信", "qq", "卖片", "约炮", "固炮", "炮友", "包夜", "上门", "楼凤", "裸聊", "做爱", "加", "强", "射", "淫", "姐姐", "伴", "吻", "操"):
        assert word.translate(table) == word


def test_rules_converge_well_before_cap():
    assert MAX_PASSES >= 3
    assert len(_rules(True)) > len(_rules(False))


def test_no_keywords_variant_skips_keyword_rules():
    assert _normalize_no_keywords("加薇 ABC123") == "加薇 abc123"


# --- transformer -----------------------------------------------------------


def test_normalizer_transformer_contract():
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline

    est = Normalizer()
    assert est.fit(["x"]) is est
    assert est.transform(["加薇 ABC123", "今天天气不错"]) == ["加微信 abc123", "今天天气不错"]
    assert est.transform(iter(["约❤炮"])) == ["约炮"]
    assert est.transform([]) == []
    c = clone(Normalizer(keywords=False))
    assert c.get_params() == {"keywords": False}
    assert c.transform(["加薇 ABC123"]) == ["加薇 abc123"]
    again = pickle.loads(pickle.dumps(est))
    assert again.transform(["麦偏"]) == ["卖片"]
    pipe = make_pipeline(Normalizer(), Normalizer(keywords=False))
    assert pipe.fit_transform(["买篇"]) == ["卖片"]


@pytest.mark.parametrize("bad", ["a single string", 3, None, [1, "x"], [b"x"]])
def test_normalizer_rejects_bad_input_naming_x(bad):
    with pytest.raises(TypeError, match="X"):
        Normalizer().transform(bad)


def test_normalizer_rejects_bad_param():
    with pytest.raises(TypeError, match="keywords"):
        Normalizer(keywords="yes").fit(["x"])


# --- optional check on the shared data -------------------------------------


@pytest.mark.shared_data
@pytest.mark.skipif(not (SHARED / "text" / "train.jsonl").exists(), reason="shared data absent")
def test_shared_data_fast_equals_offsets_and_idempotent():
    rows = [json.loads(line) for line in (SHARED / "text" / "train.jsonl").open(encoding="utf-8")]
    sample = random.Random(0).sample(rows, 2000)
    for row in sample:
        t = row["text"]
        out = normalize(t)
        assert normalize_with_offsets(t).text == out
        assert normalize(out) == out
