"""Term lexicons: reading the shared lists, and a fast matcher that reports spans.

Lexicons are features, not verdicts (DATA.md: a lexicon matcher alone scores
F1 below 0.3 on real data). Terms are normalised with the same normaliser as
the posts, so disguised spellings of a listed term match too.

>>> from cleanclf.text.lexicon import TermMatcher
>>> m = TermMatcher({"demo": ["包夜", "上门"]})
>>> [(h.term, h.start, h.end) for h in m.find("可以包夜也可上门")]
[('包夜', 2, 4), ('上门', 6, 8)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..categories import EXPLICIT_TEXT, SOLICITATION
from ..errors import InputError, describe

# Which category each shared lexicon speaks for (by file-name prefix). The
# vulgar lists mix insults with sexual words; the model learns how much to
# trust each list, so they stay separate columns.
LEXICON_CATEGORY = {
    "porn_": EXPLICIT_TEXT,
    "literature_explicit_": EXPLICIT_TEXT,
    "vulgar_": EXPLICIT_TEXT,
    "solicitation_": SOLICITATION,
    "hookup_": SOLICITATION,
    # cleanclf's own slang lexicon (data/slang_zh.tsv); its context_* lists have no category
    "slang_explicit_": EXPLICIT_TEXT,
    "slang_solicit_": SOLICITATION,
}

# Signs that minors are involved. Written for this project from the issue's
# list and the spellings seen in tg-spam "student"/"loli" ads; terms only, no
# content. Matched on normalised text, so traditional / full-width / spaced
# forms are covered by the normaliser.
MINOR_TERMS = (
    "学生妹", "女学生", "小学生", "初中生", "高中生", "中学生", "初中妹", "高中妹", "学生党",
    "未成年", "幼女", "幼幼", "萝莉", "罗莉", "萝利", "小萝莉", "loli", "lolita", "幼齿",
    "童女", "少女援交", "援交妹", "处女学生", "校服妹", "小嫩妹", "雏妓",
    "schoolgirl", "school girl", "underage", "under age", "jailbait", "preteen", "pre-teen",
    "child porn", "kiddie", "lolicon",
)
# "14岁", "15 y/o", "16yo": ages under 18 written as numbers.
MINOR_AGE_RE = re.compile(
    r"(?<![0-9])(?:1[0-7]|[1-9])\s*(?:岁|周岁|yo\b|y/o|years?\s*old)", re.IGNORECASE
)


def list_category(name: str) -> str | None:
    """Category a lexicon list speaks for, by its name's prefix (:data:`LEXICON_CATEGORY`); None for context lists."""
    return next((c for p, c in LEXICON_CATEGORY.items() if str(name).startswith(p)), None)


@dataclass(frozen=True)
class Hit:
    """One lexicon match: the term, the lists it belongs to, and its span in the searched text."""

    term: str
    lists: tuple[str, ...]
    start: int
    end: int


def read_lexicon_file(path: str | Path) -> dict:
    """Read one shared lexicon file: ``{"terms", "regexes", "source", "licence"}``.

    ``#`` lines are the header (``# source: …``, ``# licence: …``). Lines with
    regular-expression syntax are kept apart: they are compiled, not matched
    literally.
    """
    path = Path(path)
    terms: list[str] = []
    regexes: list[str] = []
    meta = {"source": "", "licence": ""}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            _read_header(line, meta)
            continue
        if re.search(r"[\\\[\]().*+?{}|^$]", line) and len(line) > 1:
            rx = _js_regex(line)
            if rx is not None:
                if not _OFF_TOPIC.search(rx):
                    regexes.append(rx)
                continue
        terms.append(line)
    return {"terms": terms, "regexes": regexes, **meta}


def _read_header(line: str, meta: dict) -> None:
    """``# source: …`` / ``# licence: …`` header lines fill ``meta``; other comments are ignored."""
    body = line.lstrip("#").strip()
    for key in ("source", "licence"):
        if body.lower().startswith(key + ":"):
            meta[key] = body.split(":", 1)[1].strip()


