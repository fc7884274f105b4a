"""Make disguised copies of posts, the way spammers disguise them, to test robustness honestly.

Written independently of ``cleanclf.text.normalize`` (its source was not read): the tables
here come from how disguised spam looks, not from what the normaliser happens to undo.
Every family is a function ``family(text, rng, rate) -> str`` that changes occurrences of its
target (each with probability ``rate``, at least one when the target is present) and returns
the text unchanged when its target is absent. :func:`perturb` applies a random subset.
Labels stay the same: a disguised escort ad is still an escort ad.

>>> import random
>>> perturb("加我微信 abc123 约炮", random.Random(0)) != "加我微信 abc123 约炮"
True
>>> perturb("加我微信 abc123 约炮", 7) == perturb("加我微信 abc123 约炮", 7)   # same seed, same copy
True
>>> split_chars("好妹妹", random.Random(0), rate=1.0)
'女子女未女未'
"""

from __future__ import annotations

import random
import re
from typing import Callable, Sequence

__all__ = [
    "soundalike", "pinyin", "split_chars", "separators", "fullwidth", "traditional", "digit_scripts",
    "emoji", "zero_width", "leetspeak", "homoglyphs", "FAMILIES", "ALL", "perturb", "perturb_rows",
]


def _rng(rng) -> random.Random:
    if isinstance(rng, random.Random):
        return rng
    if isinstance(rng, int) and not isinstance(rng, bool):
        return random.Random(rng)
    raise TypeError(f"rng: expected random.Random or an int seed, got {type(rng).__name__}")


def _pick(n: int, rng: random.Random, rate: float) -> set[int]:
    """Indices of the ``n`` occurrences to change: each with probability ``rate``, at least one."""
    if n == 0:
        return set()
    chosen = {i for i in range(n) if rng.random() < rate}
    return chosen or {rng.randrange(n)}


_COMPILED: dict[int, tuple] = {}


def _compiled(table: dict[str, Sequence[str]]):
    # Tables are module constants: compile each once, not per call (perturb probes every family).
    got = _COMPILED.get(id(table))
    if got is None or got[0] is not table:
        # Longest key first so 约炮 wins over 约; ASCII keys match case-insensitively (QQ, qq, Qq).
        keys = sorted(table, key=len, reverse=True)
        pattern = re.compile("|".join(re.escape(k) for k in keys), re.IGNORECASE)
        got = (table, pattern, {k.lower(): v for k, v in table.items()})
        _COMPILED[id(table)] = got
    return got[1], got[2]


def _sub_words(text: str, table: dict[str, Sequence[str]], rng: random.Random, rate: float) -> str:
    pattern, lookup = _compiled(table)
    matches = list(pattern.finditer(text))
    chosen = _pick(len(matches), rng, rate)
    out, last = [], 0
    for i, m in enumerate(matches):
        if i in chosen:
            out.append(text[last:m.start()])
            out.append(rng.choice(lookup[m.group(0).lower()]))
            last = m.end()
    out.append(text[last:])
    return "".join(out)


def _sub_chars(text: str, table: dict[str, Sequence[str] | str], rng: random.Random, rate: float) -> str:
    positions = [i for i, ch in enumerate(text) if ch in table]
    chosen = {positions[j] for j in _pick(len(positions), rng, rate)}
    out = []
    for i, ch in enumerate(text):
        if i in chosen:
            alt = table[ch]
            out.append(alt if isinstance(alt, str) else rng.choice(alt))
        else:
            out.append(ch)
    return "".join(out)


