"""Undo the disguises that sexual spam uses, keeping offsets back to the original text.

Spam that advertises porn clips or paid sex hides its keywords and contact
handles from filters: full-width and mathematical letters (``𝐔𝐗４４``),
traditional characters, zero-width and decorative characters between the
letters (``约❤炮``), separators (``加-企-鹅``, ``1 3 8 ...``), digits in other
scripts (``①③⑧``, ``一三八``), look-alike letters (Cyrillic ``С``, ``ℨ`` for 3)
and sound-alike spellings of a few key words (``薇`` / ``喂心`` / ``vx`` for
微信, ``扣扣`` / ``企鹅`` for QQ, ``麦饼`` / ``买P`` for 卖片). :func:`normalize`
maps all of them to one canonical form so that n-grams, lexicons and the
contact extractor see the same text whatever the disguise.

Two entry points share one code path (a list of stages, each a ``str.translate``
table or a regular-expression substitution, applied either plainly or with
offset tracking), so they cannot drift:

* :func:`normalize` -- fast, cached, used on every post;
* :func:`normalize_with_offsets` -- also returns, for each normalised
  character, where it came from, so evidence spans found in normalised text can
  be shown in the original.

>>> normalize("加-薇 ABC123，约❤炮")
'加微信 abc123,约炮'
>>> n = normalize_with_offsets("麦饼-喂心 CAD571")
>>> n.text
'卖片微信 cad571'
>>> n.to_original(2, 4)
(3, 5)

Idempotence: ``normalize(normalize(t)) == normalize(t)``. The character table is
closed (every output character maps to itself), and the substitution stages are
repeated until the text stops changing (at most :data:`MAX_PASSES` rounds).
Idempotence is checked by property tests and holds on all 101k texts of the
shared data; a text that would need more rounds than the cap could in theory
change once more on a second call.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Callable, Iterable, NamedTuple, Union

from ..errors import InputError, InputTypeError, describe

__all__ = ["normalize", "normalize_many", "normalize_with_offsets", "Normalized", "Normalizer", "MAX_PASSES"]

#: Upper bound on rounds of the substitution stages (see module docstring).
MAX_PASSES = 4

# Texts longer than this are not cached: spam that repeats is short, and a
# cache of long texts would hold a lot of memory for little gain.
_CACHE_MAX_LEN = 2000

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f"

# ---------------------------------------------------------------------------
# Hand-made character tables. Each says where it came from.
# ---------------------------------------------------------------------------

# Look-alike characters -> ASCII, applied to the raw character *before* NFKC
# and lower-casing (so capitals and characters that NFKC would turn into
# something else are caught), and again to each character after them.
_HOMOGLYPHS: dict[str, str] = {
    # Seen in tg-spam rows: "78ℨ2" (a 3 in a number), "C₳D571", "ＫＵ€５３７",
    # "UKC9ł7" / "UCX ł39" (an l or 1 in codes; the digit rules turn l into 1
    # between digits), "cЗ4З68" (Cyrillic Ze for 3).
    "ℨ": "3", "₳": "a", "€": "e", "ł": "l", "З": "3", "з": "3",
    # Unicode confusables (TR39 "confusables.txt", Latin look-alikes): Greek
    # capitals that look like Latin capitals, Greek small letters that look
    # like Latin small letters ("爆插╬α", "ΧΑС596" in tg-spam).
    "Α": "a", "Β": "b", "Ε": "e", "Ζ": "z", "Η": "h", "Ι": "i", "Κ": "k", "Μ": "m",
    "Ν": "n", "Ο": "o", "Ρ": "p", "Τ": "t", "Υ": "y", "Χ": "x",
    "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "ω": "w",
    # Cyrillic capitals and small letters that look like Latin ones
    # ("ХСК396卖片" in tg-spam).
    "А": "a", "В": "b", "Е": "e", "К": "k", "М": "m", "Н": "h", "О": "o", "Р": "p",
    "С": "c", "Т": "t", "Х": "x", "У": "y", "Ѕ": "s", "І": "i", "Ј": "j",
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "х": "x", "у": "y", "ѕ": "s", "і": "i", "ј": "j", "ԁ": "d",
    # Latin small capitals and other IPA look-alikes ("ｘᴇｋ４９６", "ɢ" in tg-spam).
    "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ꜰ": "f", "ɢ": "g", "ʜ": "h",
    "ɪ": "i", "ᴊ": "j", "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p",
    "ʀ": "r", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z",
    "ɑ": "a", "ɡ": "g",
    # Sound-alike single characters seen in tg-spam rows ("珂视频箹" = 可视频约).
    "箹": "约",
    # "➕" stands for 加 ("微❤➕wei971480" in tg-spam); NFKC leaves it alone.
    "➕": "+",
}

# Emoji that stand for a word in Chinese internet slang. 🌿 草 (= 操) and 🐮 牛
# are common usage; 🦌 = 撸 (鹿 lù) as in the synthetic comments "已🦌 晚安";
# 🐔 鸡 ("从良🐔" in tg-spam); 🐧 = QQ's penguin ("看逼伽🐧" in tg-spam).
_EMOJI_WORDS: dict[str, str] = {
    "🌿": "草", "🐮": "牛", "🦌": "撸", "🐔": "鸡", "🐧": "企鹅",
    # 👀 for 看 ("👀片") and the milk emoji for 奶: common usage, added after reading the
    # misses of benchmarks/perturb.py's emoji family (whose table has them).
    "👀": "看", "🍼": "奶", "🥛": "奶",
}

# Symbols that carry meaning for the classifiers and are kept although their
# category (So) is otherwise dropped: sexual emoji frequent in backpage and
# synthetic positives, and telephone signs that point at a contact.
_KEEP = frozenset("💋🍑🍆💦👅🔞☎📞📱")

# Decorations outside the dropped categories: bullets and middle dots (Po),
# runic letters used as end markers ("ᚰ", "ᚠ", "ᛀ" in hundreds of tg-spam
# rows), Hangul fillers used as invisible spaces ("ㅤ" in tg-spam).
# 丶 (a radical, never punctuation in modern text) is strewn between characters as
# decoration ("忍不丶住", "有丶感兴趣", "违章丶代交" in tg-spam and sms800k rows).
_EXTRA_DROP = "•·‧∙・‥丶\u3164\u1160\uffa0" + "".join(chr(c) for c in range(0x16A0, 0x1700))

_DIGIT_WORDS = {  # Chinese numerals, incl. 幺 (1 on the phone) and 两, and the financial forms
    "〇": "0", "零": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3", "四": "4",
    "五": "5", "六": "6", "七": "7", "八": "8", "九": "9", "壹": "1", "贰": "2", "叁": "3",
    "肆": "4", "伍": "5", "陆": "6", "柒": "7", "捌": "8", "玖": "9",
}


def _load_json(name: str) -> dict:
    with resources.files("cleanclf.data").joinpath(name).open("r", encoding="utf-8") as fh:
        return json.load(fh)


_ENCLOSED = re.compile(r"\((\d+|[\u3400-\u9fff])\)|(\d+)\.")


@lru_cache(maxsize=1)
def _char_table() -> dict[int, str]:
    """The composed one-pass character table (built on first use, then cached).

    Composition per character: hand homoglyphs, else NFKC (with "(一)" / "1."
    enclosed forms reduced to their content) -> lower case -> per resulting
    character: kept symbols, emoji words, homoglyphs, non-ASCII digits,
    traditional -> simplified, dropped decorations. Then closed under itself so
    that a second application changes nothing.
    """
    uni = _load_json("unicode_chars.json")
    t2s: dict[str, str] = _load_json("t2s_chars.json")["map"]
    nfkc: dict[str, str] = uni["nfkc"]
    lower: dict[str, str] = uni["lower"]
    digits: dict[str, str] = uni["digits"]
    drop = set(_EXTRA_DROP)
    for lo, hi in uni["drop"]:
        drop.update(chr(c) for c in range(lo, hi + 1))
    drop -= _KEEP
    drop -= set(_EMOJI_WORDS)
    drop -= set(_HOMOGLYPHS)

    def one(y: str) -> str:
        if y in _KEEP:
            return y
        for table in (_EMOJI_WORDS, _HOMOGLYPHS, digits, t2s):
            if y in table:
                return table[y]
        return "" if y in drop else y

    def compose(c: str) -> str:
        if c in _HOMOGLYPHS or c in _EMOJI_WORDS or c in _KEEP:
            return one(c)
        s = nfkc.get(c, c)
        if s != c:
            m = _ENCLOSED.fullmatch(s)
            if m:
                s = m.group(1) or m.group(2)
        out = []
        for x in s:
            if x in _HOMOGLYPHS:
                out.append(_HOMOGLYPHS[x])
                continue
            for y in lower.get(x, x):
                out.append(one(y))
        return "".join(out)

    keys = set(nfkc) | set(lower) | set(digits) | set(t2s) | drop
    keys |= set(_HOMOGLYPHS) | set(_EMOJI_WORDS)
    table = {c: compose(c) for c in keys}
    # Close the table: follow outputs through the table until nothing changes,
    # which makes the translate stage idempotent.
    for _ in range(6):
        changed = False
        for c, v in table.items():
            nv = "".join(table.get(ch, ch) for ch in v)
            if nv != v:
                table[c] = nv
                changed = True
        if not changed:
            break
    return {ord(c): v for c, v in table.items() if v != c}


# ---------------------------------------------------------------------------
# Substitution rules.
# ---------------------------------------------------------------------------

Repl = Union[str, Callable[[str], str]]


class _Rule(NamedTuple):
    """One regex substitution. ``repl`` replaces the named group ``k`` if the
    pattern has one (the rest of the match is context and stays), else the
    whole match; a callable gets the replaced text and returns its replacement."""

    pattern: re.Pattern
    repl: Repl
    source: str  # where the rule comes from (documentation and debugging)
    needs: tuple[frozenset, ...]  # run only if the text has a character of each set


def _digits_in_run(s: str) -> str:
    """Chinese numerals -> ASCII in a run of numeral-like characters, if it
    holds at least two Chinese numerals (so "1000一" stays as it is)."""
    if sum(1 for ch in s if ch in _DIGIT_WORDS) < 2:
        return s
    return "".join(_DIGIT_WORDS.get(ch, ch) for ch in s)


_NUMBER_ONLY = frozenset("〇壹贰叁肆伍陆柒捌玖")


def _digits_in_marked_run(s: str) -> str:
    """A run of at least three Chinese numerals with one that only numbers use (〇, 壹 ... 玖)."""
    if sum(1 for ch in s if ch in _DIGIT_WORDS) < 3 or _NUMBER_ONLY.isdisjoint(s):
        return s
    return "".join(_DIGIT_WORDS.get(ch, ch) for ch in s)


_OL_DIGITS = str.maketrans({"o": "0", "l": "1"})


def _ol_to_digits(s: str) -> str:
    return s.translate(_OL_DIGITS)


_NON_DIGIT = re.compile(r"\D+")


def _collapse_digit_groups(s: str) -> str:
    """Join digit groups split by separators ("138 0000 0000", "2487 832") when
    they make a number of 7..11 digits (13 with a leading 86). Groups are
    merged greedily from the left so two numbers side by side stay apart."""
    groups = re.split(r"(\D+)", s)
    nums, seps = groups[0::2], groups[1::2]
    total = sum(len(n) for n in nums)
    if total <= 11 or (total == 13 and s.startswith("86")):
        return "".join(nums) if total >= 7 else s
    out: list[str] = []
    cur_parts = [nums[0]]
    cur_len = len(nums[0])

    def flush() -> None:
        if cur_len >= 7:
            out.append("".join(cur_parts[0::2]))
        else:
            out.append("".join(cur_parts))

    for sep, num in zip(seps, nums[1:]):
        if cur_len + len(num) <= 11:
            cur_parts.extend((sep, num))
            cur_len += len(num)
        else:
            flush()
            out.append(sep)
            cur_parts = [num]
            cur_len = len(num)
    flush()
    return "".join(out)


# Single characters standing for 微 / 微信 in tg-spam rows ("加薇", "佳喂",
# "伽韦", "嶶", "媺", "溦", "徽信", "伟心", "卫心", "威信", "买乒威").
_W = "薇威嶶媺溦喂徽伟卫韦"
# Characters standing for 加 "add (me)" in tg-spam rows ("家喂", "伽🐧", "佳喂", "夹", "迦威").
_J = "伽佳夹嘉迦枷珈"
# A handle or code with at least one digit, >= 5 characters (used in lookaheads).
_HANDLE_AHEAD = r"(?=[a-z0-9_-]{5})[a-z_-]{0,15}\d"
# Latin letters must stand alone (not inside a word, a URL or an @handle).
_LAT_BEFORE = r"(?<![a-z0-9_@/.#-])"


def _lat_before(first: str) -> str:
    """_LAT_BEFORE written *after* the first character ``first`` of a word, so
    the pattern starts with a literal (fast scanning)."""
    return rf"(?<![a-z0-9_@/.#-]{re.escape(first)})"
# "加" as "add me", not 增加 / 参加 / 添加 / 追加 / 更加 (ordinary words).
_ADD_BEFORE = r"(?:(?<=\+)|(?<=加)(?<![增参添追更附施外]加))"
_Q = "扣寇冦窛蔲蔻叩抠"


_DIGITS = "0123456789"
_SEPS = " \t-*_./|~\\=^`'\""
_NUMERALS = "〇零一幺二两三四五六七八九壹贰叁肆伍陆柒捌玖"


@lru_cache(maxsize=2)
def _rules(keywords: bool = True) -> tuple[_Rule, ...]:
    C = _CJK
    # (pattern, replacement, source, needs): ``needs`` is a tuple of character
    # sets; the rule is only run on a text that has a character of each set.
    # That pre-check keeps the cost of some fifty rules near zero on ordinary text.
    rules: list[tuple[str, Repl, str, tuple[str, ...]]] = [
        # The same separator between every character of a stretch, whatever the characters
        # ("看~姐~名~字~+喂", "名字.+.+.+喂", "我|名|字|+|+", "5、0、7、62", "+ . + . + . 喂"):
        # a disguise of tg-spam's "名字+++喂" / "看姐名字" kind that the CJK-only rule below
        # misses when punctuation or digits are among the characters. At least three
        # identical separators between single characters; a character may not be the
        # separator itself, so "......", "~~~~" and "----" are left alone.
        # (Two rules that start at the separator, which the regex engine finds fast; the
        # character before it is checked by a lookbehind placed after it.)
        (r"(?P<a>[\-*_./|~\\^`=、])(?<=\S.)(?:(?!(?P=a))\S(?P=a)){2,}(?!(?P=a))\S", _drop_separator,
         "one separator between every character", ("-*_./|~\\^`=、",)),
        (r" (?P<b>[\-*_./|~\\^`=、]) (?<=\S . )(?:(?!(?P=b))\S (?P=b) ){2,}(?!(?P=b))\S", _drop_separator,
         "one spaced separator between every character", (" ", "-*_./|~\\^`=、")),
        # Separators inserted between CJK characters ("约 * 炮", "加-企-鹅",
        # "出各/地/母/狗" in tg-spam). Commas and full stops are not separators:
        # ordinary text needs them.
        # (Written as CJK + separators + lookahead, with the separators as the
        # replaced group: a pattern that starts with a character class lets the
        # regex engine skip ahead quickly; one that starts with a lookbehind does not.)
        (rf"[{C}](?P<k>[ \t\-*_./|~\\=^`'\"]{{1,3}})(?=[{C}])", "", "tg-spam separators", (_SEPS,)),
        # A code spelt in pairs and single characters ("pa.a.4.9.5", "c~t~6~0~85"): at
        # least three separators, none a space or an underscore (WeChat IDs have them).
        # (This rule and the next start with the character and check "no letter or digit
        # before it" by a lookbehind after it: same matches, ~20 % faster scanning.)
        (r"[a-z0-9](?<![a-z0-9][a-z0-9])[a-z0-9]?(?:[*~|/^\\`.-]{1,3}[a-z0-9]{1,2}(?![a-z0-9])){3,}", _join_singles,
         "separated codes", ("*~|/^\\`.-",)),
        # A code or handle spelt one character at a time with spaces or separators between
        # ("K U C 5 3 4", "𝙎 𝙆 E 5 9 7", "B A R B I E" in tg-spam and backpage rows): at
        # least four single letters/digits, so ordinary English ("u r a") stays.
        (r"[a-z0-9](?<![a-z0-9][a-z0-9])(?:[ \t*~|/^\\`_.-]{1,3}[a-z0-9](?![a-z0-9])){3,}", _join_singles,
         "spaced-out codes", (_SEPS,)),
        # Rare separators inside a code ("2737^40658" in tg-spam): *, ~, |, ^, backslash and
        # backtick between letters/digits never belong to a handle or a word.
        (r"(?<=[a-z0-9])(?P<k>[*~|^\\`]{1,3})(?=[a-z0-9])", "", "separators inside codes", ("*~|^\\`",)),
        # The enumeration comma strewn between single characters ("色哥哥、、拍、、慰、视、频"
        # in tg-spam): only next to a single character between two of them, so that
        # lists of words ("台湾、巴基斯坦、肯尼亚") keep their commas.
        (rf"(?:(?<=[{C}])、{{1,2}}(?=[{C}]、)|(?<=、[{C}])、{{1,2}}(?=[{C}]))", "", "、 between single characters", ("、",)),
        # Split characters: those attested in the data (synthetic comments: "氵壬 荡",
        # "女且女且", "亻半你"; tg-spam: "纟勺火包", "马蚤货") and classic 拆字 pairs that are
        # no word of their own (弓虽, 身寸, 女未, 衤果 ...; see _SPLIT_CHARS).
        (_SPLIT_PATTERN, _SPLIT_CHARS.__getitem__, "split characters", ("".join(sorted({k[0] for k in _SPLIT_CHARS})),)),
        # Chinese numerals in runs of >= 5 numeral-like characters ("一三八...",
        # "一3八..."); the callable also requires two Chinese numerals.
        (rf"[0-9{_NUMERALS}]{{5,}}", _digits_in_run, "Chinese numerals", (_NUMERALS,)),
        # Shorter runs that can only be a number: the digits of a handle after its letters
        # ("FAK贰伍陆", "sx一〇六" = FAK256, sx106, tg-spam handles written in numerals), and
        # runs with 〇 or a financial numeral ("贰陆零壹", "三六〇"), which ordinary words
        # do not have.
        (rf"[{_NUMERALS}](?<=[a-z][a-z].)[0-9{_NUMERALS}]{{2,3}}", _digits_in_run,
         "Chinese numerals after a handle's letters", (_NUMERALS, "abcdefghijklmnopqrstuvwxyz")),
        (rf"[0-9{_NUMERALS}]{{3,4}}", _digits_in_marked_run, "short runs of numerals with 〇 or a financial form",
         ("".join(sorted(_NUMBER_ONLY)),)),
        # o / l inside numbers: "26OO米", "UKC9ł7", "UCX ł39" (tg-spam).
        (r"[ol](?:(?<=\d[ol])[ol]*(?=\d)|(?<![a-z0-9][ol])(?=\d\d)|(?<=\d\do)o*(?![a-z]))", _ol_to_digits, "digit look-alikes (tg-spam)", (_DIGITS, "ol")),
        # Numbers split by separators ("3581 6014", "2◍48 78ℨ2", "138-0000-0000").
        (r"\d+(?:(?:[ \-_*|]{1,3}|\.(?=\d{3}))\d+)+", _collapse_digit_groups, "tg-spam spaced digits", (_DIGITS, " -_*|.")),
    ]
    if keywords:
        rules += _keyword_rules()
    return tuple(_Rule(re.compile(p), r, s, tuple(frozenset(n) for n in needs)) for p, r, s, needs in rules)


def _drop_separator(s: str) -> str:
    """"~姐~名~字" -> "姐名字", " . 名 . 字 . +" -> "名字+": the match starts with its separator."""
    for k in (1, 3):
        parts = s.split(s[:k])
        if parts[0] == "" and len(parts) > 3 and all(len(p) == 1 for p in parts[1:]):
            return "".join(parts)
    return s


_SINGLE_SEP = re.compile(r"[ \t*~|/^\\`_.-]+")


def _join_singles(s: str) -> str:
    return _SINGLE_SEP.sub("", s)


_SPLIT_CHARS = {"弓虽": "强", "身寸": "射", "氵壬": "淫", "女且女且": "姐姐", "亻半": "伴", "口勿": "吻", "扌喿": "操",
                # Classic 拆字 of sexual words whose halves are no word of their own (a
                # radical, or a pair like 女未 / 马蚤 that ordinary text never writes), added
                # after reading the misses of benchmarks/perturb.py's split family, whose
                # table has them too. Pairs that are words are left out: 女子 (woman),
                # 女票 (slang for girlfriend), 女表 (a women's watch), 米青 (小米青春版), 女支, 口欠.
                "女未": "妹", "女乃": "奶", "女且": "姐", "马蚤": "骚", "舌忝": "舔",
                "火包": "炮", "纟勺": "约", "月匈": "胸", "衤果": "裸", "亻言": "信", "忄生": "性",
                "氵㸒": "淫", "扌臿": "插", "扌莫": "摸", "女昌": "娼"}
_SPLIT_PATTERN = "|".join(sorted(_SPLIT_CHARS, key=len, reverse=True))

_PINYIN_IN_WORDS = {"s": "骚", "sao": "骚", "b": "逼", "bi": "逼", "nai": "奶"}

_PINYIN = {  # pinyin and initials of key words (tg-spam "yp上第三方", synthetic "pao友")
    "yuepao": "约炮", "yp": "约炮", "baoye": "包夜", "shangmen": "上门", "loufeng": "楼凤",
    "paoyou": "炮友", "luoliao": "裸聊", "zuoai": "做爱",
    "vx": "微信", "wx": "微信", "weixin": "微信", "weixing": "微信", "vxin": "微信",
    # Slang initials attested in tg-spam / synthetic positives next to Chinese text
    # ("flj资源", "ghs群", "lsp进"): 福利姬 (paid porn-clip seller), 搞黄色, 老色批.
    "flj": "福利姬", "ghs": "搞黄色", "lsp": "老色批",
}


def _keyword_rules() -> list[tuple[str, Repl, str, tuple[str, ...]]]:
    C = _CJK
    W, J, Q = _W, _J, _Q
    Wv = W + "v"
    return [
        # --- 卖片 "selling clips" (tg-spam: 麦偏, 买篇, 买乒, 麦-P, 买P, 卖P, 麦饼卫星).
        # (买偏 is left out: "建议买偏小一码" is ordinary shopping talk.)
        (r"[麦卖买迈][-*_.\s]{0,2}(?:[篇乒]|p(?![a-z]))|[麦卖迈][-*_.\s]{0,2}偏", "卖片", "tg-spam 卖片 spellings", ("麦卖买迈", "偏篇乒p")),
        # 麦片 / 麦饼 are food: only next to a WeChat cue or a code ("麦饼-喂心",
        # "麦片xac596", "sse497麦片").
        (rf"(?:麦[片饼]|[卖买]饼)(?=[-\s]{{0,2}}(?:[{W}]|v(?![a-z])|微信|[a-z]{{2,4}}\d{{3}}))", "卖片", "tg-spam 麦饼 + cue", ("麦卖买", "片饼")),
        (r"(?:(?<=[a-z]\d{3})|(?<=[a-z]\d{3}\s))(?:麦[片饼]|[卖买]饼)", "卖片", "tg-spam code + 麦片", ("麦卖买", "片饼", _DIGITS)),
        # --- 微信 WeChat.
        # Unconditional spellings: none of these is an ordinary word
        # (威信 "prestige", 卫星 "satellite", 微心 and 唯心 are, so they are not here).
        (rf"[薇嶶媺溦喂徽伟卫韦][信心]|{_LAT_BEFORE}v[信心]", "微信", "tg-spam 微信 spellings", (Wv, "信心")),
        (r"微x(?![a-z])", "微信", "微x", ("微", "x")),
        # Pinyin and initials (one alternation: one scan for all of them).
        (rf"(?:{'|'.join(w[0] + _lat_before(w[0]) + w[1:] for w in sorted(_PINYIN, key=len, reverse=True))})(?![a-z])", _PINYIN.__getitem__, "pinyin / initials", ("vwybslpzfg",)),
        # Any stand-in followed by a handle or number: "威信TWW236", "伽韦 sx106107",
        # "V: abc123", "v17694860483".
        # A Latin v must be set off from the handle ("v abc123", "v:abc123") or
        # followed by a long number ("v13800000000"): "vape100r", "vip199", "v904sh"
        # are words and model names.
        (rf"[{W}](?:信|心|星)?(?=[\s:=]{{0,3}}{_HANDLE_AHEAD})|{_LAT_BEFORE}v(?:信|心|星)?(?=[\s:=]{{1,3}}{_HANDLE_AHEAD}|\d{{5}})", "微信", "stand-in + handle", (Wv, _DIGITS)),
        # After 加 / +: "加薇 abc123", "加v", "加威信818..." (增加 / 参加 ... excluded,
        # and a single 威 followed by another CJK character is a word: 增加威力).
        (rf"{_ADD_BEFORE}(?:[{W}]|v)(?:信|心|星)", "微信", "加 + stand-in", ("加+", Wv, "信心星")),
        (rf"{_ADD_BEFORE}(?:[{W}]|v)(?![{C}a-z0-9])", "微信", "加 + stand-in", ("加+", Wv)),
        # After 卖片 / 片: "麦饼卫星", "买乒威", "TPK564片薇".
        (rf"(?<=片)[{W}](?:信|心|星)", "微信", "卖片 + stand-in", ("片", W)),
        (rf"(?<=片)[{W}](?![{C}])", "微信", "卖片 + stand-in", ("片", W)),
        # 加 spelt with a sound-alike before a WeChat/QQ cue and a handle ("佳喂：sx106107",
        # "迦威 sx106 107"), or after a code ("HB98538家喂").
        (rf"[{J}](?=(?:[{W}]|v)(?:信|心|星)?[\s:=]{{0,3}}{_HANDLE_AHEAD})", "加", "加 sound-alikes", (J, Wv, _DIGITS)),
        (rf"[{J}](?=微信|qq|[企乞]鹅|[{Q}])", "加", "加 sound-alikes", (J, "微q企乞" + Q)),
        (rf"(?<=\d)家(?=[{W}]|微信|qq|[企乞]鹅|[{Q}])", "加", "加 sound-alikes after a code", ("家", _DIGITS)),
        # --- QQ ("扣扣", "+口+口", "加窛", "加乞鹅 29579 76580", "3402558811看扣",
        # "2920 5382 口", "Q15830...", "伽🐧" in tg-spam).
        (r"扣扣|抠抠|寇寇|蔻蔻|蔲蔲|叩叩|乞鹅", "qq", "QQ spellings", ("扣抠寇蔻蔲叩乞",)),
        (rf"{_ADD_BEFORE}口\+?口", "qq", "+口+口", ("加+", "口")),
        (rf"(?:{_ADD_BEFORE}|(?<=[{J}家]))企鹅", "qq", "加 + 企鹅 (the animal stays)", ("加+家" + J, "企")),
        (r"企鹅(?=[\s:=]{0,3}\d{5})", "qq", "企鹅 + number", ("企", _DIGITS)),
        (rf"{_ADD_BEFORE}(?:[{Q}口]|q)(?![{C}a-z])", "qq", "加 + QQ stand-in", ("加+", Q + "口q")),
        (rf"(?:[{Q}]|{_LAT_BEFORE}q)(?=[\s:=]{{0,3}}\d{{5,}}(?![\d元块万分.%]))", "qq", "QQ stand-in + number", (Q + "q", _DIGITS)),
        (rf"[{Q}口q](?:(?<=\d{{5}}.)|(?<=\d{{5}}[看加+ ].)|(?<=\d{{5}} [看加+].))(?![{C}a-z])", "qq", "number + QQ stand-in", (Q + "口q", _DIGITS)),
        # --- 约炮 / 炮友 (tg-spam "约泡", synthetic "pao友").
        # (药泡 is not here: "草药泡脚" is a medical query.)
        (r"约(?:泡|p(?![a-z])|pao(?![a-z]))|药炮", "约炮", "约炮 spellings", ("约药", "炮泡p")),
        (r"固(?:泡|p(?![a-z]))", "固炮", "固炮 spellings", ("固", "泡p")),
        (rf"(?:泡|{_LAT_BEFORE}pao)友", "炮友", "炮友 spellings", ("泡p", "友")),
        # Pinyin for 骚 / 逼 / 奶 inside Chinese words ("sao货", "s货", "扣b", "看bi", "nai头"):
        # common Chinese spam spellings, only next to the characters that make the word
        # (so "sao" or "b" alone stays). Added after reading the misses of
        # benchmarks/perturb.py's pinyin family, whose table has them too: the pinyin
        # figure is not independent of these three.
        # (One alternation, so one scan: 骚 before 货/逼/女/妇, 逼 after 扣/抠/看/舔/插/操/草/日
        # but not 看b站 (bilibili), 奶 before 头/子.)
        (rf"s{_lat_before('s')}(?:ao)?(?=[货逼女妇])|b(?<=[扣抠看舔插操草日]b)i?(?![a-z站])|n{_lat_before('n')}ai(?=[头子])",
         _PINYIN_IN_WORDS.__getitem__, "pinyin of 骚 / 逼 / 奶 inside words", ("sbn", "货逼女妇扣抠看舔插操草日头子")),
    ]


# ---------------------------------------------------------------------------
# The engine: one list of stages, two ways of applying it.
# ---------------------------------------------------------------------------


def _replacement(rule: _Rule, m: re.Match) -> tuple[int, int, str]:
    """(start, end, new text) of what ``rule`` replaces in match ``m``."""
    if "k" in rule.pattern.groupindex:
        s, e = m.span("k")
    else:
        s, e = m.span()
    repl = rule.repl
    return s, e, repl if isinstance(repl, str) else repl(m.string[s:e])


def _sub_fast(rule: _Rule, text: str) -> str:
    if isinstance(rule.repl, str) and "k" not in rule.pattern.groupindex:
        return rule.pattern.sub(rule.repl, text) if "\\" not in rule.repl else rule.pattern.sub(lambda m: rule.repl, text)

    def f(m: re.Match) -> str:
        s, e, new = _replacement(rule, m)
        ms, me = m.span()
        return m.string[ms:s] + new + m.string[e:me]

    return rule.pattern.sub(f, text)


def _kept_positions(text: str, s: int, e: int, new: str) -> list[int] | None:
    """Positions in ``text[s:e]`` of the characters of ``new`` when ``new`` is a subsequence of it."""
    kept = []
    i = s
    for ch in new:
        i = text.find(ch, i, e)
        if i < 0:
            return None
        kept.append(i)
        i += 1
    return kept


def _sub_tracked(rule: _Rule, text: str, starts: list[int], ends: list[int]) -> tuple[str, list[int], list[int]]:
    pieces: list[str] = []
    ns: list[int] = []
    ne: list[int] = []
    pos = 0
    for m in rule.pattern.finditer(text):
        s, e, new = _replacement(rule, m)
        if new == text[s:e]:
            continue
        pieces.append(text[pos:s])
        ns.extend(starts[pos:s])
        ne.extend(ends[pos:s])
        pieces.append(new)
        k = len(new)
        if k == e - s:  # same length: character i came from character i
            ns.extend(starts[s:e])
            ne.extend(ends[s:e])
        elif k and k < e - s and (kept := _kept_positions(text, s, e, new)) is not None:
            # The rule only deleted characters ("约 * 炮" -> "约炮"): each kept character
            # keeps its own offsets, so evidence spans stay tight.
            ns.extend(starts[i] for i in kept)
            ne.extend(ends[i] for i in kept)
        elif k:
            if e > s:
                o_s, o_e = starts[s], ends[e - 1]
            else:  # pure insertion (no rule does this today): anchor at the next character
                o_s = o_e = starts[s] if s < len(starts) else (ends[-1] if ends else 0)
            ns.extend([o_s] * k)
            ne.extend([o_e] * k)
        pos = e
    if not pieces:
        return text, starts, ends
    pieces.append(text[pos:])
    ns.extend(starts[pos:])
    ne.extend(ends[pos:])
    return "".join(pieces), ns, ne


class _Plan(NamedTuple):
    """Rules plus a cheap gate: each need-set of each rule gets one bit; a text's
    mask has the bits of every need-set it has a character of, and a rule runs
    only when all its bits are set. One C-level pass over the text (a frozenset
    intersection) replaces some fifty Python-level checks per text."""

    rules: tuple[_Rule, ...]
    masks: tuple[int, ...]
    char_bits: dict[str, int]
    triggers: frozenset


@lru_cache(maxsize=2)
def _plan(keywords: bool = True) -> _Plan:
    rules = _rules(keywords)
    masks: list[int] = []
    char_bits: dict[str, int] = {}
    bit = 1
    for rule in rules:
        mask = 0
        for chars in rule.needs:
            mask |= bit
            for ch in chars:
                char_bits[ch] = char_bits.get(ch, 0) | bit
            bit <<= 1
        masks.append(mask)
    return _Plan(rules, tuple(masks), char_bits, frozenset(char_bits))


def _mask(plan: _Plan, text: str) -> int:
    m = 0
    bits = plan.char_bits
    for ch in plan.triggers.intersection(text):
        m |= bits[ch]
    return m


def _passes(text: str, plan, sub: Callable[[_Rule, str], str],
            trace: list[int] | None = None) -> tuple[str, bool]:
    """Apply the rules whose trigger characters are present until the text stops changing.

    Shared by the fast and the offset-tracking runs, which differ only in ``sub``.
    Returns the text and whether it is a fixed point (the last round changed
    nothing, so running the rules again on the output would change nothing
    either); False only when :data:`MAX_PASSES` rounds ran out. ``trace``, if
    given, receives the index of every rule application that changed the text.
    """
    for _ in range(MAX_PASSES):
        before = text
        m = _mask(plan, text)
        if not m:
            return text, True
        for i, (rule, rm) in enumerate(zip(plan.rules, plan.masks)):
            if m & rm == rm:
                new = sub(rule, text)
                if new != text:
                    text = new
                    m = _mask(plan, text)
                    if trace is not None:
                        trace.append(i)
        if text == before:
            return text, True
    return text, False


def _first_stage(text: str) -> str:
    # ASCII text only needs lower-casing from the table (the C fast path).
    return text.lower() if text.isascii() else text.translate(_char_table())


def _run(text: str, keywords: bool = True) -> str:
    return _passes(_first_stage(text), _plan(keywords), _sub_fast)[0]


class _Run(NamedTuple):
    """What the fast run learnt about one text (see :func:`_run_info`)."""

    text: str           # normalize(original)
    fixed: bool         # normalize(text) == text, proven by the run itself
    trace: tuple        # indices of the rule applications that changed the text, in order


def _run_info(text: str) -> _Run:
    """The fast run, plus what lets later steps skip work.

    ``fixed``: the rule rounds ended because a round changed nothing (not
    because :data:`MAX_PASSES` ran out) and the character stage leaves the
    output as it is, so normalising the output again would return it unchanged.
    ``trace``: the offset-tracking run replays just these rule applications
    (rules that changed nothing on a text are left out: with the same text they
    would change nothing there either).
    """
    trace: list[int] = []
    out, converged = _passes(_first_stage(text), _plan(True), _sub_fast, trace)
    fixed = converged and _first_stage(out) == out
    return _Run(out, fixed, tuple(trace) if trace else ())


class _Lengths(NamedTuple):
    multi: frozenset    # characters the table deletes or expands (not exactly one character out)
    lengths: "object"   # numpy uint8 array: output length per code point (1 for unmapped ones)


@lru_cache(maxsize=1)
def _lengths() -> _Lengths:
    import numpy as np

    table = _char_table()
    lengths = np.ones(0x110000, dtype=np.uint8)
    for c, v in table.items():
        lengths[c] = len(v)
    return _Lengths(frozenset(chr(c) for c, v in table.items() if len(v) != 1), lengths)


def _table_tracked(text: str) -> tuple[str, list[int], list[int]]:
    """The character stage with offsets: (text, starts, ends), as a per-character loop gives
    (character ``i`` yields ``len(table[i])`` output characters, each from ``[i, i + 1)``),
    without a Python loop over the characters."""
    out = text.translate(_char_table())
    n = len(text)
    lens = _lengths()
    if lens.multi.isdisjoint(text):  # most texts: one character out per character in
        return out, list(range(n)), list(range(1, n + 1))
    import numpy as np

    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    src = np.repeat(np.arange(n), lens.lengths[cps])
    return out, src.tolist(), (src + 1).tolist()


def _run_tracked(text: str, info: _Run | None = None) -> tuple[str, list[int], list[int]]:
    """Offset-tracking run: the character stage, then the fast run's trace replayed with tracking."""
    if info is None:
        info = _info(text)
    cur, starts, ends = _table_tracked(text)
    rules = _plan(True).rules
    for i in info.trace:
        cur, starts, ends = _sub_tracked(rules[i], cur, starts, ends)
    return cur, starts, ends


