"""An independent disguise generator (adversary) for cleanclf's text categories.

Written from a *description* of how spammers disguise sexual / solicitation text (Chinese and
English) and from general knowledge of spam evasion, WITHOUT reading cleanclf's normaliser
(``src/cleanclf/text/``), its data tables or ``benchmarks/perturb.py``. Every table below
(pinyin, sound-alikes, look-alikes, emoji, key words) was written by hand for this file.

Its value is that independence. It must NEVER be used to choose normaliser entries, lexicon
entries or training rows: once the normaliser is fitted to this file, its figures mean as
little as those of the old benchmark. Fix the normaliser from your own knowledge of spam,
then re-measure here. The file is frozen: ``bench_adversary.GENERATOR_SHA256`` pins its
hash and ``tests/test_adversary.py`` fails on any edit (bump VERSION and the pin together,
and say why in the commit).

Usage: every family is ``family(text, rng, *, points=..., frac=...) -> str``:

* ``points``: number of disguise points per post (key words first, e.g. 约炮 / 微信 / escort,
  then random eligible places); ``frac``: fraction of eligible characters / gaps / tokens
  instead (overrides ``points``).
* ``mixed(text, rng)`` applies 2-3 families; ``combine`` also returns which.

Deterministic: the output depends only on the text, the arguments and the state of ``rng``.
"""

from __future__ import annotations

import random
import re
import unicodedata
from typing import Callable

VERSION = "1.1"

# --------------------------------------------------------------------------- key words
#: Words spammers disguise first (sexual, contact, solicitation vocabulary). Longest first.
KEYWORDS_ZH = sorted(set("""
约炮 约啪 约会 同城 同城约 一夜情 包夜 全套 快餐 上门 上门服务 服务 小姐 妹子 美女 少妇 人妻 熟女 兼职 楼凤 援交
包养 寂寞 空虚 做爱 性爱 性感 操逼 鸡巴 阴茎 阴道 乳房 奶子 射精 高潮 自慰 口交 打炮 啪啪 淫荡 骚货 骚 裸聊
裸体 色情 黄片 黄色 看片 卖片 视频 资源 网址 福利 开房 酒店 按摩 足浴 大保健 私聊 联系 微信 加微 加我 电话 手机
扣扣 号码 价格 价钱 约 炮 逼 操 射 淫 裸 胸 奶 鸡 片 微 信 聊 嫖 妓 做 爽 色 性
""".split()), key=len, reverse=True)
KEYWORDS_EN = sorted(set("""
sex sexy fuck fucking pussy dick cock cum horny nude nudes naked porn xxx escort escorts incall outcall hookup
date call text phone number roses donation massage hot girls girl babe kiss booty ass boobs tits wet suck blow
bbbj gfe hour special lonely chat whatsapp snap kik telegram free video cam live adult discreet
""".split()), key=len, reverse=True)

_EN_KEY_RE = re.compile(r"(?i)(?<![A-Za-z])(" + "|".join(map(re.escape, KEYWORDS_EN)) + r")(?![A-Za-z])")
_ZH_KEY_RE = re.compile("|".join(map(re.escape, KEYWORDS_ZH)))


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def _is_word(ch: str) -> bool:
    return ch.isalnum() or _is_han(ch)