# --------------------------------------------------------------------------- word-level families
SOUNDALIKES: dict[str, Sequence[str]] = {
    "微信": ("薇信", "威信", "V信", "vx", "VX", "徽信", "wei信", "薇", "卫星"),
    "加微": ("+薇", "加V", "嘉薇", "➕v"),
    "qq": ("扣扣", "企鹅", "Q扣", "抠抠", "寇寇"),
    "约炮": ("约泡", "箹炮", "约萢", "月炮", "约跑"),
    "约": ("箹", "曰", "哟"),
    "卖片": ("麦偏", "卖偏", "麦片"),
    "看片": ("看偏", "康片", "看骗"),
    "资源": ("滋源", "资缘", "孜源"),
    "色情": ("瑟情", "涩情", "色晴"),
    "做爱": ("坐爱", "作爱", "做嗳"),
    "上门": ("尚门", "上扪", "上们"),
    "服务": ("伏务", "服雾", "福务"),
    "裸聊": ("倮聊", "裸撩", "luo聊"),
    "同城": ("铜城", "同程", "童城"),
    "包夜": ("包液", "包页", "煲夜"),
    "全套": ("全掏", "全淘"),
    "楼凤": ("楼风", "喽凤", "楼奉"),
    "兼职": ("兼值", "坚职", "兼只"),
    "美女": ("镁女", "美铝", "美汝"),
    "小姐": ("小姐姐", "小jie", "晓姐"),
    "妹妹": ("妹纸", "美眉", "妹汁"),
    "福利": ("福莉", "幅利", "福礼"),
    "黄片": ("皇片", "黄偏", "簧片"),
    "骚": ("sao", "臊", "搔"),
    "操": ("草", "艹", "糙"),
    "性": ("姓", "xing", "幸"),
    "鸡巴": ("J8", "鸡8", "几把"),
    "逼": ("B", "比", "屄"),
    "视频": ("视屏", "视品", "sp"),
    "电话": ("电化", "店话", "dh"),
    "联系": ("联细", "连系", "lian系"),
    "wechat": ("we chat", "wecha", "w3chat"),
    "whatsapp": ("whats app", "watsapp", "wh@tsapp"),
    "sex": ("secks", "sexx", "seggs"),
    "escort": ("esc0rt", "eskort", "e-scort"),
}

PINYIN: dict[str, Sequence[str]] = {
    "约炮": ("yuepao", "yp", "YP"),
    "微信": ("weixin", "wx", "WX"),
    "做爱": ("zuoai", "za", "ml"),
    "色情": ("seqing", "sq"),
    "上门": ("shangmen", "sm"),
    "包夜": ("baoye", "by", "BY"),
    "裸聊": ("luoliao", "ll"),
    "资源": ("ziyuan", "zy"),
    "看片": ("kanpian", "kp"),
    "小姐": ("xiaojie", "xj"),
    "同城": ("tongcheng", "tc"),
    "楼凤": ("loufeng", "lf"),
    "全套": ("quantao", "qt"),
    "服务": ("fuwu", "fw"),
    "妹子": ("meizi", "mz"),
    "鸡巴": ("jiba", "jb", "JB"),
    "妓女": ("jinv", "jn"),
    "骚": ("sao", "s"),
    "操": ("cao", "c"),
    "逼": ("bi", "b"),
    "性": ("xing", "x"),
    "淫": ("yin", "y"),
    "约": ("yue", "y"),
    "炮": ("pao", "p"),
    "奶": ("nai", "n"),
    "射": ("she",),
    "爽": ("shuang", "s"),
    "视频": ("shipin", "sp"),
    "加我": ("jiawo", "+w"),
}

EMOJI: dict[str, Sequence[str]] = {
    "企鹅": ("🐧",),
    "qq": ("🐧", "🐧🐧"),
    "微信": ("💚信", "V❤", "💬"),
    "电话": ("📞", "☎️"),
    "手机": ("📱",),
    "美女": ("👩", "💃", "👧"),
    "酒店": ("🏨",),
    "钱": ("💰", "💴"),
    "看": ("👀",),
    "火": ("🔥",),
    "爱": ("❤️", "💕", "❤"),
    "心": ("❤", "💗"),
    "水": ("💦", "💧"),
    "口": ("👄",),
    "嘴": ("👄",),
    "鸡": ("🐔",),
    "猫": ("🐱",),
    "车": ("🚗",),
    "床": ("🛏️",),
    "睡": ("💤",),
    "飞机": ("✈️",),
    "茄子": ("🍆",),
    "桃": ("🍑",),
    "屁股": ("🍑",),
    "胸": ("🍒", "🍈"),
    "奶": ("🍼", "🥛"),
    "月": ("🌙",),
    "夜": ("🌃", "🌙"),
    "加": ("➕",),
    "约": ("🈷️",),
    "phone": ("📞",),
    "call": ("📞",),
    "kiss": ("💋",),
    "hot": ("🔥",),
    "love": ("❤️",),
}


def soundalike(text: str, rng, rate: float = 0.5) -> str:
    """Replace key words by sound-alikes (微信→薇/V信/vx, 约→箹, 卖片→麦偏, QQ→扣扣/企鹅, ...).

    >>> import random
    >>> soundalike("加QQ看片", random.Random(1), rate=1.0) != "加QQ看片"
    True
    >>> soundalike("今天天气很好", random.Random(1))
    '今天天气很好'
    """
    return _sub_words(text, SOUNDALIKES, _rng(rng), rate)


