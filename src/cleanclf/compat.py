"""What a model bundle needs from the code that loads it.

A bundle's text model is a pickle of scikit-learn objects whose features are
computed by cleanclf's own text code (:mod:`cleanclf.text.normalize`, the
contact extractor, the lexicon data). A pickle loads fine under a changed
normaliser and then quietly scores different features: the manifest therefore
records a *feature-code fingerprint* (:func:`feature_fingerprint`) and the
versions the pickle needs, and :func:`cleanclf.models.check_compatible`
compares them on load.

The fingerprint is *behavioural*: a sha256 over the data files the text code
reads and over what the code does to a fixed list of tricky probe strings
(:data:`PROBES`: full-width, traditional, homoglyphs, zero-width, spaced and
circled digits, emoji, mixed scripts...) -- the normalised text, its offsets
back to the original and the contact spans found in it. A rule change that
alters any of those changes the fingerprint; a refactoring or a comment edit
does not.

>>> fp = feature_fingerprint()
>>> len(fp), fp == feature_fingerprint()
(64, True)
>>> version_tuple("1.9.1"), version_tuple("2.0.0rc1"), version_tuple("0.6")
((1, 9, 1), (2, 0, 0), (0, 6))
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from importlib import resources

__all__ = ["PROBES", "FINGERPRINT_SCHEME", "feature_fingerprint", "version_tuple", "same_minor", "minor_range"]

#: Bump when the *recipe* below changes (probes, what is hashed), never for code changes.
FINGERPRINT_SCHEME = "cleanclf-feature-code/1"

#: Data files of ``cleanclf/data`` the text features read (the training rows are not features).
DATA_FILES = ("t2s_chars.json", "unicode_chars.json", "slang_zh.tsv")

_ZW = "\u200b"  # zero-width space
_PROBES_FIXED = (
    # plain text, edge cases
    "", " ", "a", "中", "\n", "\t\t", "hello world", "Hello, World!", "今天天气不错", "周末去图书馆看书",
    "晚饭做了番茄炒蛋，味道很好。", "新买的跑鞋很舒服!!!", "   leading and trailing   ", "line1\nline2\r\nline3",
    "a" * 60, "哈" * 40, "ok ok ok ok ok", "12345", "2024-05-01T10:00:00Z", "价格 99.5 元，满 200 减 30",
    # full-width letters, digits and punctuation
    "ＡＢＣ１２３", "ｈｅｌｌｏ　ｗｏｒｌｄ", "加ＶＸ：ａｂｃ１２３", "ＱＱ：１２３４５６７８", "全角！？，。：；（）",
    "Ｔｅｌ　１３８００１３８０００", "ｗｗｗ．ｅｘａｍｐｌｅ．ｃｏｍ",
    # traditional characters
    "微信號碼請聯繫我", "聯繫方式見簡介", "這個價錢很實惠", "歡迎來電諮詢", "電話號碼：一三八", "讀書會每週見",
    "藝術與體育", "臺灣與台湾",
    # homoglyphs: Cyrillic, Greek, mathematical and letter-like symbols
    "\u0421\u0410\u0412 123", "v\u0445 abc", "\u0430\u0432\u0441123", "\u03bf\u03bd\u03b5", "\u0391\u0392\u0395",
    "𝐔𝐗４４", "𝕨𝕖𝕔𝕙𝕒𝕥 abc", "𝒂𝒃𝒄𝟏𝟐𝟑", "ℨ ℬ ℰ ℳ", "ⅰⅱⅲ Ⅻ", "Ⓐⓑⓒ ⓪①②", "🅰🅱 🅾", "ᵃᵇᶜ ¹²³ ₁₂₃",
    "ｌ0ｌ lol 1o1", "o0O Il1|", "ﬁne ﬂow", "½ ¼ ¾", "µ Ω K Å",
    # zero-width and decorative characters between letters
    f"微{_ZW}信", "微\u200c信\u200d号", "\ufeffabc\u2060123", "约❤会", "加•微•信", "q·q", "加丶微", "a\u00adb",
    "\u202eabc\u202c", "微\u3164信", "扣\u1160扣", "v♥x", "加★薇", "加❀薇❀信", "电~话", "w-e-c-h-a-t",
    "ᚠᚢᚦ", "企\u200b鹅\u200b号",
    # separators and spaced digits
    "1 3 8 0 0 1 3 8 0 0 0", "1-3-8-0-0-1-3-8-0-0-0", "138 0013 8000", "138.0013.8000", "1_3_8_0_0_1_3_8_0_0_0",
    "加-企-鹅 12345678", "扣扣 1 2 3 4 5 6 7 8", "q q 1234 5678", "v x : a b c 1 2 3", "电话 010-12345678",
    "+86 138 0013 8000", "(555) 0100", "555-0100", "订单号 2024050112345", "身份证 110101199003070000",
    # digits in other scripts
    "①③⑧⓪⓪①③⑧⓪⓪⓪", "⑴⑵⑶", "⒈⒉⒊", "一三八零零一三八零零零", "幺三八 两两", "壹贰叁肆伍陆柒捌玖", "〇一二三",
    "٠١٢٣٤٥٦٧٨٩", "०१२३", "１３８ＯＯ１３８ＯＯＯ", "l38OOl38OOO", "十二点半", "三点一刻", "两千五百",
    # sound-alikes and key-word disguises of contact words (the normaliser's own examples)
    "加-薇 ABC123", "麦饼-喂心 CAD571", "喂心号 abc", "薇信 abc123", "V信 abc123", "vx abc123", "VX：abc123",
    "wx: abc_123", "威信 xyz789", "徽信 xyz789", "扣扣 12345678", "企鹅 12345678", "寇寇 1234567", "蔻蔻 号",
    "买P 卖片", "d9623点com", "abc at example dot com", "t.me/example_handle", "@example_handle 私我",
    "看名字", "主页有", "私我 看简介", "加我 vx", "+v abc123", "+薇 abc123", "增加 参加 添加 附加",
    "弓虽 身寸", "亻半", "口勿", "pao友", "yp 上第三方",
    # emoji and symbols
    "💋🍑🍆💦👅🔞", "☎ 138 📞 📱", "😀😃😄 ok", "👍🏽 thumbs", "👨‍👩‍👧 family", "🇨🇳🇺🇸", "#话题# @某人",
    "❤️ 爱心", "✔ ✘ ☑", "→ ← ↑ ↓", "【广告】", "《书名》", "「引号」『嵌套』", "~~~~~", "…… ——",
    # mixed scripts, case and accents
    "abc中文123混合", "Café crème", "Cafe\u0301 cre\u0300me", "ÀÉÎÕÜ", "straße STRASSE", "İstanbul ıi",
    "こんにちは 世界", "カタカナ ｶﾀｶﾅ", "한국어 ㄱㄴㄷ", "Привет мир", "مرحبا", "שלום", "ไทย", "Ελληνικά",
    "MiXeD CaSe TeXt", "URL https://example.com/a?b=1&c=2", "mail: someone@example.com", "wWw.ExAmPlE.CoM",
    # whitespace variety
    "a\u00a0b", "a\u3000b", "a\u2003b\u2009c", "a\u200ab", "tab\tsep", "多  个   空格",
)


def _generated() -> tuple[str, ...]:
    """The same few carriers under each disguise (so every rule meets every carrier)."""
    bases = ("加微信abc123", "QQ 12345678", "电话13800138000", "hello 中文 ok")
    out = []
    for b in bases:
        out.append(_ZW.join(b))
        out.append(" ".join(b))
        out.append("-".join(b))
        out.append("".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in b))  # full-width
        out.append(b.upper())
        out.append(b + "❤" + b)
        out.append("【" + b + "】" * 2)
    return tuple(out)


#: The fixed probe list the fingerprint runs through the text code.
PROBES: tuple[str, ...] = _PROBES_FIXED + _generated()


def _data_digest() -> list[tuple[str, str]]:
    data = resources.files("cleanclf.data")
    out = []
    for name in DATA_FILES:
        f = data.joinpath(name)
        out.append((name, hashlib.sha256(f.read_bytes()).hexdigest() if f.is_file() else "missing"))
    return out


@lru_cache(maxsize=1)
def feature_fingerprint() -> str:
    """sha256 (hex) of the text feature code's behaviour; see the module docstring.

    Cached per process (~20 ms on first call, mostly the normaliser's tables).
    """
    from .text.contacts import find_contact_spans
    from .text.normalize import normalize, normalize_with_offsets

    h = hashlib.sha256()
    h.update(FINGERPRINT_SCHEME.encode())
    for name, digest in _data_digest():
        h.update(f"\0data\0{name}\0{digest}".encode())
    for probe in PROBES:
        n = normalize_with_offsets(probe)
        text = normalize(probe)
        spans = [list(s) for s in find_contact_spans(text)]
        row = [probe, text, n.text, list(n.offsets), list(n.ends), spans]
        h.update(b"\0probe\0" + json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    return h.hexdigest()


_NUM = re.compile(r"\d+")


def version_tuple(version: str) -> tuple[int, ...]:
    """The leading numeric release of a version string (``"1.9.1.post1"`` -> ``(1, 9, 1)``)."""
    parts = []
    for piece in str(version).strip().lstrip("vV").split("."):
        m = _NUM.match(piece)
        if not m:
            break
        parts.append(int(m.group()))
        if m.end() != len(piece):  # "0rc1": the pre-release tag ends the release part
            break
    return tuple(parts)


def same_minor(a: str, b: str) -> bool:
    """Whether two versions share the major.minor series (``1.9.1`` and ``1.9.4``: yes)."""
    return version_tuple(a)[:2] == version_tuple(b)[:2]


def minor_range(version: str) -> str:
    """The specifier ``>=version,<next-minor`` (``"0.6.0"`` -> ``">=0.6.0,<0.7"``)."""
    t = (version_tuple(version) + (0, 0))[:2]
    return f">={version},<{t[0]}.{t[1] + 1}"


def parse_range(spec: str) -> tuple[tuple[int, ...] | None, tuple[int, ...] | None]:
    """``(lower inclusive, upper exclusive)`` release tuples of a ``>=a,<b`` specifier (either may be ``None``)."""
    low = high = None
    for part in str(spec).split(","):
        part = part.strip()
        if part.startswith(">="):
            low = version_tuple(part[2:])
        elif part.startswith("=="):
            low = version_tuple(part[2:])
            high = low[:-1] + (low[-1] + 1,) if low else None
        elif part.startswith("<") and not part.startswith("<="):
            high = version_tuple(part[1:])
    return low, high