def key_spans(text: str) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) spans of key words in ``text`` (Chinese and English)."""
    spans = [m.span() for m in _ZH_KEY_RE.finditer(text)]
    spans += [m.span() for m in _EN_KEY_RE.finditer(text)]
    spans.sort()
    out: list[tuple[int, int]] = []
    for s, e in spans:
        if not out or s >= out[-1][1]:
            out.append((s, e))
    return out


def _choose(rng: random.Random, items: list, k: int) -> list:
    if k >= len(items):
        items = list(items)
        rng.shuffle(items)
        return items
    return rng.sample(items, k)


def _pick_positions(text: str, rng: random.Random, eligible: Callable[[int], bool],
                    points: int, frac: float | None) -> list[int]:
    """Character indices to disguise: ``points`` key-word places first (one per key word), or ``frac``."""
    elig = [i for i in range(len(text)) if eligible(i)]
    if not elig:
        return []
    if frac is not None:
        k = max(1, round(frac * len(elig)))
        return sorted(_choose(rng, elig, k))
    chosen: list[int] = []
    spans = _choose(rng, key_spans(text), points)
    for s, e in spans:
        inside = [i for i in range(s, e) if eligible(i)]
        if inside:
            chosen.append(rng.choice(inside))
    rest = [i for i in elig if i not in chosen]
    if len(chosen) < points and rest:
        chosen += _choose(rng, rest, points - len(chosen))
    return sorted(set(chosen))


def _pick_gaps(text: str, rng: random.Random, points: int, frac: float | None) -> list[int]:
    """Gap indices g (between text[g-1] and text[g], both word characters), at irregular places.

    ``points`` mode: inside up to ``points`` key words (a random non-empty subset of each word's
    inner gaps), else short random stretches. ``frac`` mode: a random fraction of all such gaps,
    never every one of them.
    """
    gaps = [g for g in range(1, len(text)) if _is_word(text[g - 1]) and _is_word(text[g])]
    if not gaps:
        return []
    if frac is not None:
        k = max(1, round(frac * len(gaps)))
        if k >= len(gaps) and len(gaps) > 2:
            k = len(gaps) - 1
        return sorted(_choose(rng, gaps, k))
    gapset = set(gaps)
    chosen: set[int] = set()
    n_done = 0
    for s, e in _choose(rng, key_spans(text), points):
        inner = [g for g in range(s + 1, e) if g in gapset]
        if not inner:
            continue
        chosen.update(_choose(rng, inner, rng.randint(1, len(inner))))
        n_done += 1
    while n_done < points:
        rest = [g for g in gaps if g not in chosen]
        if not rest:
            break
        g = rng.choice(rest)
        # a short stretch: this gap and sometimes the next one or two
        for j in range(rng.randint(0, 2) + 1):
            if g + j in gapset and rng.random() < (1.0 if j == 0 else 0.5):
                chosen.add(g + j)
        n_done += 1
    return sorted(chosen)


def _insert_at_gaps(text: str, gaps: list[int], make: Callable[[], str]) -> str:
    out, prev = [], 0
    for g in gaps:
        out.append(text[prev:g])
        out.append(make())
        prev = g
    out.append(text[prev:])
    return "".join(out)


# --------------------------------------------------------------------------- separator
#: Emoji among them are neutral decoration (no 💋 🔞 🍑 💦): a disguise must not add sexual meaning
#: to a benign post, or hard-negative false positives measure the emoji, not the disguise.
SEPARATORS = [" ", ".", "/", "|", "_", "~", "*", "-", "+", "#", "、", "·", "丨", "。", "，", "…", "﹏",
              "❤", "🌸", "✨", "⭐", "🔥", "💕", "🍀", "👉", "🎀", "🌟"]


def separator(text: str, rng: random.Random, *, points: int = 2, frac: float | None = None) -> str:
    """Separators (spaces, punctuation, CJK punctuation, emoji) between characters, irregularly."""
    main = rng.choice(SEPARATORS)

    def make() -> str:
        s = main if rng.random() < 0.7 else rng.choice(SEPARATORS)
        r = rng.random()
        if r < 0.1:
            return s * 2
        if r < 0.2 and s != " ":
            return f" {s} "
        return s

    return _insert_at_gaps(text, _pick_gaps(text, rng, points, frac), make)


# --------------------------------------------------------------------------- zero_width
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
COMBINING = ["\u0301", "\u0300", "\u0302", "\u0308", "\u0332", "\u0333", "\u0335", "\u0336", "\u0337",
             "\u0338", "\u0323", "\u0331", "\u20e3", "\u0489"]


def zero_width(text: str, rng: random.Random, *, points: int = 2, frac: float | None = None) -> str:
    """Zero-width characters between characters and combining marks on them (inside key words first)."""
    gaps = _pick_gaps(text, rng, points, frac)
    if not gaps:  # a one-character post: mark the character itself
        gaps = [i + 1 for i in range(len(text)) if _is_word(text[i])][:1]

    def make() -> str:
        if rng.random() < 0.6:
            return "".join(rng.choice(ZERO_WIDTH) for _ in range(rng.randint(1, 2)))
        return rng.choice(COMBINING)  # after the previous character: a mark on it

    return _insert_at_gaps(text, gaps, make)


# --------------------------------------------------------------------------- homoglyph
#: Latin letter -> Cyrillic / Greek / other single look-alikes.
LOOKALIKE_LATIN = {
    "a": "аɑα", "b": "Ьḃ", "c": "сϲ", "d": "ԁɗ", "e": "еε", "g": "ɡց", "h": "һ", "i": "іɩι", "j": "ј",
    "k": "κ", "l": "ӏǀ", "m": "м", "n": "ոη", "o": "оοσ", "p": "рρ", "q": "ԛ", "r": "г", "s": "ѕ",
    "t": "τ", "u": "υս", "v": "ν", "w": "ѡω", "x": "хχ", "y": "уγ", "z": "ᴢ",
    "A": "АΑ", "B": "ВΒ", "C": "СϹ", "D": "Ꭰ", "E": "ЕΕ", "H": "НΗ", "I": "ІΙ", "J": "Ј", "K": "КΚ",
    "M": "МΜ", "N": "Ν", "O": "ОΟ", "P": "РΡ", "S": "Ѕ", "T": "ТΤ", "X": "ХΧ", "Y": "ΥҮ", "Z": "Ζ",
}
SMALL_CAPS = dict(zip("abcdefghijklmnopqrstuvwyz", "ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘǫʀꜱᴛᴜᴠᴡʏᴢ"))
#: Mathematical alphanumeric styles: (capital A, small a) code points; holes are skipped.
MATH_STYLES = [(0x1D400, 0x1D41A), (0x1D468, 0x1D482), (0x1D5D4, 0x1D5EE), (0x1D670, 0x1D68A),
               (0x1D538, 0x1D552), (0x1D56C, 0x1D586), (0x1D5A0, 0x1D5BA)]
#: Chinese look-alikes: katakana and variant forms (Kangxi radicals are added below).
LOOKALIKE_HAN = {
    "口": "ロ囗", "力": "カ", "工": "エ", "二": "ニ", "八": "ハ", "卜": "ト", "夕": "タ", "一": "ー",
    "千": "チ", "三": "彡", "么": "幺", "妹": "妺", "未": "末", "己": "已巳", "土": "士", "日": "曰",
    "人": "入", "大": "太", "天": "夭", "女": "⼥", "子": "孑", "了": "孓", "入": "人",
}


def _math_letter(ch: str, style: tuple[int, int]) -> str | None:
    if "A" <= ch <= "Z":
        cp = style[0] + ord(ch) - 65
    elif "a" <= ch <= "z":
        cp = style[1] + ord(ch) - 97
    else:
        return None
    c = chr(cp)
    return c if unicodedata.name(c, "") else None  # reserved holes have no name


def _kangxi() -> dict[str, str]:
    """Ideograph -> its Kangxi / CJK radical supplement look-alike (from Unicode compatibility data)."""
    out: dict[str, str] = {}
    for cp in list(range(0x2F00, 0x2FD6)) + list(range(0x2E80, 0x2EF4)):
        c = chr(cp)
        if not unicodedata.name(c, ""):
            continue
        base = unicodedata.normalize("NFKC", c)
        if len(base) == 1 and _is_han(base):
            out.setdefault(base, "")
            out[base] += c
    # CJK radicals supplement forms without a compatibility mapping, by hand
    for base, rad in {"门": "⻔", "车": "⻋", "见": "⻅", "长": "⻓", "马": "⻢", "鸟": "⻦", "页": "⻚",
                      "风": "⻛", "飞": "⻜", "食": "⻝", "鱼": "⻥", "龙": "⻰", "西": "⻄"}.items():
        if base not in out or rad not in out[base]:
            out[base] = out.get(base, "") + rad
    return out


for _b, _r in _kangxi().items():
    LOOKALIKE_HAN[_b] = LOOKALIKE_HAN.get(_b, "") + _r


def _glyph_style(rng: random.Random):
    """One rendering style for a whole word: returns ch -> look-alike (or None)."""
    kind = rng.choice(["math", "math", "circled", "paren", "fullwidth", "smallcaps", "script"])
    if kind == "math":
        st = rng.choice(MATH_STYLES)
        return lambda ch: _math_letter(ch, st) or (chr(0x1D7CE + int(ch)) if ch.isdigit() and ch.isascii() else None)
    if kind == "circled":
        def f(ch):
            if "A" <= ch <= "Z":
                return chr(0x24B6 + ord(ch) - 65)
            if "a" <= ch <= "z":
                return chr(0x24D0 + ord(ch) - 97)
            if "1" <= ch <= "9":
                return chr(0x2460 + int(ch) - 1)
            return "⓪" if ch == "0" else None
        return f
    if kind == "paren":
        def f(ch):
            if "a" <= ch.lower() <= "z":
                return chr(0x249C + ord(ch.lower()) - 97)
            if "1" <= ch <= "9":
                return chr(0x2474 + int(ch) - 1)
            return None
        return f
    if kind == "fullwidth":
        return lambda ch: chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else None
    if kind == "smallcaps":
        return lambda ch: SMALL_CAPS.get(ch.lower()) if ch.isascii() and ch.isalpha() else None
    return lambda ch: rng.choice(LOOKALIKE_LATIN[ch]) if ch in LOOKALIKE_LATIN else None


def _single_glyph(ch: str, rng: random.Random) -> str | None:
    if ch in LOOKALIKE_HAN:
        return rng.choice(LOOKALIKE_HAN[ch])
    if ch in LOOKALIKE_LATIN and rng.random() < 0.7:
        return rng.choice(LOOKALIKE_LATIN[ch])
    if ch.isascii() and ch.isalnum():
        for _ in range(4):
            g = _glyph_style(rng)(ch)
            if g:
                return g
    return None


def homoglyph(text: str, rng: random.Random, *, points: int = 2, frac: float | None = None) -> str:
    """Look-alike characters across scripts: Cyrillic/Greek, fullwidth, math letters, circled,
    parenthesised, small caps; Kangxi radicals, katakana and variant forms for Chinese.

    In ``points`` mode an English key word is sometimes restyled whole (𝐞𝐬𝐜𝐨𝐫𝐭, ⓔⓢⓒⓞⓡⓣ).
    """
    chars = list(text)

    def eligible(i: int) -> bool:
        ch = text[i]
        return ch in LOOKALIKE_HAN or (ch.isascii() and ch.isalnum())

    pos = _pick_positions(text, rng, eligible, points, frac)
    spans = key_spans(text)
    for i in pos:
        span = next(((s, e) for s, e in spans if s <= i < e), None)
        if frac is None and span and text[i].isascii() and rng.random() < 0.4:
            style = _glyph_style(rng)
            for j in range(*span):
                g = style(text[j])
                if g:
                    chars[j] = g
            continue
        g = _single_glyph(text[i], rng)
        if g:
            chars[i] = g
    return "".join(chars)


# --------------------------------------------------------------------------- pinyin (hand table)
_PINYIN_TABLE = """
a:啊阿 ai:爱艾哎唉矮碍 an:安按暗岸案俺 ba:八巴吧爸把拔霸 bai:白百拜败摆 ban:办半班板版伴搬扮
bang:帮棒榜 bao:包保报宝抱饱暴爆 bei:被北背杯备倍贝 ben:本奔 bi:比笔必逼币闭鼻 bian:边变便遍
biao:表标婊 bie:别 bin:宾滨 bing:并病兵冰 bo:波播博 bu:不步部布补 cai:才菜彩财采 can:参餐
cao:操草 ce:测侧策 ceng:层曾 cha:茶查插差 chan:产 chang:长常场唱厂尝 chao:超朝潮炒 che:车
chen:陈晨沉 cheng:成城程称诚承乘 chi:吃持迟 chong:冲充 chu:出处初除 chuan:穿传川船 chuang:床窗创
chun:春纯 ci:次此词 cong:从聪 cu:粗 cun:村存 cuo:错 da:大打达答 dai:带代待戴袋 dan:单但蛋弹
dang:当 dao:到道倒导 de:的得德 deng:等登灯 di:地第弟底低帝 dian:点电店 diao:调掉吊屌 ding:定订顶
dong:东动懂洞 dou:都 du:度读独 duan:短段 dui:对队 duo:多 e:饿 er:二儿而耳 fa:发法 fan:饭反翻
fang:方房放 fei:飞费非肥 fen:分粉份 feng:风封峰凤 fu:服福夫付富妇复 gai:该改 gan:干感敢 gang:刚
gao:高搞告 ge:个哥歌 gei:给 gen:跟根 gong:工公功共 gou:够狗购 gu:姑古故 gua:挂 guai:怪乖
guan:关官管 guang:光 gui:贵鬼 guo:国过果 ha:哈 hai:还孩海 han:含汉 hao:好号 he:和喝合 hei:黑
hen:很 hong:红 hou:后厚 hu:户湖护 hua:话花华画 huan:欢换 huang:黄 hui:会回 hun:婚 huo:活火
ji:鸡机几级急记集寂妓 jia:家加价假 jian:见件间兼 jiang:讲 jiao:叫交教脚 jie:姐接解节 jin:进今近紧金
jing:经精 jiu:就九酒久 ju:局 jue:觉 kai:开 kan:看 kao:靠 ke:可客课 kong:空 kou:口扣 kuai:快块
la:拉啦 lai:来 lang:浪 lao:老 le:了乐 lei:累 li:里理力利 lian:联脸连 liang:两亮 liao:聊 lin:林
ling:零 liu:六流留 lou:楼 lu:路 luo:裸 ma:吗妈马 mai:卖买 man:满 mao:毛猫 mei:没美妹每 men:们门
mi:密 mian:面免 miao:秒 min:民 ming:名明 mo:摸摩 mu:母 na:那拿 nai:奶 nan:男难 ne:呢 neng:能
ni:你 nian:年 niang:娘 niu:牛妞 nong:弄 nv:女 nuan:暖 pa:怕啪 pai:拍 pao:炮跑泡 pei:陪配 peng:朋
pi:屁皮 pian:片 piao:嫖票漂 pin:品频 ping:平 qi:七起气期妻 qian:钱前 qin:亲 qing:情请清轻 qiu:求球
qu:去 quan:全 qun:群 ran:然 re:热 ren:人 ri:日 rou:肉 ru:如乳入 sa:洒 san:三 sao:骚 se:色
shang:上 shao:少 she:射 shen:身 sheng:生 shi:是时十事视试 shou:手收 shu:书熟 shuang:爽 shui:水睡
shuo:说 si:四私丝 song:送 sou:搜 su:素 suo:所 ta:他她 tai:太 tao:套 te:特 tian:天舔 tiao:条
tie:贴 ting:听 tong:同通 tou:头 tui:腿 tuo:脱 wa:娃 wai:外 wan:玩晚万完 wang:网 wei:微慰 wen:问
wo:我 wu:五无舞务 xi:系洗西 xia:下 xian:现先 xiang:想 xiao:小笑 xie:谢 xin:信新心 xing:性
xiong:胸 xiu:秀 xu:需虚 xue:学 ya:呀鸭 yan:颜 yang:样养 yao:要 ye:夜也 yi:一 yin:淫阴 ying:硬
you:有 yu:欲浴 yuan:元源援 yue:约 zai:在 zan:咱 zao:早 ze:则 zen:怎 zhan:站 zhang:张 zhao:找
zhe:这 zhen:真 zheng:正 zhi:只直职 zhong:中 zhu:主 zhuan:专 zi:自资 zong:总 zou:走 zu:足 zui:最
zuo:做
"""
PINYIN: dict[str, str] = {}
for _item in _PINYIN_TABLE.split():
    _syl, _chars = _item.split(":")
    for _c in _chars:
        PINYIN.setdefault(_c, _syl)


def _pinyin_word(word: str, rng: random.Random) -> str:
    syl = [PINYIN[c] for c in word]
    r = rng.random()
    if r < 0.35:
        out = "".join(s[0] for s in syl)  # initials: 约炮 -> yp, 微信 -> wx
    elif r < 0.55:
        out = " ".join(syl)
    else:
        out = "".join(syl)
    if rng.random() < 0.2:
        out = out.upper()
    return out


def _pinyin_units(text: str, rng: random.Random, points: int, frac: float | None) -> list[tuple[int, int]]:
    """Spans of Han characters (all with a pinyin) to romanise: key words first, then single characters."""
    if frac is not None:
        idx = [i for i, c in enumerate(text) if c in PINYIN]
        return [(i, i + 1) for i in sorted(_choose(rng, idx, max(1, round(frac * len(idx))) if idx else 0))]
    units: list[tuple[int, int]] = []
    for s, e in _choose(rng, key_spans(text), len(text)):
        if len(units) >= points:
            break
        if all(c in PINYIN for c in text[s:e]):
            units.append((s, e))
    used = {i for s, e in units for i in range(s, e)}
    rest = [i for i, c in enumerate(text) if c in PINYIN and i not in used]
    if len(units) < points and rest:
        units += [(i, i + 1) for i in _choose(rng, rest, points - len(units))]
    return sorted(units)


def _replace_spans(text: str, spans: list[tuple[int, int]], make: Callable[[str], str]) -> str:
    out, prev = [], 0
    for s, e in sorted(spans):
        out.append(text[prev:s])
        out.append(make(text[s:e]))
        prev = e
    out.append(text[prev:])
    return "".join(out)


def pinyin(text: str, rng: random.Random, *, points: int = 2, frac: float | None = None) -> str:
    """Some Chinese characters by their pinyin, full or initials (约炮 -> yuepao / yue pao / yp)."""
    return _replace_spans(text, _pinyin_units(text, rng, points, frac), lambda w: _pinyin_word(w, rng))


# --------------------------------------------------------------------------- leetspeak
LEET = {"a": "@4", "e": "3", "i": "1!", "o": "0", "s": "$5", "t": "7+", "l": "1", "g": "9", "b": "8",
        "z": "2", "A": "4@", "E": "3", "I": "1!", "O": "0", "S": "$5", "T": "7+", "B": "8", "G": "6"}


def _leet_word(w: str, rng: random.Random, whole: bool) -> str:
    idx = [i for i, c in enumerate(w) if c in LEET]
    if not idx:
        return w
    pick = idx if whole else _choose(rng, idx, rng.randint(1, min(2, len(idx))))
    cs = list(w)
    for i in pick:
        cs[i] = rng.choice(LEET[cs[i]])
    return "".join(cs)


def leetspeak(text: str, rng: random.Random, *, points: int = 2, frac: float | None = None) -> str:
    """Leetspeak (@ 4 3 1 ! 0 $ 5 7 +) on English words; on Chinese, on the pinyin of key words."""
    words = [m.span() for m in re.finditer(r"[A-Za-z]{2,}", text)]
    leetable = [(s, e) for s, e in words if any(c in LEET for c in text[s:e])]
    if leetable:
        if frac is not None:
            spans = _choose(rng, leetable, max(1, round(frac * len(leetable))))
        else:
            keys = [(s, e) for s, e in leetable if _EN_KEY_RE.fullmatch(text[s:e])]
            spans = _choose(rng, keys, points)
            others = [w for w in leetable if w not in spans]
            if len(spans) < points and others:
                spans += _choose(rng, others, points - len(spans))
        return _replace_spans(text, spans, lambda w: _leet_word(w, rng, whole=rng.random() < 0.3))
    # Chinese: romanise and leet the pinyin (约炮 -> yu3p@o)
    units = _pinyin_units(text, rng, points, frac)

    def make(w: str) -> str:
        py = "".join(PINYIN[c] for c in w)
        if rng.random() < 0.3 and len(w) > 1:
            py = " ".join(PINYIN[c] for c in w)
        out = _leet_word(py, rng, whole=rng.random() < 0.3)
        return out if out != py else py.replace("o", "0", 1).replace("i", "1", 1).replace("a", "4", 1)

    return _replace_spans(text, units, make)


# --------------------------------------------------------------------------- soundalike
#: Character -> homophones / near-homophones (same or close pinyin), written by hand.
SOUNDALIKE = {
    "微": "威薇维围唯", "信": "芯心新鑫", "约": "曰月悦阅越", "炮": "泡跑袍", "啪": "趴帕", "操": "草艹槽糙",
    "逼": "比笔币", "妹": "魅昧", "骚": "搔臊", "鸡": "机几基", "性": "姓幸杏", "奶": "乃氖", "射": "设社摄",
    "插": "茶查叉", "裸": "倮", "精": "睛晶经", "淫": "银阴吟", "色": "涩瑟", "卖": "麦迈", "片": "偏篇骗",
    "黄": "皇凰簧", "服": "伏福富", "务": "雾物", "上": "尚", "门": "们扪", "夜": "叶页业", "包": "苞胞",
    "小": "晓筱", "姐": "解借", "加": "家嘉佳", "我": "窝", "联": "连莲", "系": "细戏", "号": "好浩",
    "电": "点殿", "话": "画化", "扣": "寇蔻", "群": "裙", "视": "试式", "频": "贫品", "资": "紫姿", "源": "元圆缘",
    "私": "丝思", "聊": "撩僚寥", "同": "童铜桐", "城": "成橙程", "美": "媚每", "女": "钕", "爽": "霜",
    "嫖": "瓢飘", "妓": "技伎", "奸": "尖坚", "乳": "辱汝", "胸": "凶兄", "舔": "添", "摸": "膜模",
    "费": "废沸", "钱": "前钳", "价": "架嫁", "按": "安案", "摩": "磨魔", "浴": "玉遇", "全": "泉",
    "套": "淘涛", "交": "胶娇", "爱": "艾碍", "做": "作坐", "床": "窗创", "处": "触", "欲": "玉域", "情": "晴请",
    "撸": "噜鲁", "飞": "非菲", "看": "砍侃", "播": "波拨", "福": "幅辐", "利": "力莉丽", "网": "往罔",
    "址": "止纸", "卡": "咔佧", "房": "防芳", "酒": "久玖", "店": "垫惦", "兼": "监坚", "职": "值植", "援": "园缘",
    "妻": "凄七", "寂": "迹记", "寞": "莫漠", "空": "控孔", "虚": "需须", "身": "深申", "体": "题提", "器": "气汽",
    "高": "搞糕", "潮": "巢朝", "慰": "尉喂", "口": "扣寇", "阴": "音因", "道": "到导", "茎": "经京", "屌": "吊",
    "干": "赣甘", "日": "囸", "嫩": "恁", "肉": "柔揉", "棒": "磅", "水": "谁", "湿": "诗狮", "硬": "映影",
    "夫": "肤敷", "妇": "富负", "熟": "孰", "少": "绍", "兽": "受瘦", "腿": "退",
    "手": "首守", "机": "鸡基", "想": "响享", "要": "耀药", "陪": "培赔", "玩": "完碗", "找": "照",
    "人": "仁", "妞": "扭纽", "娘": "酿", "楼": "搂喽", "凤": "奉缝",
}


def soundalike(text: str, rng: random.Random, *, points: int = 2, frac: float | None = None) -> str:
    """Characters replaced by homophones / near-homophones (微信 -> 薇芯, 约炮 -> 曰泡, 卖片 -> 麦偏)."""
    chars = list(text)
    pos = _pick_positions(text, rng, lambda i: text[i] in SOUNDALIKE, points, frac)
    spans = key_spans(text)
    for i in pos:
        chars[i] = rng.choice(SOUNDALIKE[text[i]])
        span = next(((s, e) for s, e in spans if s <= i < e), None)
        if frac is None and span and rng.random() < 0.3:  # sometimes the whole key word
            for j in range(*span):
                if j != i and text[j] in SOUNDALIKE:
                    chars[j] = rng.choice(SOUNDALIKE[text[j]])
    return "".join(chars)


# --------------------------------------------------------------------------- emoji
EMOJI_ZH = {
    "屁股": "🍑", "鸡巴": "🍆🐔", "阴茎": "🍆", "屌": "🍆", "射精": "💦", "射": "💦", "水": "💦", "奶子": "🍒🍈",
    "乳房": "🍒", "胸": "🍒🍈", "奶": "🍼🥛", "微信": "💚🟢", "加微": "➕💚", "电话": "📞☎️", "手机": "📱",
    "私聊": "💬", "聊": "💬", "钱": "💰💵", "元": "💰", "价格": "💰", "上门": "🏠🚪", "包夜": "🌙🌃", "夜": "🌙",
    "鸡": "🐔", "鸭": "🦆", "茶": "🍵", "喝茶": "🍵", "看片": "👀🎬", "片": "🎬📹", "视频": "📹🎥", "亲": "💋",
    "吻": "💋", "爱": "❤️", "床": "🛏️", "酒店": "🏨", "开房": "🏨🔑", "口": "👄", "舔": "👅", "火": "🔥",
    "美女": "👩💃", "妹子": "👧💃", "约": "📅", "炮": "💣🔫", "打炮": "🔫", "骚": "🔥", "色情": "🔞", "黄": "🔞💛",
    "做爱": "🔞", "性": "🔞", "花": "🌸", "猫": "🐱", "逼": "🐱🍑", "按摩": "💆", "足浴": "🦶", "洗澡": "🛁",
    "网址": "🔗🌐", "资源": "📦", "号": "#️⃣", "QQ": "🐧", "扣扣": "🐧",
}
EMOJI_EN = {
    "ass": "🍑", "butt": "🍑", "booty": "🍑", "peach": "🍑", "dick": "🍆", "cock": "🍆🐓", "penis": "🍆",
    "cum": "💦", "wet": "💦", "squirt": "💦", "boobs": "🍒🍈", "tits": "🍒", "pussy": "🐱🌮", "cat": "🐱",
    "hot": "🔥", "kiss": "💋", "kisses": "💋", "call": "📞☎️", "phone": "📱📞", "text": "💬📱", "txt": "💬",
    "chat": "💬", "roses": "🌹", "rose": "🌹", "donation": "🌹💵", "money": "💵💰", "cash": "💵", "incall": "🏠",
    "outcall": "🚗", "hour": "⏰🕐", "hr": "⏰", "bed": "🛏️", "sex": "🔞🍆", "xxx": "🔞", "adult": "🔞",
    "porn": "🔞🎬", "video": "📹🎬", "love": "❤️", "heart": "❤️", "girl": "👩💃", "girls": "👯", "sexy": "🔥💋",
    "lips": "👄", "tongue": "👅", "lick": "👅", "horny": "😈🔥", "naughty": "😈", "massage": "💆", "car": "🚗",
    "home": "🏠", "hotel": "🏨", "number": "#️⃣", "free": "🆓", "new": "🆕",
}
DECOR = ["🔥", "😍", "💕", "🌹", "👉", "❤️", "✨", "🌸", "⭐", "🎀"]  # neutral, as SEPARATORS
_EMOJI_ZH_RE = re.compile("|".join(map(re.escape, sorted(EMOJI_ZH, key=len, reverse=True))))
_EMOJI_EN_RE = re.compile(r"(?i)(?<![A-Za-z])(" + "|".join(map(re.escape, sorted(EMOJI_EN, key=len, reverse=True)))
                          + r")(?![A-Za-z])")


def emoji(text: str, rng: random.Random, *, points: int = 2, frac: float | None = None) -> str:
    """Emoji for words (🍑 🍆 💦 for sexual words, 📞 💬 💚 for contact, 🌹 for money, 🏠 for 上门);
    where no word has one, a decorative emoji is slipped in (as spam does)."""
    cands = [(m.span(), EMOJI_ZH[m.group()]) for m in _EMOJI_ZH_RE.finditer(text)]
    cands += [(m.span(), EMOJI_EN[m.group().lower()]) for m in _EMOJI_EN_RE.finditer(text)]
    cands.sort()
    if frac is not None:
        pick = _choose(rng, cands, max(1, round(frac * len(cands)))) if cands else []
    else:
        keyset = set(key_spans(text))
        keyed = [c for c in cands if c[0] in keyset]
        pick = _choose(rng, keyed, points)
        others = [c for c in cands if c not in pick]
        if len(pick) < points and others:
            pick += _choose(rng, others, points - len(pick))
    # drop overlaps
    pick.sort()
    kept: list = []
    for (s, e), em in pick:
        if not kept or s >= kept[-1][0][1]:
            kept.append(((s, e), em))
    if kept:
        out, prev = [], 0
        for (s, e), em in kept:
            out += [text[prev:s], rng.choice(_emoji_units(em))]
            prev = e
        return "".join(out) + text[prev:]
    if not text:
        return text
    g = rng.randint(0, len(text))
    return text[:g] + rng.choice(DECOR) + text[g:]


def _emoji_units(s: str) -> list[str]:
    """Split a string of emoji into single emoji (keeping variation selectors / keycaps attached)."""
    units: list[str] = []
    for ch in s:
        if units and (ch in "\ufe0f\u20e3" or unicodedata.category(ch) == "Mn"):
            units[-1] += ch
        else:
            units.append(ch)
    return units


# --------------------------------------------------------------------------- digits
#: Ten-character digit alphabets (index = value).
DIGIT_SCRIPTS = {
    "fullwidth": "０１２３４５６７８９",
    "circled": "⓪①②③④⑤⑥⑦⑧⑨",
    "neg_circled": "⓿❶❷❸❹❺❻❼❽❾",
    "paren": "０⑴⑵⑶⑷⑸⑹⑺⑻⑼",
    "full_stop": "０⒈⒉⒊⒋⒌⒍⒎⒏⒐",
    "han": "〇一二三四五六七八九",
    "han_zero": "零一二三四五六七八九",
    "financial": "零壹贰叁肆伍陆柒捌玖",
    "arabic_indic": "".join(chr(0x0660 + d) for d in range(10)),
    "persian": "".join(chr(0x06F0 + d) for d in range(10)),
    "devanagari": "".join(chr(0x0966 + d) for d in range(10)),
    "bengali": "".join(chr(0x09E6 + d) for d in range(10)),
    "thai": "".join(chr(0x0E50 + d) for d in range(10)),
    "math_bold": "".join(chr(0x1D7CE + d) for d in range(10)),
    "math_double": "".join(chr(0x1D7D8 + d) for d in range(10)),
    "math_sans": "".join(chr(0x1D7E2 + d) for d in range(10)),
    "math_mono": "".join(chr(0x1D7F6 + d) for d in range(10)),
    "superscript": "⁰¹²³⁴⁵⁶⁷⁸⁹",
    "subscript": "₀₁₂₃₄₅₆₇₈₉",
}


def digits(text: str, rng: random.Random, *, points: int = 2, frac: float | None = None) -> str:
    """ASCII digits of numbers (phones, QQ numbers, prices) in other scripts: fullwidth, circled,
    Chinese 一二三 / 壹贰叁, Arabic-Indic, Devanagari, math bold, superscripts... Non-digits untouched."""
    runs = [m.span() for m in re.finditer(r"[0-9]+", text)]
    if not runs:
        return text
    if frac is not None:
        pick = _choose(rng, runs, max(1, round(frac * len(runs))))
    else:  # longest numbers first (contact numbers), then the rest
        order = sorted(runs, key=lambda sp: (-(sp[1] - sp[0]), rng.random()))
        pick = order[:points]
    names = sorted(DIGIT_SCRIPTS)

    def make(num: str) -> str:
        if rng.random() < 0.7:
            script = DIGIT_SCRIPTS[rng.choice(names)]
            return "".join(script[int(d)] for d in num)
        return "".join(DIGIT_SCRIPTS[rng.choice(names)][int(d)] for d in num)

    return _replace_spans(text, pick, make)


# --------------------------------------------------------------------------- traditional
_S2T = None


def _s2t(text: str) -> str:
    global _S2T
    if _S2T is None:
        import opencc  # opencc-python-reimplemented: a general converter, not cleanclf's normaliser

        _S2T = opencc.OpenCC("s2t")
    return _S2T.convert(text)


def traditional(text: str, rng: random.Random, *, points: int | None = None, frac: float | None = 1.0) -> str:
    """Simplified -> traditional characters: the whole post by default (as spam is often posted),
    or ``points`` key-word characters / a ``frac`` of the characters that differ."""
    full = _s2t(text)
    if len(full) != len(text):
        return full
    diff = [i for i in range(len(text)) if full[i] != text[i]]
    if not diff:
        return text
    if points is not None:
        pos = _pick_positions(text, rng, lambda i: full[i] != text[i], points, None)
    elif frac is not None and frac < 1.0:
        pos = _choose(rng, diff, max(1, round(frac * len(diff))))
    else:
        return full
    chars = list(text)
    for i in pos:
        chars[i] = full[i]
    return "".join(chars)


# --------------------------------------------------------------------------- fullwidth
def fullwidth(text: str, rng: random.Random, *, points: int = 2, frac: float | None = None) -> str:
    """Full-width ASCII (ｗｘ, ｃａｌｌ ｍｅ, ＱＱ１２３) on ``points`` ASCII tokens (key words first) or a ``frac``."""
    toks = [m.span() for m in re.finditer(r"[!-~]+", text)]
    if not toks:
        return text
    if frac is not None:
        pick = _choose(rng, toks, max(1, round(frac * len(toks))))
    else:
        keyset = {sp for sp in key_spans(text)}
        keyed = [t for t in toks if any(t[0] <= s and e <= t[1] for s, e in keyset)]
        pick = _choose(rng, keyed, points)
        others = [t for t in toks if t not in pick]
        if len(pick) < points and others:
            pick += _choose(rng, others, points - len(pick))
    return _replace_spans(text, pick, lambda w: "".join(chr(ord(c) + 0xFEE0) for c in w))


# --------------------------------------------------------------------------- mixed
FAMILIES: dict[str, Callable[..., str]] = {
    "separator": separator, "zero_width": zero_width, "homoglyph": homoglyph, "leetspeak": leetspeak,
    "pinyin": pinyin, "soundalike": soundalike, "emoji": emoji, "digits": digits,
    "traditional": traditional, "fullwidth": fullwidth,
}
#: Order in which combined families are applied: word-level rewrites first, glyph-level, then insertions.
APPLY_ORDER = ["pinyin", "soundalike", "emoji", "traditional", "digits", "leetspeak", "homoglyph", "fullwidth",
               "separator", "zero_width"]


def combine(text: str, rng: random.Random, *, k: int | None = None,
            families: list[str] | None = None) -> tuple[str, list[str]]:
    """Apply ``k`` (default: 2 or 3, at random) families that each change the text; returns
    (text, names applied in order). Fewer only when fewer families can change this text."""
    k = k if k is not None else rng.choice([2, 2, 3])
    pool = list(families or FAMILIES)
    rng.shuffle(pool)
    chosen: list[str] = []
    for name in pool:  # keep families that change the clean text (checked on a throw-away rng)
        if len(chosen) == k:
            break
        probe = random.Random(rng.random())
        if FAMILIES[name](text, probe) != text:
            chosen.append(name)
    chosen.sort(key=APPLY_ORDER.index)
    out = text
    for name in chosen:
        out = FAMILIES[name](out, rng)
    return out, chosen


def mixed(text: str, rng: random.Random, **_: object) -> str:
    """2-3 families at once (see :func:`combine`)."""
    return combine(text, rng)[0]


ALL = dict(FAMILIES, mixed=mixed)


def disguise(text: str, family: str, seed: int | str, key: str = "") -> str:
    """``family`` applied with an rng seeded by (seed, family, key): stable per row, whatever the order."""
    return ALL[family](text, random.Random(f"{seed}:{family}:{key}"))