def pinyin(text: str, rng, rate: float = 0.5) -> str:
    """Write key words in pinyin or pinyin initials (约炮→yuepao/yp, 微信→wx, 包夜→by).

    >>> import random
    >>> pinyin("包夜", random.Random(0), rate=1.0) in ("baoye", "by", "BY")
    True
    """
    return _sub_words(text, PINYIN, _rng(rng), rate)


def emoji(text: str, rng, rate: float = 0.5) -> str:
    """Replace words by emoji (企鹅/QQ→🐧, 电话→📞, 水→💦, 加→➕).

    >>> import random
    >>> emoji("加企鹅", random.Random(0), rate=1.0)
    '➕🐧'
    """
    return _sub_words(text, EMOJI, _rng(rng), rate)


# --------------------------------------------------------------------------- character-level families
SPLITS: dict[str, str] = {
    "好": "女子", "妹": "女未", "妈": "女马", "奶": "女乃", "姐": "女且", "妓": "女支", "嫖": "女票",
    "娼": "女昌", "婊": "女表", "妞": "女丑", "她": "女也", "炮": "火包", "骚": "马蚤", "操": "扌喿",
    "强": "弓虽", "射": "身寸", "约": "纟勺", "鸡": "又鸟", "胸": "月匈", "肉": "冂人人", "淫": "氵㸒",
    "泡": "氵包", "叫": "口丩", "吹": "口欠", "吸": "口及", "裸": "衤果", "粉": "米分", "信": "亻言",
    "体": "亻本", "付": "亻寸", "被": "衤皮", "棒": "木奉", "插": "扌臿", "摸": "扌莫", "抱": "扌包",
    "舔": "舌忝", "精": "米青", "液": "氵夜", "湿": "氵显", "性": "忄生", "情": "忄青", "爽": "大爻爻",
}


def split_chars(text: str, rng, rate: float = 0.5) -> str:
    """Split characters into their components (好→女子, 妹→女未, 炮→火包, 骚→马蚤).

    >>> import random
    >>> split_chars("约炮", random.Random(0), rate=1.0)
    '纟勺火包'
    """
    return _sub_chars(text, SPLITS, _rng(rng), rate)


SEPARATORS: tuple[str, ...] = (" ", "*", "-", ".", "|", "/", "丶", "~", "_", "、", "✨", "❤", "·", " . ")
_RUN = re.compile(r"[^\s]{2,}")


_KEYWORDS = re.compile("|".join(re.escape(k) for k in sorted(
    {k for t in (SOUNDALIKES, PINYIN, EMOJI) for k in t if len(k) >= 2}, key=len, reverse=True)), re.IGNORECASE)


def separators(text: str, rng, rate: float = 0.5) -> str:
    """Put a separator between the characters of a span ("约 * 炮", "加-企-鹅").

    The span is a key word when one is present (that is what spammers space out), otherwise a
    random 2-6 character stretch of a non-space run; one separator style per span.

    >>> import random
    >>> out = separators("快加企鹅", random.Random(3), rate=1.0)
    >>> out.startswith("快加企") or out[:2] == "快加", len(out) > 4
    (True, True)
    >>> separators("a", random.Random(0))
    'a'
    """
    rng = _rng(rng)
    spans = [(m.start(), m.end()) for m in _KEYWORDS.finditer(text)]
    if not spans:
        runs = list(_RUN.finditer(text))
        if not runs:
            return text
        m = rng.choice(runs)
        length = rng.randint(2, min(6, m.end() - m.start()))
        start = rng.randint(m.start(), m.end() - length)
        spans = [(start, start + length)]
    chosen = _pick(len(spans), rng, rate)
    out, last = [], 0
    for i, (a, b) in enumerate(spans):
        if i not in chosen:
            continue
        sep = rng.choice(SEPARATORS)
        out.append(text[last:a])
        out.append(sep.join(text[a:b]))
        last = b
    out.append(text[last:])
    return "".join(out)


def fullwidth(text: str, rng, rate: float = 0.5) -> str:
    """Turn ASCII letters and digits into their full-width forms (abc123 → ａｂｃ１２３).

    >>> import random
    >>> fullwidth("QQ 123", random.Random(0), rate=1.0)
    'ＱＱ １２３'
    """
    table = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F) if chr(c).isalnum()}
    return _sub_chars(text, table, _rng(rng), rate)