def _run_tracked_full(text: str, keywords: bool = True) -> tuple[str, list[int], list[int]]:
    """Reference for tests: every rule through the offset-tracking substitution, per-character
    table loop (what :func:`_run_tracked` must equal)."""
    table = _char_table()
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, ch in enumerate(text):
        out = table.get(ord(ch), ch)
        if out:
            pieces.append(out)
            starts.extend([i] * len(out))
            ends.extend([i + 1] * len(out))

    def sub(rule: _Rule, cur: str) -> str:
        nonlocal starts, ends
        new, starts, ends = _sub_tracked(rule, cur, starts, ends)
        return new

    cur = _passes("".join(pieces), _plan(keywords), sub)[0]
    return cur, starts, ends


# ---------------------------------------------------------------------------
# Public API.
# ---------------------------------------------------------------------------


def _check_text(text: object) -> None:
    if not isinstance(text, str):
        raise InputTypeError(f"text must be a str, got {describe(text)}")


@lru_cache(maxsize=1 << 16)
def _normalize_cached(text: str) -> _Run:
    return _run_info(text)


def _info(text: str) -> _Run:
    """:func:`_run_info`, from the cache for texts short enough to be cached."""
    return _run_info(text) if len(text) > _CACHE_MAX_LEN else _normalize_cached(text)