# Regex lines of the X hook-up lists that target non-sexual spam (VPN nodes,
# crypto, engagement-bait praise, timestamps), plus "找搭子" (a buddy, a
# DATA.md hard negative) and "13." (an insult): reviewed by hand and left out
# so that a "solicitation" hit always means something sexual.
_OFF_TOPIC = re.compile(r"VPN|vpn|\[Vv\]\[Pp\]|节点|币圈|点赞|搭子|^13\.$|\\d\{4\}-|\[a-zA-Z\]\+\\s\*\\n")


def _js_regex(line: str) -> str | None:
    """Turn a list's regex line (``/body/flags`` JavaScript style or bare) into a Python pattern.

    Lookahead-only patterns (``(?=.*a)(?=.*b)``) mean "the text contains a and
    b"; they are anchored at the start so a search costs one pass, not one
    pass per position. Returns None for a line that does not compile.
    """
    body, flags = line, ""
    m = re.fullmatch(r"/(.*)/([a-z]*)", line, re.DOTALL)
    if m:
        body, flags = m.group(1), m.group(2)
    body = body.replace("\\/", "/")
    if body.startswith("(?="):
        body = "^" + body
    if "i" in flags:
        body = f"(?i:{body})"  # scoped flag: the lines are later joined into one alternation
    try:
        re.compile(body)
    except re.error:
        return None
    return body