# A small hand table of common simplified → traditional characters (the ones spam uses most).
TRADITIONAL: dict[str, str] = dict(zip(
    "约发后这个们来说时会对过还没见国门务费价钱点号听让学边开关经电话视频资爱亲线网联妇卖买图员乐凤楼鸡龙伦乱无码万与专业东两为么单实现应间体验质车长马鱼鸟里广记认识请谁该调还阴欢摄晚丝袜师约会礼单妹们宝贝热辣骚饥渴",
    "約發後這個們來說時會對過還沒見國門務費價錢點號聽讓學邊開關經電話視頻資愛親線網聯婦賣買圖員樂鳳樓雞龍倫亂無碼萬與專業東兩為麼單實現應間體驗質車長馬魚鳥裡廣記認識請誰該調還陰歡攝晚絲襪師約會禮單妹們寶貝熱辣騷饑渴",
))
TRADITIONAL = {k: v for k, v in TRADITIONAL.items() if k != v}


def traditional(text: str, rng, rate: float = 0.5) -> str:
    """Write common characters in traditional form (约→約, 发→發, 鸡→雞, 骚→騷).

    >>> import random
    >>> traditional("约会发视频", random.Random(0), rate=1.0)
    '約會發視頻'
    """
    return _sub_chars(text, TRADITIONAL, _rng(rng), rate)


_DIGIT_RUN = re.compile(r"[0-9]+")
DIGIT_SCRIPTS: dict[str, Sequence[str]] = {
    "fullwidth": tuple(chr(0xFF10 + d) for d in range(10)),
    "circled": ("⓪", "①", "②", "③", "④", "⑤", "⑥", "⑦", "⑧", "⑨"),
    "chinese": tuple("〇一二三四五六七八九"),
    "chinese_formal": tuple("零壹贰叁肆伍陆柒捌玖"),
    "math_bold": tuple(chr(0x1D7CE + d) for d in range(10)),
    "parenthesized": ("0", "⑴", "⑵", "⑶", "⑷", "⑸", "⑹", "⑺", "⑻", "⑼"),
    "superscript": ("⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"),
    "dingbat": ("⓿", "➊", "➋", "➌", "➍", "➎", "➏", "➐", "➑", "➒"),
}


def digit_scripts(text: str, rng, rate: float = 0.5) -> str:
    """Rewrite runs of ASCII digits in another script, one script per run.

    Scripts: full-width, circled, Chinese numerals (〇一二 and 零壹贰), mathematical bold,
    parenthesised, superscript, dingbat: how contact numbers are hidden from filters.

    >>> import random
    >>> digit_scripts("QQ 12345", random.Random(0), rate=1.0)[3:] != "12345"
    True
    >>> digit_scripts("没有数字", random.Random(0))
    '没有数字'
    """
    rng = _rng(rng)
    matches = list(_DIGIT_RUN.finditer(text))
    chosen = _pick(len(matches), rng, rate)
    out, last = [], 0
    for i, m in enumerate(matches):
        if i not in chosen:
            continue
        digits = DIGIT_SCRIPTS[rng.choice(sorted(DIGIT_SCRIPTS))]
        out.append(text[last:m.start()])
        out.append("".join(digits[int(d)] for d in m.group(0)))
        last = m.end()
    out.append(text[last:])
    return "".join(out)


ZERO_WIDTH: tuple[str, ...] = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")


def zero_width(text: str, rng, rate: float = 0.5) -> str:
    """Insert zero-width characters (ZWSP, ZWNJ, ZWJ, word joiner, BOM) between characters.

    >>> import random
    >>> out = zero_width("约炮", random.Random(0), rate=1.0)
    >>> len(out), out[0], out[-1]
    (3, '约', '炮')
    """
    rng = _rng(rng)
    if len(text) < 2:
        return text
    gaps = _pick(len(text) - 1, rng, rate)
    out = [text[0]]
    for i, ch in enumerate(text[1:]):
        if i in gaps:
            out.append(rng.choice(ZERO_WIDTH))
        out.append(ch)
    return "".join(out)


LEET: dict[str, str] = {"e": "3", "E": "3", "o": "0", "O": "0", "a": "@", "A": "4", "s": "$", "S": "5",
                        "i": "1", "I": "1", "l": "1", "t": "7"}