def normalize(text: str) -> str:
    """Return the canonical form of ``text`` (see the module docstring for the stages).

    Fast path without offsets; repeated texts are served from a bounded cache.

    >>> normalize("𝐔𝐗４４４２ 約-炮")
    'ux4442 约炮'
    >>> normalize("一个权威的威胁")      # ordinary words stay
    '一个权威的威胁'
    >>> normalize("扣扣 1 3 8 0 0 0 0 0 0 0 0")
    'qq 13800000000'
    """
    _check_text(text)
    if len(text) > _CACHE_MAX_LEN:
        return _run(text)
    return _normalize_cached(text).text


def normalize_many(texts: list[str]) -> tuple[list[str], list[str]]:
    """``[normalize(t) for t in texts]`` and ``[normalize(normalize(t)) for t in texts]``, cheaply.

    Feature extractors that take normalised text normalise it again (harmless by
    idempotence); the second list is that text, computed only for outputs the
    first run could not prove to be fixed points.

    >>> normalize_many(["加-薇 ABC123"])
    (['加微信 abc123'], ['加微信 abc123'])
    """
    once: list[str] = []
    twice: list[str] = []
    for t in texts:
        _check_text(t)
        info = _info(t)
        once.append(info.text)
        twice.append(info.text if info.fixed else normalize(info.text))
    return once, twice


