"""Find contact handles (phone, QQ, WeChat, URL, Telegram, e-mail, @handle) and
contact *routes* ("看名字", "私我", "主页有") in disguised text.

Solicitation almost always carries a way to reach the seller, and the seller
disguises it: ``加-薇 abc123``, ``扣扣 1 2 3 4 5 6 7 8``, ``一三八...``,
``d9623点com``. The extractor reads the text through
:func:`cleanclf.text.normalize.normalize_with_offsets`, so the same regexes see
every disguise, and reports each contact with its span in the *original*
text (for evidence) and a canonical value (to group accounts by handle).

>>> from cleanclf.text.contacts import extract_contacts
>>> [(c.type, c.value, c.raw) for c in extract_contacts("加-薇 ABC123 或 扣扣 1234 5678")]
[('wechat', 'abc123', '薇 ABC123'), ('qq', '12345678', '扣扣 1234 5678')]

A bare number is reported only when it is a Chinese mobile number
(``1[3-9]`` + 9 digits); other numbers need a cue (QQ words before or after,
a WeChat cue), so prices, dates and order numbers stay out.

Two sets of formats. ``formats="model"`` (the default) is what the text model's
:class:`ContactFeatures` were fitted on and what :func:`cleanclf.compat.feature_fingerprint`
hashes: it must not change without retraining. ``formats="evidence"`` adds phone
numbers in common non-Chinese national formats (after a cue word such as "call" /
"text" / "tel" / "电话", North American with ``+1`` or a bracketed area code, a bare
10-digit North American number, UK mobiles, spelled-out digits); it feeds only what a
reviewer reads (evidence and the verdict's contact list), never a model feature.

>>> [(c.type, c.value) for c in extract_contacts("call 555-0100")]
[]
>>> [(c.type, c.value) for c in extract_contacts("call 555-0100", formats="evidence")]
[('phone', '5550100')]
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

from ..errors import InputError, InputTypeError, describe
from .normalize import as_texts, normalize, normalize_with_offsets

__all__ = ["Contact", "extract_contacts", "find_contact_spans", "find_evidence_phone_spans", "contacts_from_spans",
           "ContactFeatures", "CONTACT_TYPES", "CONTACT_FORMATS"]

#: Every value :attr:`Contact.type` can take.
CONTACT_TYPES = ("phone", "qq", "wechat", "url", "telegram", "email", "handle", "route")
#: Values of the ``formats`` argument: the model's formats, or those plus the evidence-only phone formats.
CONTACT_FORMATS = ("model", "evidence")


@dataclass(frozen=True)
class Contact:
    """One contact handle or route found in a text.

    ``start``/``end`` is the half-open span in the original text and ``raw`` the
    original substring there; ``value`` is canonical (digits only for phone and
    QQ, lower case for the rest) so that the same handle in different disguises
    compares equal.

    >>> extract_contacts("V: abc123")[0]
    Contact(type='wechat', value='abc123', start=0, end=9, raw='V: abc123')
    """

    type: str
    value: str
    start: int
    end: int
    raw: str


# Disguised dots in URLs: "点com", "。com", "dot com" (tg-spam, backpage).
_TLD = r"(?:com|cn|net|org|top|xyz|cc|me|vip|io|club|app|info|live|tv|site|online|shop|co|hk|tw|ru)"
# "dot" counts only as a word of its own: inside a label it made "dotdotdot..." split in
# exponentially many ways between labels and dots (a hang on 1,500 characters).
_DOT = r"(?:\.|。|点|(?<![a-z0-9])dot(?![a-z0-9])|\(dot\)|\[dot\])"
_ROUTE = (
    # Routes seen in tg-spam and listed in the brief: the contact is elsewhere.
    r"看[我姐妹她的拼主播个人]{0,4}(?:名字|昵称|主页|简介|头像|资料)|(?:点|戳)我?的?(?:头像|主页|名字)"
    r"|主页有|名字有|头像有|简介有|私我|私聊|私信我|滴滴我|dd我"
    # "加微信" / "加qq" with no handle after it: the handle is elsewhere.
    r"|加(?:微信|qq)(?![\s:=]{0,3}[a-z0-9])"
)


# ---------------------------------------------------------------------------
# Evidence-only phone formats. NOT model features: the fitted text model and the
# bundle's feature fingerprint know only _patterns(); these run after them and
# take only spans that no model contact overlaps, so the model's contacts stay
# exactly what they are.
# ---------------------------------------------------------------------------

# Words and symbols that announce a phone number (normalised text is lower case).
_PHONE_CUE = (r"(?:call|text|txt|tel|phone|ph|cell|mobile|mob|whatsapp|sms|ring|dial|contact|hotline|book|"
              r"☎|📞|📱|电话|手机|致电|来电|热线)")
_PHONE_CUE_NEEDS = "ctpwsrdbmh☎📞📱电手致来热"
_DIGIT_WORDS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
                "six": "6", "seven": "7", "eight": "8", "nine": "9"}
_DIGIT_TOKEN = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|\d{1,4})"
_DIGIT_WORD_RE = re.compile(r"zero|oh|one|two|three|four|five|six|seven|eight|nine")
# Right before a bare number: it is an order, an ID, a price or a count, not a phone.
_ID_CUE = re.compile(r"(?:order|invoice|ref|id|no|number|num|tracking|acct|account|code|订单|单号|编号|工号|"
                     r"学号|账号|卡号|身份证|[#№$¥€£])\W{0,3}$")
_COUNT = "0123456789"
_SPELLED = 47        # priority of the spelled-out digits rule
_BARE = (48, 52)     # bare national numbers (10-digit North American, UK mobile)
_BARE_NANP = 48
_DATE8 = re.compile(r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])|"
                    r"(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|[12]\d|3[01])(?:19|20)\d\d")
_UNIT_AFTER = re.compile(r"\s?(?:元|块|次|人|个|views?|times|people|likes|followers|usd|dollars|pcs)(?![a-z])")
# Every evidence-only phone has 7+ digits or a few spelled digit words: a text with neither skips them.
_DIGIT = re.compile(r"\d")
# A bare 10-digit number next to Chinese text is more often a QQ number ("染 29525 28774 乞鹅"):
# there it needs a cue.
_CJK_NEAR = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff]")


@lru_cache(maxsize=1)
def _evidence_patterns() -> list[tuple[str, int, re.Pattern, frozenset]]:
    """Like :func:`_patterns`, for the evidence-only phone formats. The normaliser has
    already joined "555-0100", "138 0000 0000", "5 5 5 0 1 0 0" into one digit run. The
    value is the national number: a country code stays outside the group, so
    "+1 555 010 0100" and "(555) 010-0100" compare equal."""
    specs = [
        # After a phone cue ("call 555-0100", "text me at ...", "tel:", "电话"): 7 to 12 digits
        # with an optional country code and bracketed area code (a Chinese mobile is the model's).
        ("phone", 56, rf"(?<![a-z]){_PHONE_CUE}(?:\s{{0,2}}(?:me|now|us))?(?:\s{{0,2}}(?:at|on))?[\s:#.=>-]{{0,3}}"
                      r"(?!\+?(?:86)?1[3-9]\d{9}(?!\d))(?:\+\d{1,3}\s?)?(?P<v>(?:\(\d{2,4}\)\s?)?\d{7,12})(?!\d)(?![.,:]\d)"),
        # North American with a country code ("+1 555 010 0100") or a bracketed area code.
        ("phone", 54, r"\+1\s?(?P<v>(?:\([2-9]\d{2}\)\s?|[2-9]\d{2})\d{7})(?!\d)"),
        ("phone", 53, r"(?<![\d)])(?P<v>\([2-9]\d{2}\)\s?\d{7})(?!\d)"),
        # A UK mobile ("07700 900123", "+44 7700 900123") and a bare 10-digit North American
        # number ("555 010 0100"); _keep_phone drops those right after an order / ID / price cue.
        ("phone", 52, r"(?<![\d#a-z_$¥€£.,/:])(?:\+44\s?(?:\(0\))?|\+?(?<!\d)0)(?P<v>7[1-9]\d{2}\s?\d{6})(?!\d)(?![.,:/]\d)"),
        ("phone", 48, r"(?<![\d#+a-z_$¥€£.,/:])(?P<v>[2-9]\d{9})(?!\d)(?![.,:/]\d)"),
        # Spelled-out digits ("five five five zero one zero zero", "five five five, zero one ..."),
        # maybe mixed with digit groups.
        ("phone", _SPELLED, rf"(?<![a-z0-9])(?P<v>{_DIGIT_TOKEN}(?:[\s,.-]{{1,2}}{_DIGIT_TOKEN}){{2,15}})(?![a-z0-9])"),
    ]
    needs = (_PHONE_CUE_NEEDS, "+", "(", "7", "23456789", "oei")  # every spelled digit word has o, e or i
    assert len(needs) == len(specs)
    return [(t, p, re.compile(rx), frozenset(n)) for (t, p, rx), n in zip(specs, needs)]


def _phone_digits(value: str) -> str:
    return _DIGIT_ONLY.sub("", _DIGIT_WORD_RE.sub(lambda m: _DIGIT_WORDS[m.group()], value))


def _keep_phone(priority: int, ntext: str, m: re.Match) -> bool:
    """Whether a candidate of an evidence-only phone rule is a phone number: 7 to 12 digits,
    not a date (an 8-digit YYYYMMDD / DDMMYYYY run: the normaliser joins "2026-12-07"), a
    bare or spelled number not right after an order / ID / price cue nor before a unit, a bare
    10-digit number not next to Chinese text, and spelled-out digits with at least three spelled
    words and not a plain count ("one two three ...")."""
    value = m.group("v")
    digits = _phone_digits(value)
    if not 7 <= len(digits) <= 12 or (len(digits) == 8 and _DATE8.fullmatch(digits)):
        return False
    if priority == _SPELLED:
        if len(_DIGIT_WORD_RE.findall(value)) < 3:
            return False
        if digits in _COUNT or digits in _COUNT[::-1]:
            return False
    if priority in _BARE or priority == _SPELLED:
        if _ID_CUE.search(ntext, max(0, m.start() - 16), m.start()):
            return False
        if _UNIT_AFTER.match(ntext, m.end()):
            return False
    if priority == _BARE_NANP and _CJK_NEAR.search(ntext, max(0, m.start() - 6), m.end() + 6):
        return False
    return True


def find_evidence_phone_spans(ntext: str, taken: list[tuple[int, int, str, str]] | None = None
                              ) -> list[tuple[int, int, str, str]]:
    """Phone numbers in the evidence-only formats, as :func:`find_contact_spans` spans that
    overlap none of ``taken`` (the model's contacts of the same ``ntext``) nor each other.

    >>> find_evidence_phone_spans(normalize("text me at (555) 010-0100"))
    [(0, 24, 'phone', '(555) 0100100')]
    >>> find_evidence_phone_spans(normalize("order #5550100100 on 2026-12-07"))
    []
    """
    if len(_DIGIT.findall(ntext)) < 7 and len(_DIGIT_WORD_RE.findall(ntext)) < 3:
        return []
    present = set(ntext)
    found: list[tuple[int, int, int, str, str]] = []
    for kind, priority, pattern, needs in _evidence_patterns():
        if needs.isdisjoint(present):
            continue
        for m in pattern.finditer(ntext):
            if _keep_phone(priority, ntext, m):
                found.append((priority, m.start(), m.end(), kind, m.group("v")))
    return _resolve(found, taken)


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[str, int, re.Pattern, frozenset]]:
    """(type, priority, pattern, needs) with the value in group ``v``; compiled on first use.

    A higher priority wins when two candidates overlap: a number after a QQ
    cue is QQ, not a phone; a t.me link is Telegram, not a generic URL.
    ``needs``: characters of which every match contains at least one (read off
    the pattern: its literal cue, or the first characters of its cue words), so
    a text without any of them skips the pattern without changing the result.
    """
    handle = r"[a-z][-_a-z0-9]{2,19}(?:\s\d{2,6}(?![\d]))?"
    specs = [
        ("email", 90, r"(?<![a-z0-9._%+-])(?P<v>[a-z0-9._%+-]{1,64}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})*\.[a-z]{2,12})(?![a-z0-9])"),
        ("telegram", 85, r"(?:https?://)?(?:t|telegram)\.me/(?P<v>\+?[a-z0-9_]{3,64})"),
        ("telegram", 80, r"(?<![a-z0-9])(?:tg|telegram|电报|飞机)\s{0,2}(?:号|搜|:)?\s{0,2}@?(?P<v>[a-z][a-z0-9_]{3,31})(?![a-z0-9_])"),
        # A bare domain starts only at the first label of a dotted chain (never right after
        # a disguised dot): otherwise every label of "a点a点a点..." is a start from which the
        # label repetition runs to the end and back, which is quadratic (6 s on 10k chars).
        ("url", 70, rf"(?P<v>(?:https?://|www\.)[a-z0-9\-._~/?#%&=+:@!$,;]+|(?<![a-z0-9@.-])(?<!点)(?<!。)(?<!\(dot\))(?<!\[dot\])[a-z0-9][a-z0-9-]{{0,62}}(?:{_DOT}[a-z0-9-]{{1,63}})*\s?{_DOT}\s?{_TLD}(?![a-z0-9])(?:/[a-z0-9\-._~/?#%&=+]*)?)"),
        # QQ: cue then number ("qq 12345678", "加qq:12345678"), or number then cue
        # ("12345678看qq", "12345678+qq" in tg-spam).
        ("qq", 60, r"qq\s{0,2}(?:号|号码)?\s{0,2}[:=]?\s{0,2}(?P<v>[1-9]\d{4,10})(?!\d)"),
        ("qq", 60, r"(?<!\d)(?P<v>[1-9]\d{4,10})\s{0,2}(?:看|加|\+)?\s{0,2}qq(?![a-z])"),
        # WeChat: cue then id or number ("微信 abc123", "微信:13800000000"), or a
        # code then cue ("kta679 卖片微信", "w2454601 卖片微信" in tg-spam).
        ("wechat", 60, rf"微信\s{{0,2}}(?:号|号码|id)?\s{{0,2}}[:=]?\s{{0,2}}(?P<v>{handle}|\d{{5,11}})(?![a-z0-9_-])"),
        ("wechat", 55, r"(?<![a-z0-9_@/.-])(?P<v>[a-z]{1,4}\d{3,10})(?=\s{0,2}(?:[^\sa-z0-9]{0,4})微信)"),
        ("phone", 50, r"(?<!\d)(?:\+?86)?(?P<v>1[3-9]\d{9})(?!\d)"),
        ("handle", 40, r"(?<![a-z0-9_.])@(?P<v>[a-z0-9_]{3,32})"),
        # Codes such as "kta677" right before a selling word ("eck596买片",
        # "kxc483盘片", "kta677☎☎来看" in tg-spam): the name to search for.
        ("handle", 45, r"(?<![a-z0-9_@/.-])(?P<v>[a-z]{2,4}\d{3,4})(?![a-z0-9])(?=[\s☎]{0,3}(?:卖片|买片|卖盘|盘片|盘盘|卖云|资源|来看|看片|日批))"),
        ("route", 30, rf"(?P<v>{_ROUTE})"),
    ]
    needs = {
        0: "@",                 # email
        1: "/",                 # t.me/...
        2: "t电飞",             # tg / telegram / 电报 / 飞机
        3: "./。点d",           # "https://", "www.", or a (disguised) dot: . 。 点 dot
        4: "q", 5: "q",         # qq
        6: "微", 7: "微",       # 微信
        8: "1",                 # 1[3-9] + 9 digits
        9: "@",                 # @handle
        10: "卖买盘资来看日",   # first characters of the selling words
        11: "看点戳主名头简私滴d加",  # first characters of the route cues
    }
    return [(t, p, re.compile(rx), frozenset(needs[i])) for i, (t, p, rx) in enumerate(specs)]


@lru_cache(maxsize=1)
def _triggers() -> frozenset:
    return frozenset().union(*(n for *_, n in _patterns()))


_DIGIT_ONLY = re.compile(r"\D+")
_URL_DOTS = re.compile(r"\s?(?:\(dot\)|\[dot\]|(?<![a-z0-9])dot(?![a-z0-9])|。|点)\s?")


def _canonical(kind: str, value: str) -> str:
    if kind == "phone":
        return _phone_digits(value)  # the same digits as before for every model phone (no digit words in them)
    if kind == "qq":
        return _DIGIT_ONLY.sub("", value)
    if kind == "wechat":
        return value.replace(" ", "")
    if kind == "url":
        return _URL_DOTS.sub(".", value).replace(" ", "")
    return value


def find_contact_spans(ntext: str, formats: str = "model") -> list[tuple[int, int, str, str]]:
    """Contacts in already-normalised text: ``[(start, end, type, raw value)]`` without overlaps.

    ``ntext`` must be ``normalize(text)``; spans are into it (map them back with
    :func:`contacts_from_spans`). The cheap half of :func:`extract_contacts`: types and
    counts without offset tracking. ``formats="model"`` finds what the text model's
    features were fitted on; ``"evidence"`` adds, after those, the evidence-only phone
    formats (:func:`find_evidence_phone_spans`).

    >>> find_contact_spans(normalize("加-薇 ABC123"))
    [(1, 10, 'wechat', 'abc123')]
    >>> find_contact_spans(normalize("call 555-0100"), formats="evidence")
    [(0, 12, 'phone', '5550100')]
    """
    if formats not in CONTACT_FORMATS:
        raise InputError(f"formats must be one of {list(CONTACT_FORMATS)}, got {describe(formats)}")
    spans = _model_spans(ntext)
    if formats == "evidence":
        spans = spans + find_evidence_phone_spans(ntext, spans)
    return spans


def _model_spans(ntext: str) -> list[tuple[int, int, str, str]]:
    found: list[tuple[int, int, int, str, str]] = []  # (priority, start, end, type, value)
    present = _triggers().intersection(ntext)  # one C-level pass instead of a regex scan per pattern
    for kind, priority, pattern, needs in _patterns():
        if needs.isdisjoint(present):
            continue
        for m in pattern.finditer(ntext):
            # The whole match is the evidence (cue included), the group the value.
            found.append((priority, m.start(), m.end(), kind, m.group("v")))
    return _resolve(found)


def _resolve(found: list[tuple[int, int, int, str, str]], taken: list[tuple[int, int, str, str]] | None = None
             ) -> list[tuple[int, int, str, str]]:
    """The candidates ``(priority, start, end, type, value)`` that win, as spans: highest
    priority first, then leftmost, then longest; none overlaps another nor ``taken``."""
    if not found:
        return []
    found.sort(key=lambda f: (-f[0], f[1], -(f[2] - f[1])))
    # Taken spans are disjoint: keep them sorted and test only the two neighbours
    # (a scan of all of them was quadratic on "加微信加微信..." with thousands of hits).
    pairs = sorted((s, e) for s, e, *_ in taken or ())
    starts: list[int] = [s for s, _ in pairs]
    ends: list[int] = [e for _, e in pairs]
    out: list[tuple[int, int, str, str]] = []
    for _priority, s, e, kind, value in found:
        k = bisect.bisect_right(starts, s)
        if (k > 0 and ends[k - 1] > s) or (k < len(starts) and starts[k] < e):
            continue
        starts.insert(k, s)
        ends.insert(k, e)
        out.append((s, e, kind, value))
    return out


def extract_contacts(text: str, formats: str = "model") -> list[Contact]:
    """Return the contacts in ``text``, ordered by position, without overlaps.

    Never raises on a ``str``; raises ``TypeError`` for anything else. ``formats``: see
    :func:`find_contact_spans` (``"evidence"`` adds common non-Chinese phone formats).

    >>> [(c.type, c.value) for c in extract_contacts("一三八 零零零零 零零零零, 看名字")]
    [('phone', '13800000000'), ('route', '看名字')]
    >>> extract_contacts("这份外卖68元,订单号 20190506")
    []
    """
    if not isinstance(text, str):
        raise InputTypeError(f"text must be a str, got {describe(text)}")
    if formats not in CONTACT_FORMATS:
        raise InputError(f"formats must be one of {list(CONTACT_FORMATS)}, got {describe(formats)}")
    if not text:
        return []
    # Find on the fast normalised text first (same text as the offset path, by the
    # normaliser's invariant); pay for offset tracking only when something was found.
    return contacts_from_spans(text, find_contact_spans(normalize(text), formats))


def contacts_from_spans(text: str, spans: list[tuple[int, int, str, str]], norm=None) -> list[Contact]:
    """:class:`Contact` objects (spans in the original ``text``, canonical values), ordered by
    position, from the spans :func:`find_contact_spans` gave on ``normalize(text)``; ``norm`` is
    ``normalize_with_offsets(text)`` when the caller already has it.

    >>> text = "加-薇 ABC123"
    >>> contacts_from_spans(text, find_contact_spans(normalize(text)))
    [Contact(type='wechat', value='abc123', start=2, end=10, raw='薇 ABC123')]
    """
    if not spans:
        return []
    if norm is None:
        norm = normalize_with_offsets(text)
    out: list[Contact] = []
    for s, e, kind, value in spans:
        os_, oe = norm.to_original(s, e)
        out.append(Contact(kind, _canonical(kind, value), os_, oe, text[os_:oe]))
    out.sort(key=lambda c: (c.start, c.end))
    return out


# ---------------------------------------------------------------------------
# scikit-learn transformer
# ---------------------------------------------------------------------------

_LONG_DIGITS = re.compile(r"\d+")


class ContactFeatures:
    """scikit-learn transformer: texts -> a few dense contact features per text.

    Columns (see :meth:`get_feature_names_out`): one ``has_<type>`` flag per
    contact type, ``n_contacts`` (log1p of the count), ``max_digit_run``
    (log1p of the longest run of digits in the normalised text, which catches
    numbers without a cue) and ``has_digit_run_5`` (a run of >= 5 digits).

    >>> import numpy as np
    >>> f = ContactFeatures().fit(["x"])
    >>> X = f.transform(["加薇 ABC123", "今天天气不错"])
    >>> X.shape, list(f.get_feature_names_out()[:3])
    ((2, 11), ['has_phone', 'has_qq', 'has_wechat'])
    >>> float(X[0, 2]), float(X[1, 2])
    (1.0, 0.0)
    """

    _TYPES = CONTACT_TYPES

    def __init__(self) -> None:
        pass

    # -- scikit-learn parameter protocol (no parameters) --
    def get_params(self, deep: bool = True) -> dict:
        return {}

    def set_params(self, **params) -> "ContactFeatures":
        if params:
            raise InputError(f"ContactFeatures takes no parameters, got {sorted(params)!r}")
        return self

    def __repr__(self) -> str:
        return "ContactFeatures()"

    def __sklearn_is_fitted__(self) -> bool:
        return True  # stateless

    def __sklearn_tags__(self):  # called by scikit-learn >= 1.6 only, so sklearn is already imported
        from sklearn.utils import InputTags, Tags, TargetTags, TransformerTags

        return Tags(
            estimator_type=None,
            target_tags=TargetTags(required=False),
            transformer_tags=TransformerTags(),
            requires_fit=False,
            input_tags=InputTags(one_d_array=True, two_d_array=False, string=True),
        )

    def fit(self, X: Iterable[str], y: object = None) -> "ContactFeatures":
        """Validate ``X`` (a 1-D iterable of str) and return ``self``."""
        as_texts(X)
        return self

    def get_feature_names_out(self, input_features: object = None):
        """Names of the output columns, as a NumPy array of str."""
        import numpy as np

        names = [f"has_{t}" for t in self._TYPES] + ["n_contacts", "max_digit_run", "has_digit_run_5"]
        return np.asarray(names, dtype=object)

    def transform(self, X: Iterable[str]):
        """One row of float features per text of ``X``."""
        texts = as_texts(X)
        # Idempotent: already-normalised input comes back unchanged.
        return self._transform_normalized([normalize(t) for t in texts])[0]

    def _transform_normalized(self, ntexts: list[str]):
        """``transform`` for texts that are already ``normalize(text)``; also returns each
        text's :func:`find_contact_spans` spans (the scorer reuses them for evidence)."""
        import numpy as np

        n_types = len(self._TYPES)
        index = {t: i for i, t in enumerate(self._TYPES)}
        out = np.zeros((len(ntexts), n_types + 3), dtype=np.float64)
        found = []
        for row, ntext in enumerate(ntexts):
            contacts = find_contact_spans(ntext)  # types and counts only: no offset tracking
            found.append(contacts)
            for c in contacts:
                out[row, index[c[2]]] = 1.0
            out[row, n_types] = math.log1p(len(contacts))
            runs = _LONG_DIGITS.findall(ntext)
            longest = max((len(r) for r in runs), default=0)
            out[row, n_types + 1] = math.log1p(longest)
            out[row, n_types + 2] = 1.0 if longest >= 5 else 0.0
        return out, found

    def fit_transform(self, X: Iterable[str], y: object = None):
        return self.fit(X, y).transform(X)