def read_lexicon_dir(directory: str | Path) -> dict[str, dict]:
    """Read every ``*.txt`` lexicon in a directory, keyed by file stem, with its category."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(f"directory: {str(directory)!r} is not a directory of lexicon .txt files")
    out = {}
    for path in sorted(directory.glob("*.txt")):
        lex = read_lexicon_file(path)
        lex["category"] = list_category(path.stem)
        out[path.stem] = lex
    return out


SLANG_FILE = Path(__file__).resolve().parents[1] / "data" / "slang_zh.tsv"


def read_slang_lexicon(path: str | Path | None = None) -> dict[str, dict]:
    """cleanclf's own slang and context lexicon (CC0, ships with the package), by list.

    Rows are ``term <TAB> list <TAB> meaning``. ``slang_explicit_*`` lists speak for
    explicit_text and ``slang_solicit_*`` for solicitation; ``context_*`` lists hold
    words of ordinary ads, services and insults: no category, never evidence, they only
    let the model learn that a contact next to them is not solicitation. Returns the
    shape of :func:`read_lexicon_dir` plus ``meanings`` (term -> what it means here),
    which evidence shows to a reviewer.

    >>> lex = read_slang_lexicon()
    >>> lex["slang_solicit_hookup"]["category"], lex["context_nonsexual_ad"]["category"]
    ('solicitation', None)
    >>> lex["slang_explicit_material"]["meanings"]["原味"].split(" (")[0]
    'worn underwear sold as a fetish item'
    """
    path = Path(path) if path is not None else SLANG_FILE
    if not path.is_file():
        raise InputError(f"path: {str(path)!r} is not a slang lexicon file")
    meta = {"source": "", "licence": ""}
    out: dict[str, dict] = {}
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        if raw.startswith("#"):
            _read_header(raw, meta)
            continue
        parts = raw.split("\t")
        if len(parts) != 3 or not parts[0].strip() or not parts[1].strip():
            raise InputError(f"{path}: line {n}: expected 'term<TAB>list<TAB>meaning', got {raw!r}")
        term, name, meaning = (p.strip() for p in parts)
        entry = out.setdefault(name, {"terms": [], "regexes": [], "meanings": {}})
        entry["terms"].append(term)
        entry["meanings"][term] = meaning
    for name, entry in out.items():
        entry.update(meta)
        entry["category"] = list_category(name)
    return out


_ASCII_WORD = re.compile(r"[a-z0-9]")
_REGEX_SCAN_CHARS = 2000


class TermMatcher:
    """Finds the longest listed term at each position (non-overlapping, left to right).

    ``lists`` maps a list name to its terms; ``regexes`` maps a list name to
    regular-expression lines. Terms are matched as given, so normalise them
    when the text is normalised (the feature transformer does). Terms made of
    ASCII letters and digits only match whole words ("ass" not in "class").

    Matching uses an Aho-Corasick automaton (pyahocorasick): cost grows with
    the text, not with the number of terms, which keeps lexicon features off
    the critical path of batch scoring. The automaton is rebuilt after
    unpickling rather than stored.
    """

    def __init__(self, lists: dict[str, list[str]], regexes: dict[str, list[str]] | None = None):
        if not isinstance(lists, dict):
            raise InputError(f"lists: expected a dict of list name -> terms, got {describe(lists)}")
        self.lists = {str(k): [t for t in v if isinstance(t, str) and t] for k, v in lists.items()}
        self.regexes = {str(k): list(v) for k, v in (regexes or {}).items()}
        self.names = tuple(self.lists) + tuple(n for n in self.regexes if n not in self.lists)
        self._build()

    def _build(self) -> None:
        import ahocorasick

        owners: dict[str, list[str]] = {}
        for name, terms in self.lists.items():
            for t in terms:
                owners.setdefault(t, []).append(name)
        self._automaton = None
        if owners:
            automaton = ahocorasick.Automaton()
            for term, names in owners.items():
                word = term.isascii() and all(c.isalnum() for c in term.replace(" ", ""))
                automaton.add_word(term, (term, tuple(names), word))
            automaton.make_automaton()
            self._automaton = automaton
        # Each regex line searched on its own: sre's literal-prefix scan makes
        # that ~6x faster than one big alternation tried at every position.
        self._compiled = [(name, re.compile(rx)) for name, rxs in self.regexes.items() for rx in rxs]
        # Per regex, characters of which the text must hold one for it to match (None: no such
        # set known); a text without any of them skips the search, which cannot change its hits.
        self._needs = [_required_chars(rx) for _, rx in self._compiled]
        self._triggers = frozenset().union(*(n for n in self._needs if n is not None))
        # The same test inverted: per trigger character, the regexes it can wake up; a text
        # then visits only the regexes some character of it wakes (plus those without a set),
        # in list order, instead of testing every regex's set.
        self._always = tuple(i for i, n in enumerate(self._needs) if n is None)
        by_char: dict[str, list[int]] = {}
        for i, n in enumerate(self._needs):
            for ch in n or ():
                by_char.setdefault(ch, []).append(i)
        self._by_char = {ch: tuple(ix) for ch, ix in by_char.items()}

    def __getstate__(self):
        return {"lists": self.lists, "regexes": self.regexes, "names": self.names}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._build()

    def find(self, text: str) -> list[Hit]:
        hits: list[Hit] = []
        if self._automaton is not None and text:
            for end, (term, names, word) in self._automaton.iter_long(text):
                start = end - len(term) + 1
                if word and (
                    (start > 0 and _ASCII_WORD.match(text, start - 1))
                    or _ASCII_WORD.match(text, end + 1)
                ):
                    continue
                hits.append(Hit(term, names, start, end + 1))
        if self._compiled and text:
            # Some list regexes use lazy ".*?" between cues: bound the scanned
            # prefix so a hostile 2 MB post cannot make matching quadratic.
            head = text[:_REGEX_SCAN_CHARS]
            present = self._triggers.intersection(head)
            if not present:
                woken = self._always
            else:
                ix = set(self._always)
                for ch in present:
                    ix.update(self._by_char[ch])
                woken = sorted(ix)
            compiled = self._compiled
            for i in woken:
                name, rx = compiled[i]
                m = rx.search(head)
                if m is not None and m.end() > m.start():
                    hits.append(Hit(m.group(), (name,), m.start(), m.end()))
        return hits


def _required_chars(pattern: re.Pattern) -> frozenset | None:
    """A set of characters of which any string the pattern can match in holds at least one.

    Read off the parsed pattern: a literal, a small character class, a repeat of
    at least one, a group, a positive lookaround (the looked-at text is in the
    searched string too), the union over the branches of an alternation; of the
    items of a sequence, the smallest such set. None when nothing is certain
    (e.g. ``.*``, negated classes, case-insensitive letters), which means: always search.

    >>> sorted(_required_chars(re.compile("(?:同城|附近).*?上门")))
    ['上']
    >>> _required_chars(re.compile("a?b*")) is None
    True
    """
    try:
        from re import _parser as parser  # Python >= 3.11
        from re import _constants as c
    except ImportError:  # pragma: no cover - older Pythons
        try:
            import sre_parse as parser  # type: ignore[no-redef]
            import sre_constants as c  # type: ignore[no-redef]
        except ImportError:
            return None
    try:
        parsed = parser.parse(pattern.pattern, pattern.flags)
    except Exception:
        return None

    def usable(ch: str, icase: bool) -> bool:
        # Under IGNORECASE a letter also matches its other cases (and Unicode folds such as
        # "K" KELVIN SIGN for "k"): only caseless characters are certain.
        return not icase or (ch.lower() == ch and ch.upper() == ch and ch.casefold() == ch)

    def item(op, av, icase: bool):
        if op is c.LITERAL:
            ch = chr(av)
            return frozenset(ch) if usable(ch, icase) else None
        if op is c.IN:
            chars = set()
            for sub_op, sub_av in av:
                if sub_op is c.LITERAL:
                    chars.add(chr(sub_av))
                elif sub_op is c.RANGE and sub_av[1] - sub_av[0] < 64:
                    chars.update(chr(x) for x in range(sub_av[0], sub_av[1] + 1))
                else:
                    return None
            return frozenset(chars) if chars and all(usable(ch, icase) for ch in chars) else None
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
            lo, _hi, body = av
            return seq(body, icase) if lo >= 1 else None
        if op is c.SUBPATTERN:
            add_flags, del_flags = av[1], av[2]
            sub_icase = (icase or bool(add_flags & c.SRE_FLAG_IGNORECASE)) and not (del_flags & c.SRE_FLAG_IGNORECASE)
            return seq(av[-1], sub_icase)
        if op is getattr(c, "ATOMIC_GROUP", None):
            return seq(av, icase)
        if op is c.ASSERT:
            return seq(av[1], icase)
        if op is c.BRANCH:
            out = set()
            for branch in av[1]:
                need = seq(branch, icase)
                if need is None:
                    return None
                out |= need
            return frozenset(out)
        return None

    def seq(items, icase: bool):
        best = None
        for op, av in items:
            need = item(op, av, icase)
            if need is not None and (best is None or len(need) < len(best)):
                best = need
        return best

    try:
        return seq(parsed, bool(pattern.flags & re.IGNORECASE))
    except Exception:  # an unknown opcode layout: no gate rather than a wrong one
        return None


def find_minor_signals(text: str) -> list[tuple[str, int, int]]:
    """Signs of minors in (normalised) text: ``[(term, start, end), ...]``.

    >>> [t for t, _, _ in find_minor_signals("学生妹 包夜")]
    ['学生妹']
    """
    matcher = _minor_matcher()
    out = [(h.term, h.start, h.end) for h in matcher.find(text)]
    out += [(m.group(), m.start(), m.end()) for m in MINOR_AGE_RE.finditer(text)]
    return out


_MINOR = None


def _minor_matcher() -> TermMatcher:
    global _MINOR
    if _MINOR is None:
        _MINOR = TermMatcher({"minors": list(MINOR_TERMS)})
    return _MINOR