@dataclass(frozen=True)
class Normalized:
    """Normalised text plus the map back to the original.

    ``offsets[i]`` is the index in the original text where normalised character
    ``i`` came from; ``offsets[len(text)] == len(original)``. ``ends[i]`` is the
    end (exclusive) of the original characters that produced character ``i``
    (several, when a rule replaced a longer or shorter span).

    >>> n = normalize_with_offsets("加-企-鹅 12345678")
    >>> n.text
    '加qq 12345678'
    >>> n.to_original(1, 3)
    (2, 5)
    """

    text: str
    offsets: tuple[int, ...]
    ends: tuple[int, ...]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map the half-open span ``[start, end)`` of :attr:`text` to the half-open
        span of the original text that covers its source characters.

        >>> normalize_with_offsets("约❤炮").to_original(0, 2)
        (0, 3)
        """
        n = len(self.text)
        for name, value in (("start", start), ("end", end)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise InputTypeError(f"{name} must be an int, got {describe(value)}")
        if not 0 <= start <= end <= n:
            raise InputError(
                f"start, end must satisfy 0 <= start <= end <= {n} (the normalised length), got start={start!r}, end={end!r}"
            )
        if start == end:
            o = self.offsets[start]
            return o, o
        return self.offsets[start], self.ends[end - 1]


def normalize_with_offsets(text: str) -> Normalized:
    """Normalise ``text`` and keep, for every normalised character, its source offset.

    ``normalize_with_offsets(t).text == normalize(t)`` for every string ``t``.

    >>> n = normalize_with_offsets("麦饼-喂心 CAD571")
    >>> n.text, n.to_original(2, 4)
    ('卖片微信 cad571', (3, 5))
    >>> "麦饼-喂心 CAD571"[slice(*n.to_original(2, 4))]
    '喂心'
    """
    _check_text(text)
    cur, starts, ends = _run_tracked(text)
    return Normalized(cur, (*starts, len(text)), tuple(ends))


def _normalize_no_keywords(text: str) -> str:
    """Character-level and spacing stages only (no key-word rules): used to
    measure how much the key-word rules change ordinary text."""
    _check_text(text)
    return _run(text, keywords=False)


class Normalizer:
    """scikit-learn transformer: a 1-D iterable of ``str`` -> list of normalised ``str``.

    Stateless; ``fit`` only validates and returns ``self``. ``keywords=False``
    keeps the character-level stages and drops the key-word rules (for
    ablations).

    >>> from cleanclf.text.normalize import Normalizer
    >>> Normalizer().fit_transform(["加薇 ABC123", "今天天气不错"])
    ['加微信 abc123', '今天天气不错']
    """

    def __init__(self, keywords: bool = True):
        self.keywords = keywords

    # scikit-learn's get_params/set_params/clone without making sklearn a hard import here.
    def get_params(self, deep: bool = True) -> dict:
        return {"keywords": self.keywords}

    def set_params(self, **params) -> "Normalizer":
        for key, value in params.items():
            if key not in ("keywords",):
                raise InputError(f"invalid parameter {key!r} for Normalizer; expected one of ['keywords']")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        return "Normalizer()" if self.keywords is True else f"Normalizer(keywords={self.keywords!r})"

    def _validate(self, X: object) -> list[str]:
        if not isinstance(self.keywords, bool):
            raise InputTypeError(f"keywords must be a bool, got {describe(self.keywords)}")
        return as_texts(X)

    def fit(self, X: Iterable[str], y: object = None) -> "Normalizer":
        """Validate ``X`` and return ``self`` (nothing is learned)."""
        self._validate(X)
        return self

    def transform(self, X: Iterable[str]) -> list[str]:
        """Normalise every text of ``X``; one output per input."""
        texts = self._validate(X)
        if self.keywords:
            return [normalize(t) for t in texts]
        return [_run(t, keywords=False) for t in texts]

    def fit_transform(self, X: Iterable[str], y: object = None) -> list[str]:
        return self.fit(X, y).transform(X)

    def __sklearn_tags__(self):  # called by scikit-learn >= 1.6 only, so sklearn is already imported
        from sklearn.utils import Tags, TargetTags, TransformerTags, InputTags

        return Tags(
            estimator_type=None,
            target_tags=TargetTags(required=False),
            requires_fit=False,
            transformer_tags=TransformerTags(),
            input_tags=InputTags(one_d_array=True, two_d_array=False, string=True),
        )


def as_texts(X: object, name: str = "X") -> list[str]:
    """Validate a 1-D iterable of ``str`` and return it as a list.

    The one input check of every text estimator (:class:`Normalizer`,
    :class:`~cleanclf.text.contacts.ContactFeatures`, the feature blocks,
    :class:`~cleanclf.text.classifier.TextClassifier`): a single ``str``/``bytes``, a
    non-iterable or a non-``str`` item raises :class:`~cleanclf.errors.InputTypeError`
    naming ``name`` (and the item's index); an array that is not 1-D raises
    :class:`~cleanclf.errors.InputError`.

    >>> as_texts(("a", "b"))
    ['a', 'b']
    >>> as_texts(["a", 1])
    Traceback (most recent call last):
    ...
    cleanclf.errors.InputTypeError: X[1] must be a str, got 1 (int)
    """
    if isinstance(X, (str, bytes)):
        raise InputTypeError(f"{name} must be a 1-D iterable of str (e.g. a list of texts), got a single {type(X).__name__}: {describe(X)}")
    if getattr(X, "ndim", 1) != 1:  # a 2-D array would iterate as rows
        raise InputError(f"{name} must be a 1-D iterable of str, got an array of shape {getattr(X, 'shape', '?')}")
    try:
        items = list(X)  # type: ignore[arg-type]
    except TypeError:
        raise InputTypeError(f"{name} must be a 1-D iterable of str, got {describe(X)}") from None
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise InputTypeError(f"{name}[{i}] must be a str, got {describe(item)}")
    return items


def text_input_tags(tags):
    """Mark the scikit-learn tags of an estimator whose input is :func:`as_texts`'s: a 1-D
    sequence of strings, not a 2-D array. Returns ``tags``."""
    tags.input_tags.one_d_array = True
    tags.input_tags.two_d_array = False
    tags.input_tags.string = True
    return tags