def leetspeak(text: str, rng, rate: float = 0.5) -> str:
    """English leetspeak (e→3, o→0, a→@, s→$, i→1).

    >>> import random
    >>> leetspeak("sexy escort", random.Random(0), rate=1.0)
    '$3xy 3$c0r7'
    """
    return _sub_chars(text, LEET, _rng(rng), rate)


HOMOGLYPHS: dict[str, str] = {
    "a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і", "j": "ј", "s": "ѕ",
    "A": "А", "B": "В", "C": "С", "E": "Е", "H": "Н", "K": "К", "M": "М", "O": "О", "P": "Р", "T": "Т",
    "X": "Х", "Y": "Ү",
}


def homoglyphs(text: str, rng, rate: float = 0.5) -> str:
    """Swap Latin letters for look-alike Cyrillic ones (a→а, e→е, o→о, p→р, c→с).

    >>> import random
    >>> out = homoglyphs("escort", random.Random(0), rate=1.0)
    >>> out == "escort", [hex(ord(c)) for c in out[:1]]
    (False, ['0x435'])
    """
    return _sub_chars(text, HOMOGLYPHS, _rng(rng), rate)


# --------------------------------------------------------------------------- composition
Family = Callable[[str, random.Random, float], str]

# Canonical application order: word-level rewrites first (they need the words intact), then
# character rewrites, then separators and zero-width characters (which break words up).
FAMILIES: dict[str, Family] = {
    "soundalike": soundalike,
    "pinyin": pinyin,
    "emoji": emoji,
    "split_chars": split_chars,
    "traditional": traditional,
    "homoglyphs": homoglyphs,
    "leetspeak": leetspeak,
    "digit_scripts": digit_scripts,
    "fullwidth": fullwidth,
    "separators": separators,
    "zero_width": zero_width,
}
ALL: tuple[str, ...] = tuple(FAMILIES)


def perturb(text: str, rng, families: Sequence[str] = ALL, rate: float = 0.5, max_families: int = 3) -> str:
    """A disguised copy of ``text``: 1 to ``max_families`` of the applicable families, in canonical order.

    A family is applicable when its target occurs in the text; if none is, the text comes back
    unchanged. ``rng`` is a :class:`random.Random` or an int seed (same seed, same copy).

    >>> perturb("今天", 0, families=["leetspeak"])      # no Latin letters: nothing to do
    '今天'
    >>> perturb("call me 555", 1, families=["digit_scripts"]) != "call me 555"
    True
    """
    rng = _rng(rng)
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise ValueError(f"families: unknown {unknown}; expected some of {list(FAMILIES)}")
    if not isinstance(text, str):
        raise TypeError(f"text: expected str, got {type(text).__name__}")
    # Probe with a throwaway generator so applicability does not consume the caller's stream.
    probe = random.Random(0)
    applicable = [f for f in ALL if f in families and FAMILIES[f](text, probe, 1.0) != text]
    if not applicable:
        return text
    k = rng.randint(1, min(max_families, len(applicable)))
    picked = set(rng.sample(applicable, k))
    for name in ALL:
        if name in picked:
            text = FAMILIES[name](text, rng, rate)
    return text


def perturb_rows(rows: Sequence[dict], seed: int = 0, negative_share: float = 0.3,
                 categories: Sequence[str] = ("explicit_text", "solicitation"), **kwargs) -> list[dict]:
    """Disguised copies of labelled rows: every positive row, and ``negative_share`` of the others.

    Rows are copied (labels and ids kept, ``"perturbed": True/False`` added). Perturbing a share
    of negatives too keeps "disguise characters" from becoming a shortcut for "positive".

    >>> rows = [{"id": "a", "text": "加微信约炮", "solicitation": 1}, {"id": "b", "text": "好吃", "solicitation": 0}]
    >>> out = perturb_rows(rows, seed=0, negative_share=0.0)
    >>> out[0]["perturbed"], out[0]["text"] != "加微信约炮", out[1]["text"]
    (True, True, '好吃')
    """
    rng = random.Random(seed)
    out = []
    for row in rows:
        positive = any(row.get(c) == 1 for c in categories)
        # Draw for every row so the choice for one row does not depend on the others' labels.
        take_negative = rng.random() < negative_share
        new = dict(row)
        if positive or take_negative:
            new["text"] = perturb(row["text"], rng, **kwargs)
            new["perturbed"] = True
        else:
            new["perturbed"] = False
        out.append(new)
    return out
