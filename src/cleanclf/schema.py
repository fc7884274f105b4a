"""Input records: the ``Account`` / ``Post`` dataclasses, validation, and streaming readers.

An input account record (one JSON object per line, or a group of table rows)::

    {"account_id": "u1", "profile": {"nickname": "...", "bio": "..."},
     "posts": [{"id": "p1", "text": "...", "images": ["a/b.jpg"], "created_at": "..."}]}

>>> from cleanclf.schema import parse_record
>>> acc = parse_record('{"account_id": 7, "posts": [{"id": "p1", "text": "hello"}]}')
>>> acc.account_id, acc.posts[0].text
('7', 'hello')
>>> parse_record('{"posts": []}', line_no=3)
Traceback (most recent call last):
...
cleanclf.errors.RecordError: line 3: account_id: missing; expected a non-empty string

Validation decisions (documented contract, tested in ``tests/test_schema.py``):

* ``account_id``: required; a non-empty ``str``, or an ``int`` (not ``bool``) which is
  converted with ``str()`` because numeric ids are common in database dumps and CSV.
  Anything else is a :class:`~cleanclf.errors.RecordError`.
* ``profile``: optional object; ``nickname``/``bio`` optional strings (``null`` = empty).
* ``posts``: optional list (missing/``null`` = no posts; a profile alone is still an account).
* post ``id``: string or int; missing means the post's position (``"0"``, ``"1"``...) so
  evidence can still point at it.
* post ``text``: string; missing or ``null`` = no text; any other type is an error for the
  whole record (a number where text belongs means the dump is not what it claims to be).
  Long texts are kept whole: the text model truncates and reports ``truncated``.
* ``images``: list of strings (missing/``null`` = none); in tables also a JSON list or a
  ``;``-separated string.
* Lone surrogates (``"\\ud800"`` in JSON) cannot be written as UTF-8: in texts they are
  replaced by U+FFFD (the rest of the text still counts); in ids they are an error.
* JSON nested too deeply to parse, records over :data:`MAX_RECORD_BYTES`, invalid UTF-8
  and bad JSON are errors for that record (with its line number), never an exception
  out of a reader.

Readers (:func:`iter_records`) stream JSONL (``.jsonl``, ``.jsonl.gz``, ``-`` = stdin),
CSV and Parquet. Tables hold one post per row (columns ``account_id, post_id, text,
images, created_at, nickname, bio``); **rows of one account must be contiguous** (sort
or group the table by ``account_id``): consecutive rows with the same id form one
record. An id that reappears after other accounts yields an *error* record for the
repeated rows (scoring half an account would give a wrong verdict); the rows are not
silently merged or dropped.
"""

from __future__ import annotations

import csv
import difflib
import functools
import gzip
import hashlib
import io
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterable, Iterator, NamedTuple

from .errors import InputError, RecordError, describe

#: Records (JSON lines) longer than this are rejected without being parsed, so one
#: runaway line cannot exhaust memory. 64 MiB leaves room for a few 2 MB posts.
MAX_RECORD_BYTES = 64 << 20

#: Formats :func:`iter_records` understands, keyed by file-name suffix.
FORMATS = {".jsonl": "jsonl", ".jsonl.gz": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}

TABLE_COLUMNS = ("account_id", "post_id", "text", "images", "created_at", "nickname", "bio")

#: Fields of an account record, of its ``profile`` object and of each post object (JSONL / nested).
ACCOUNT_FIELDS = ("account_id", "profile", "posts")
PROFILE_FIELDS = ("nickname", "bio")
POST_FIELDS = ("id", "text", "images", "created_at")

#: Aliases that are *accepted* (read as the named field), only when the field itself is absent.
#: Deliberately few: each is unambiguous where it is accepted. ``post_id`` inside a post object
#: is its id; an ``id`` column of a one-post-per-row table is the post's id (the account's id must
#: be in ``account_id``). Anything else is an unknown field (a warning naming a suggestion).
POST_ALIASES = {"post_id": "id"}
TABLE_ALIASES = {"id": "post_id"}

#: Codes that start every warning string (``"[code] ..."``): what a run counts.
WARNING_CODES = {
    "unknown_field": "a top-level field of an account record that cleanclf does not read",
    "unknown_profile_field": "a field of the profile object that cleanclf does not read",
    "unknown_post_field": "a field of a post object that cleanclf does not read",
    "unknown_column": "a table column (CSV, Parquet, Spark) that cleanclf does not read",
}

_TEXT = ("content", "contents", "message", "messages", "msg", "body", "caption", "post_text", "text_content",
         "status", "tweet", "weibo", "txt", "comment", "description")
_IMAGES = ("image", "img", "imgs", "pic", "pics", "picture", "pictures", "photo", "photos", "image_paths",
           "image_urls", "images_paths", "media", "attachments", "image_list")
_CREATED = ("time", "date", "datetime", "timestamp", "ts", "created", "createdat", "create_time", "created_time",
            "posted_at", "post_time", "published_at", "publish_time", "pub_time")
_NICK = ("name", "nick", "nick_name", "username", "user_name", "screen_name", "display_name")
_BIO = ("desc", "signature", "sign", "intro", "introduction", "about", "profile_text", "self_intro", "summary")
_ACCOUNT = ("user_id", "userid", "uid", "user", "account", "accountid", "account_name", "author", "author_id")
_POST_ID = ("pid", "postid", "post_key", "mid", "status_id", "tweet_id", "weibo_id")

# Names that are NOT accepted but are common mistakes, per context: the field a warning suggests.
_HINTS = {
    "account": {**{k: "account_id" for k in (*_ACCOUNT, "id")}, "post": "posts", "post_list": "posts",
                "items": "posts", "feed": "posts", "statuses": "posts", "tweets": "posts", "user_profile": "profile",
                "userinfo": "profile", "user_info": "profile", "nickname": "profile.nickname", "bio": "profile.bio",
                **{k: "profile.nickname" for k in _NICK}, **{k: "profile.bio" for k in _BIO},
                "text": "posts[].text", "images": "posts[].images"},
    "profile": {**{k: "nickname" for k in _NICK}, **{k: "bio" for k in (*_BIO, "description", "bio_text")}},
    "post": {**{k: "text" for k in _TEXT}, **{k: "images" for k in _IMAGES}, **{k: "created_at" for k in _CREATED},
             **{k: "id" for k in _POST_ID}},
    "table": {**{k: "text" for k in (*_TEXT, "post")}, **{k: "images" for k in _IMAGES},
              **{k: "created_at" for k in _CREATED}, **{k: "post_id" for k in _POST_ID},
              **{k: "account_id" for k in _ACCOUNT}, **{k: "nickname" for k in _NICK},
              **{k: "bio" for k in _BIO}},
}
_KNOWN = {"account": ACCOUNT_FIELDS, "profile": PROFILE_FIELDS, "post": POST_FIELDS, "table": TABLE_COLUMNS}
_ACCOUNT_SET = frozenset(ACCOUNT_FIELDS)
_PROFILE_SET = frozenset(PROFILE_FIELDS)
_POST_SET = frozenset(POST_FIELDS)

# Names that can only mean content cleanclf scores (post text, images, the posts list). When the
# field itself is absent and one of these holds a value, the record is an error row even without
# strict: reading it as "no text" / "no posts" would give a clean verdict for content never seen.
# Weaker look-alikes (status, comment, description, media...) stay warnings with a suggestion.
_CONTENT_ALIASES = {
    "text": frozenset({"text", "content", "contents", "message", "messages", "msg", "body", "caption",
                       "post_text", "text_content", "txt", "tweet", "weibo"}),
    "images": frozenset({"images", "image", "img", "imgs", "pic", "pics", "picture", "pictures", "photo", "photos",
                         "image_paths", "image_urls", "images_paths", "image_list"}),
    "posts": frozenset({"posts", "post", "post_list", "items", "feed", "statuses", "tweets"}),
}


def _norm(name: Any) -> str:
    return str(name).strip().lower().replace("-", "_").replace(" ", "_")


def _lost_content(d: dict, canon: str, where: str, line_no, aid, context: str = "field") -> None:
    """Raise when ``d`` has no ``canon`` field but holds content under a name that can only mean it."""
    if d.get(canon) not in (None, "", []):
        return
    for k, v in d.items():
        if k != canon and v not in (None, "", [], {}) and _norm(k) in _CONTENT_ALIASES[canon]:
            have = "is empty" if canon in d else "is missing"
            raise record_error(line_no, f"{where}{_show(k)}: unknown {context}; did you mean {canon}? ({canon} {have} "
                               f"and {_show(k)} holds a {type(v).__name__}: rename it to {canon}; not scored, "
                               "as a verdict without that content would look clean)", aid)


def suggest_field(name: Any, context: str) -> str | None:
    """The field an unknown ``name`` probably meant in ``context`` (``"account"``, ``"profile"``,
    ``"post"`` or ``"table"``), or ``None``: a hand-written map of common names first
    (``content`` -> ``text``), then a case-insensitive close match over the known names.

    >>> suggest_field("content", "post"), suggest_field("post", "account"), suggest_field("Text", "table")
    ('text', 'posts', 'text')
    >>> suggest_field("crawl_batch", "post") is None
    True
    """
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    hints, known = _HINTS[context], _KNOWN[context]
    if key in known:
        return key
    if key in hints:
        return hints[key]
    match = difflib.get_close_matches(key, [*known, *hints], n=1, cutoff=0.8)
    if not match:
        return None
    return match[0] if match[0] in known else hints[match[0]]


def _field_warning(code: str, name: Any, what: str, context: str, extra: str = "") -> tuple[str, str, str]:
    # (code, body, what happened to the value): joined by _warning_text / _strict_error
    hint = suggest_field(name, context)
    body = f"{_show(name)}: unknown {what}{extra}" + (f"; did you mean {hint}?" if hint else "")
    return code, body, "its value was not read" if context != "table" else "its values were not read"


def _show(name: Any) -> str:
    s = str(name)
    if len(s) > 60:
        s = s[:57] + "..."
    return s if s.isprintable() and s.strip() == s and s else repr(s)


def _warning_text(w: tuple[str, str, str]) -> str:
    return f"[{w[0]}] {w[1]} ({w[2]})"


def _strict_error(w: tuple[str, str, str], line_no, account_id) -> RecordError:
    return record_error(line_no, f"[{w[0]}] {w[1]}; rejected in strict mode (the record is not scored)", account_id)


_SURROGATE = re.compile("[\ud800-\udfff]")
# JSON can only produce a surrogate through a \uD800-\uDFFF escape: if the raw line has
# none, no string in it needs the (comparatively slow) check.
_SURROGATE_ESCAPE = re.compile(r"\\[uU][dD][89a-fA-F]")
_SURROGATE_ESCAPE_B = re.compile(rb"\\[uU][dD][89a-fA-F]")


@dataclass
class Post:
    """One post of an account.

    >>> Post(id="p1", text="hi").images
    []
    """

    id: str
    text: str = ""
    images: list[str] = field(default_factory=list)
    created_at: str | None = None


@dataclass
class Account:
    """One account: its profile (nickname, bio) and its posts.

    >>> a = Account("u1", {"nickname": "小王", "bio": ""}, [Post("p1", "你好")])
    >>> a.profile_text()
    '小王'
    """

    account_id: str
    profile: dict[str, str] = field(default_factory=lambda: {"nickname": "", "bio": ""})
    posts: list[Post] = field(default_factory=list)
    #: Human-readable warnings about this record's input (unknown fields/columns), each starting
    #: with a ``[code]`` (see :data:`WARNING_CODES`); not part of equality.
    warnings: list[str] = field(default_factory=list, compare=False)

    def profile_text(self) -> str:
        """Nickname and bio joined by a newline (the text scored for the profile)."""
        nick = self.profile.get("nickname") or ""
        bio = self.profile.get("bio") or ""
        return f"{nick}\n{bio}" if nick and bio else (nick or bio)

    def profile_offsets(self) -> dict[str, int]:
        """Where each profile field starts inside :meth:`profile_text` (to map spans back)."""
        nick = self.profile.get("nickname") or ""
        bio = self.profile.get("bio") or ""
        return {"nickname": 0, "bio": len(nick) + 1 if nick and bio else 0}


class Item(NamedTuple):
    """What readers yield: the record's first line (1-based; row for Parquet) and its payload.

    ``payload`` is raw bytes (a JSON line), a dict (a grouped table record), or a
    :class:`~cleanclf.errors.RecordError` the reader already found (bad row, repeat).
    """

    line: int | None
    payload: Any


# ---------------------------------------------------------------------------- validation
def record_error(line_no: int | None, msg: str, account_id: str | None = None) -> RecordError:
    """The :class:`~cleanclf.errors.RecordError` for a bad record: ``"line N: msg"``, with the
    ``account_id`` attribute set (best effort) so the error verdict still names the account.

    Returned, not raised, so readers can yield it as an :class:`Item` payload.

    >>> e = record_error(3, "account_id: missing", "u1")
    >>> str(e), e.account_id
    ('line 3: account_id: missing', 'u1')
    """
    exc = RecordError(f"line {line_no}: {msg}" if line_no is not None else msg)
    exc.account_id = account_id  # best effort, so the error row still names the account
    return exc


def _clean_text(s: str, check: bool = True) -> str:
    if not check:
        return s
    # Fast path: almost every string encodes; only lone surrogates make it fail.
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", s)


def oversized_record_error(line_no: int | None) -> RecordError:
    """The error record of a line over :data:`MAX_RECORD_BYTES`, which readers skip unparsed
    (the JSONL reader here and the Spark path use this one message).

    >>> str(oversized_record_error(7)).endswith("bytes (MAX_RECORD_BYTES); skipped")
    True
    """
    return record_error(line_no, f"record longer than {MAX_RECORD_BYTES} bytes (MAX_RECORD_BYTES); skipped")


def _missing_id(line_no: int | None, fields: Any = ()) -> RecordError:
    # names a field that looks like the id (user_id, uid...): it is not read as one
    like = next((k for k in fields if k != "account_id" and suggest_field(k, "account") == "account_id"), None)
    hint = f" ({_show(like)} is not read as the account id: rename it to account_id)" if like is not None else ""
    return record_error(line_no, f"account_id: missing; expected a non-empty string{hint}")


def _opt_str(value: Any, where: str, line_no, account_id, check: bool = True) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return _clean_text(value, check)
    raise record_error(line_no, f"{where}: expected a string or null, got {describe(value)}", account_id)


def _id(value: Any, where: str, line_no, account_id=None) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise record_error(line_no, f"{where}: expected a non-empty string (or integer), got {describe(value)}", account_id)
    try:
        s = str(value)
    except ValueError:  # an integer id past Python's int-string conversion limit
        raise record_error(line_no, f"{where}: integer id too large; expected a string or an integer of at most 4300 digits",
                    account_id) from None
    if not s:
        raise record_error(line_no, f"{where}: expected a non-empty string, got ''", account_id)
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise record_error(line_no, f"{where}: {describe(s)} contains a lone surrogate; expected valid Unicode", account_id) from None
    return s


def _images(value: Any, where: str, line_no, account_id) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):  # table cell: JSON list or ';'-separated
        v = value.strip()
        if not v:
            return []
        if v.startswith("["):
            try:
                value = json.loads(v)
            except (json.JSONDecodeError, RecursionError):
                raise record_error(line_no, f"{where}: {describe(value)} starts like a JSON list but does not parse", account_id) from None
        else:
            return [p.strip() for p in v.split(";") if p.strip()]
    if not isinstance(value, (list, tuple)):
        raise record_error(line_no, f"{where}: expected a list of path strings, got {describe(value)}", account_id)
    out = []
    for i, p in enumerate(value):
        if not isinstance(p, str):
            raise record_error(line_no, f"{where}[{i}]: expected a path string, got {describe(p)}", account_id)
        out.append(_clean_text(p))
    return out


def _created(value: Any, where: str, line_no, account_id) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # epoch seconds are common; kept verbatim, never interpreted
    if hasattr(value, "isoformat"):  # Parquet timestamps arrive as datetime
        return value.isoformat()
    raise record_error(line_no, f"{where}: expected a string, number or null, got {describe(value)}", account_id)


_CJK = re.compile("[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


def encoding_hint(raw: bytes) -> str:
    """What to tell the user about bytes that are not UTF-8: GB18030 (GBK's superset) when they
    decode as GB18030 into Chinese text, else a generic conversion hint.

    >>> encoding_hint("色情".encode("gbk"))
    '; the file looks like GBK/GB18030: convert it with iconv -f GB18030 -t UTF-8'
    >>> encoding_hint(b"caf\\xe9 au lait")
    '; cleanclf reads UTF-8 only: convert the file to UTF-8 (e.g. iconv -f <its encoding> -t UTF-8)'
    """
    raw = bytes(raw)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "; the file looks like UTF-16: convert it with iconv -f UTF-16 -t UTF-8"
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        text = ""
    if _CJK.search(text):
        return "; the file looks like GBK/GB18030: convert it with iconv -f GB18030 -t UTF-8"
    return "; cleanclf reads UTF-8 only: convert the file to UTF-8 (e.g. iconv -f <its encoding> -t UTF-8)"


def decode_line(raw: bytes | str, line_no: int | None = None) -> Any:
    """Decode one JSON line into a Python object, raising :class:`RecordError` with the line number.

    >>> decode_line(b'{"a": 1}')
    {'a': 1}
    >>> decode_line(b'\\xff{}', line_no=5)
    Traceback (most recent call last):
    ...
    cleanclf.errors.RecordError: line 5: not valid UTF-8 (byte 0xff at offset 0); cleanclf reads UTF-8 only: convert the file to UTF-8 (e.g. iconv -f <its encoding> -t UTF-8)
    """
    if isinstance(raw, (bytes, bytearray, memoryview)):
        raw = bytes(raw)
        if len(raw) > MAX_RECORD_BYTES:
            raise record_error(line_no, f"record is {len(raw)} bytes; expected at most {MAX_RECORD_BYTES} (MAX_RECORD_BYTES)")
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise record_error(line_no, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
                               f"{encoding_hint(raw)}") from None
    if raw.startswith("\ufeff"):
        raw = raw[1:]
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise record_error(line_no, f"not valid JSON: {exc.msg.removesuffix(' at')} (column {exc.colno})", _salvage_id(raw)) from None
    except RecursionError:
        raise record_error(line_no, "JSON nested too deeply to parse; expected an account object", _salvage_id(raw)) from None
    except ValueError as exc:
        # e.g. an integer literal past Python's int-string conversion limit (4300 digits)
        raise record_error(line_no, f"not valid JSON for an account record: {exc}", _salvage_id(raw)) from None


_ID_RX = re.compile(r'"account_id"\s*:\s*(?:"((?:[^"\\]|\\.){1,200})"|(\d{1,30}))')


def _salvage_id(raw: str) -> str | None:
    # A broken line still usually starts with its id; naming it in the error row tells
    # the reviewer which account to re-export. Best effort, never trusted for scoring.
    m = _ID_RX.search(raw[:2000])
    if not m:
        return None
    if m.group(2):
        return m.group(2)
    try:
        return json.loads(f'"{m.group(1)}"')
    except json.JSONDecodeError:
        return None


def parse_record(obj: Any, line_no: int | None = None, *, strict: bool = False) -> Account:
    """Validate one input record (dict, JSON text/bytes, or :class:`Account`) into an :class:`Account`.

    Raises :class:`~cleanclf.errors.RecordError` naming the field, the value and what
    was expected; the exception carries ``account_id`` when it was readable.

    Fields cleanclf does not read (top level, ``profile``, posts; table columns for a record
    from :func:`iter_records`) are never dropped in silence: each becomes one string in
    ``Account.warnings``, ``"[code] name: unknown ... field; did you mean ...? (its value was
    not read)"`` (codes in :data:`WARNING_CODES`). With ``strict=True`` the first warning is a
    :class:`~cleanclf.errors.RecordError` instead (an error row).

    >>> parse_record({"account_id": "u1", "posts": [{"text": None, "images": "a.png;b.png"}]}).posts[0]
    Post(id='0', text='', images=['a.png', 'b.png'], created_at=None)
    >>> parse_record({"account_id": "u1", "posts": [{"text": 5}]})
    Traceback (most recent call last):
    ...
    cleanclf.errors.RecordError: posts[0].text: expected a string or null, got 5 (int)
    >>> parse_record({"account_id": "u1", "posts": [{"text": "hi", "pid": "p1"}]}).warnings
    ['[unknown_post_field] pid: unknown post field; did you mean id? (its value was not read)']
    >>> parse_record({"account_id": "u1", "posts": [{"text": "hi", "pid": "p1"}]}, line_no=4, strict=True)
    Traceback (most recent call last):
    ...
    cleanclf.errors.RecordError: line 4: [unknown_post_field] pid: unknown post field; did you mean id?; rejected in strict mode (the record is not scored)

    A post whose text (or images, or an account whose posts) sits under a name that can only
    mean it is an error row even without ``strict``: scoring it as empty would hide the content.

    >>> parse_record({"account_id": "u1", "posts": [{"content": "hi"}]}, line_no=2)
    Traceback (most recent call last):
    ...
    cleanclf.errors.RecordError: line 2: posts[0].content: unknown post field; did you mean text? (text is missing and content holds a str: rename it to text; not scored, as a verdict without that content would look clean)
    """
    if isinstance(obj, Account):
        if strict and obj.warnings:
            raise record_error(line_no, f"{obj.warnings[0]}; rejected in strict mode (the record is not scored)",
                               obj.account_id)
        return obj
    check = True
    if isinstance(obj, (bytes, bytearray, memoryview, str)):
        raw = obj
        obj = decode_line(raw, line_no)
        rx = _SURROGATE_ESCAPE if isinstance(raw, str) else _SURROGATE_ESCAPE_B
        check = rx.search(raw if isinstance(raw, str) else bytes(raw)) is not None
    if not isinstance(obj, dict):
        raise record_error(line_no, f"expected a JSON object (an account record), got {describe(obj)}")
    if "account_id" not in obj or obj["account_id"] is None:
        raise _missing_id(line_no, obj)
    aid = _id(obj["account_id"], "account_id", line_no)
    # (code, body, fate) of each unknown field, in order of first appearance
    warns: list[tuple[str, str, str]] = list(getattr(obj, "column_warnings", ()))
    if not obj.keys() <= _ACCOUNT_SET:
        warns.extend(_field_warning("unknown_field", k, "account field", "account")
                     for k in obj if k not in _ACCOUNT_SET)
    profile = obj.get("profile")
    if profile is None:
        profile = {}
    if not isinstance(profile, dict):
        raise record_error(line_no, f"profile: expected an object with nickname/bio, got {describe(profile)}", aid)
    if not profile.keys() <= _PROFILE_SET:
        warns.extend(_field_warning("unknown_profile_field", k, "profile field", "profile")
                     for k in profile if k not in _PROFILE_SET)
    prof = {
        "nickname": _opt_str(profile.get("nickname"), "profile.nickname", line_no, aid),
        "bio": _opt_str(profile.get("bio"), "profile.bio", line_no, aid),
    }
    _lost_content(obj, "posts", "", line_no, aid, "account field")
    raw_posts = obj.get("posts")
    if raw_posts is None:
        raw_posts = []
    if not isinstance(raw_posts, list):
        raise record_error(line_no, f"posts: expected a list of post objects, got {describe(raw_posts)}", aid)
    posts = []
    unknown: dict[Any, int] = {}  # unknown post field -> number of posts that have it
    for i, p in enumerate(raw_posts):
        where = f"posts[{i}]"
        if not isinstance(p, dict):
            raise record_error(line_no, f"{where}: expected a post object, got {describe(p)}", aid)
        if "id" in p:
            pid, id_where = p["id"], f"{where}.id"
        else:  # the accepted alias (POST_ALIASES)
            pid, id_where = p.get("post_id"), f"{where}.post_id"
        if not p.keys() <= _POST_SET:
            _lost_content(p, "text", f"{where}.", line_no, aid, "post field")
            _lost_content(p, "images", f"{where}.", line_no, aid, "post field")
            for k in p:
                if k not in _POST_SET and not (k == "post_id" and "id" not in p):
                    unknown[k] = unknown.get(k, 0) + 1
        pid = str(i) if pid is None else _id(pid, id_where, line_no, aid)
        posts.append(Post(
            id=pid,
            text=_opt_str(p.get("text"), f"{where}.text", line_no, aid, check),
            images=_images(p.get("images"), f"{where}.images", line_no, aid),
            created_at=_created(p.get("created_at"), f"{where}.created_at", line_no, aid),
        ))
    for k, n in unknown.items():
        extra = f" (in {n} of {len(raw_posts)} posts)" if len(raw_posts) > 1 else ""
        if k == "post_id":
            warns.append(("unknown_post_field", f"post_id: unknown post field next to id{extra}; post_id is read "
                          "as the post id only when id is absent", "its value was not read"))
        else:
            warns.append(_field_warning("unknown_post_field", k, "post field", "post", extra))
    if warns and strict:
        raise _strict_error(warns[0], line_no, aid)
    return Account(aid, prof, posts, [_warning_text(w) for w in warns])


# ---------------------------------------------------------------------------- readers
def detect_format(path: str | os.PathLike) -> str:
    """Map a path (or ``-``) to ``jsonl``/``csv``/``parquet``; raises ``InputError`` otherwise.

    >>> detect_format("dump.jsonl.gz"), detect_format("-"), detect_format("t.parquet")
    ('jsonl', 'jsonl', 'parquet')
    """
    name = str(path).lower()
    if name == "-":
        return "jsonl"
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return FORMATS[suffix]
    raise InputError(f"input: {str(path)!r} has an unknown extension; expected one of "
                     f"{', '.join(sorted(FORMATS))} or '-' for stdin")


def iter_records(source: str | os.PathLike | IO[bytes], fmt: str | None = None, *,
                 strict: bool = False) -> Iterator[Item]:
    """Stream input records as :class:`Item` ``(line, payload)``, one per account record.

    ``source`` is a path (``.jsonl``, ``.jsonl.gz``, ``.csv``, ``.parquet``), ``"-"``
    for stdin, or a binary file object (JSONL unless ``fmt`` says otherwise). Nothing
    is loaded whole; broken lines become items whose payload is a ``RecordError``
    (JSON is only parsed later, by :func:`parse_record`, in the worker that scores it).

    A table's header is checked when this is called, not when the first record is read: a
    table cleanclf cannot use (no ``account_id`` column, no ``text`` column but one that looks
    like it, no content column at all, a repeated column name, nested ``posts``, a header that
    is not UTF-8) raises :class:`~cleanclf.errors.InputError` naming the columns found and
    expected. Unknown columns are warnings attached to every record of the table (see
    :func:`parse_record`); with ``strict=True`` the table readers yield those records as
    ``RecordError`` items instead (JSONL lines are only parsed later: pass ``strict`` to
    :func:`parse_record` / the scorer for them).

    >>> import io
    >>> [i.line for i in iter_records(io.BytesIO(b'{"account_id": 1}\\n\\n{"account_id": 2}\\n'))]
    [1, 3]
    """
    if hasattr(source, "read"):
        fmt = fmt or "jsonl"
        if fmt == "jsonl":
            return _iter_jsonl(source)
        if fmt == "csv":
            return _iter_csv(source, strict)
        if fmt == "parquet":
            return _iter_parquet(source, strict)
        raise InputError(f"fmt: expected 'jsonl', 'csv' or 'parquet', got {fmt!r}")
    fmt = fmt or detect_format(source)
    if str(source) == "-":
        if fmt == "parquet":
            raise InputError("input: Parquet cannot be read from stdin ('-'); pass the file's path")
        return _iter_jsonl(sys.stdin.buffer) if fmt == "jsonl" else _iter_csv(sys.stdin.buffer, strict)
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"input: {str(path)!r} does not exist or is not a file")
    if fmt == "parquet":
        return _iter_parquet(path, strict)
    opener = gzip.open if str(path).lower().endswith(".gz") else open
    fh = opener(path, "rb")
    try:
        return _closing(fh, _iter_jsonl(fh) if fmt == "jsonl" else _iter_csv(fh, strict))
    except BaseException:
        fh.close()
        raise


def _closing(fh, items: Iterator[Item]) -> Iterator[Item]:
    try:
        yield from items
    finally:
        fh.close()


def _iter_jsonl(fh: IO[bytes]) -> Iterator[Item]:
    line_no = 0
    while True:
        # readline with a limit: a 10 GB line must not be read into memory whole.
        line = fh.readline(MAX_RECORD_BYTES + 1)
        if not line:
            return
        line_no += 1
        if len(line) > MAX_RECORD_BYTES and not line.endswith(b"\n"):
            while True:  # skip the rest of the oversized line
                rest = fh.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            yield Item(line_no, oversized_record_error(line_no))
            continue
        if not line.strip():
            continue  # blank lines are not records (deterministic, so --resume counts agree)
        yield Item(line_no, line)


class TableRecord(dict):
    """The payload of a grouped table record: the account record as a dict, plus the
    ``column_warnings`` of its table (``(code, text, fate)`` tuples) that :func:`parse_record`
    turns into ``Account.warnings``. Pickles like a dict with its attribute (worker processes)."""

    column_warnings: tuple = ()


@functools.lru_cache(maxsize=256)
def _table_plan(names: tuple) -> tuple[dict, tuple]:
    """``(source, warnings)`` for a table with columns ``names``: ``source`` maps each
    :data:`TABLE_COLUMNS` name to the column it is read from (itself or an accepted alias of
    :data:`TABLE_ALIASES`); ``warnings`` has one ``unknown_column`` warning per column not read
    (unnamed, empty-header columns excepted: their cells are checked row by row)."""
    source = {c: c for c in TABLE_COLUMNS if c in names}
    for alias, canon in TABLE_ALIASES.items():
        if alias in names and canon not in source:
            source[canon] = alias
    used = set(source.values())
    warns = []
    for n in dict.fromkeys(names):
        if n in used or n == "" or n is None:
            continue
        if n in TABLE_ALIASES:
            warns.append(("unknown_column", f"{n}: unknown column next to {TABLE_ALIASES[n]}; {n} is read as "
                          f"{TABLE_ALIASES[n]} only when there is no {TABLE_ALIASES[n]} column", "its values were not read"))
        else:
            warns.append(_field_warning("unknown_column", n, "column", "table"))
    return source, tuple(warns)


def check_table_columns(names, what: str = "table") -> None:
    """Refuse a table cleanclf cannot use, with an :class:`~cleanclf.errors.InputError` naming the
    columns it has and the ones expected (``what`` says which table: ``"CSV header"``...).

    Refused: no ``account_id`` column; a column name that appears twice; a ``posts`` column
    (nested records belong in JSONL); no ``text`` (``images``) column while another column can only
    mean it (``message``, ``content``, ``Text``...; ``pics``, ``image``...: scoring would see every
    post as empty; weaker look-alikes such as ``comment`` are warnings); no content column at
    all (none of ``text``, ``images``, ``nickname``, ``bio``). A table with ``images`` but no
    ``text`` (image-only) or with only the profile columns is accepted.

    >>> check_table_columns(["account_id", "post_id", "message"], "CSV header")
    Traceback (most recent call last):
    ...
    cleanclf.errors.InputError: input: CSV header has no 'text' column; 'message' looks like it but is not read as one (rename it to text); columns found: ['account_id', 'post_id', 'message']; expected: account_id, post_id, text, images, created_at, nickname, bio
    """
    names = [str(n) for n in names]
    found = f"columns found: {names[:20]!r}{' ...' if len(names) > 20 else ''}; expected: {', '.join(TABLE_COLUMNS)}"
    dup = next((n for i, n in enumerate(names) if n and n in names[:i]), None)
    if dup is not None:
        raise InputError(f"input: {what} has the column {dup!r} twice (which one holds the data?); {found}")
    if "account_id" not in names:
        like = next((n for n in names if suggest_field(n, "table") == "account_id"), None)
        hint = f"; {like!r} looks like it but is not read as one (rename it to account_id)" if like else ""
        raise InputError(f"input: {what} has no 'account_id' column{hint}; {found}")
    if "posts" in names:
        raise InputError(f"input: {what} has a 'posts' column: tables hold one post per row (nested account "
                         f"records with profile/posts are read from JSONL, or by cleanclf.spark); {found}")
    source, _ = _table_plan(tuple(names))
    for canon in ("text", "images"):
        if canon in source:
            continue
        # the names that can only mean this content (see _CONTENT_ALIASES; "post" is a text column in a table)
        strong = _CONTENT_ALIASES[canon] | ({"post"} if canon == "text" else set())
        like = next((n for n in names if n not in source.values() and _norm(n) in strong), None)
        if like is not None:
            raise InputError(f"input: {what} has no {canon!r} column; {like!r} looks like it but is not read as one "
                             f"(rename it to {canon}); {found}")
    if not {"text", "images", "nickname", "bio"} & source.keys():
        maybe = [f"{n!r} -> {suggest_field(n, 'table')}" for n in names
                 if suggest_field(n, "table") in ("text", "images", "nickname", "bio")]
        hint = f" (rename the one that holds it: {', '.join(maybe[:5])}?)" if maybe else ""
        raise InputError(f"input: {what} has no content column (text, images, nickname or bio): every post "
                         f"would score as empty{hint}; {found}")


class Grouper:
    """Streaming group-by of table rows (one post per row) into account records.

    Consecutive rows with the same ``account_id`` form one record. :meth:`add` takes a row
    dict (keyed by column name) and its 1-based line/row number and yields the
    :class:`Item` of every record the row finishes; :meth:`flush` yields the last one. A
    missing or invalid id, or an id that reappears after other accounts, yields an item whose
    payload is a :class:`~cleanclf.errors.RecordError`. Used by the CSV and Parquet readers and
    by :mod:`cleanclf.spark` for flat tables.

    ``columns``: the table's column names (CSV header, Parquet schema); columns outside
    :data:`TABLE_COLUMNS` and its accepted aliases become ``unknown_column`` warnings on every
    record (a :class:`TableRecord` payload). ``None`` (rows of a flat JSONL table): each row's
    own keys are checked. With ``strict=True`` a record with a warning is a ``RecordError`` item.

    >>> g = Grouper()
    >>> items = [*g.add(2, {"account_id": "u1", "text": "a"}), *g.add(3, {"account_id": "u1", "text": "b"}),
    ...          *g.add(4, {"account_id": "u2", "text": "c"}), *g.flush()]
    >>> [(i.line, i.payload["account_id"], len(i.payload["posts"])) for i in items]
    [(2, 'u1', 2), (4, 'u2', 1)]
    """

    def __init__(self, columns=None, *, strict: bool = False):
        self.plan = None if columns is None else _table_plan(tuple(columns))
        self.strict = strict
        self.cur_id: str | None = None
        self.cur: TableRecord | None = None
        self.cur_line: int | None = None
        self.cur_error: RecordError | None = None
        self.cur_warns: list[tuple] = []
        # 8-byte digests of finished ids: detects non-contiguous repeats exactly enough
        # (collision odds ~1e-7 at 1M accounts) in ~70 bytes per account.
        self.seen: set[int] = set()

    def _key(self, aid: str) -> int:
        return int.from_bytes(hashlib.blake2b(aid.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")

    def add(self, line: int, row: dict, notes: tuple = ()) -> Iterator[Item]:
        """Add one row; ``notes``: extra ``(code, text, fate)`` warnings of this row (the CSV
        reader's cells without a column name)."""
        source, warns = self.plan if self.plan is not None else _table_plan(tuple(row))
        raw_id = row.get("account_id")
        if isinstance(raw_id, float) and raw_id.is_integer():
            raw_id = int(raw_id)  # pandas/arrow may widen int ids with nulls to float
        try:
            aid = _id(raw_id, "account_id", line) if raw_id not in (None, "") else None
        except RecordError as exc:
            yield from self.flush()
            yield Item(line, exc)
            return
        if aid is None:
            yield from self.flush()
            yield Item(line, _missing_id(line))
            return
        if aid != self.cur_id:
            yield from self.flush()
            self.cur_id, self.cur_line = aid, line
            nick, bio = source.get("nickname"), source.get("bio")
            self.cur = TableRecord({"account_id": aid, "profile": {"nickname": row.get(nick) if nick else None,
                                                                   "bio": row.get(bio) if bio else None},
                                    "posts": []})
            if self._key(aid) in self.seen:
                self.cur_error = record_error(line, f"account_id: {aid!r} reappears after other accounts; rows of one "
                                       "account must be contiguous (sort or group the table by account_id)", aid)
        for w in (*warns, *notes):
            if w not in self.cur_warns:
                self.cur_warns.append(w)
        pid, tx, im, ca = (source.get(c) for c in ("post_id", "text", "images", "created_at"))
        post_id, text, images = (row.get(pid) if pid else None, row.get(tx) if tx else None,
                                 row.get(im) if im else None)
        if isinstance(post_id, float) and post_id.is_integer():
            post_id = int(post_id)
        if all(v in (None, "") for v in (post_id, text, images)):
            return  # a profile-only row: the account has no post on it
        self.cur["posts"].append({"id": post_id, "text": text, "images": images,
                                  "created_at": row.get(ca) if ca else None})

    def flush(self) -> Iterator[Item]:
        if self.cur_id is None:
            return
        self.seen.add(self._key(self.cur_id))
        if self.cur_error is not None:
            payload = self.cur_error
        elif self.cur_warns and self.strict:
            payload = _strict_error(self.cur_warns[0], self.cur_line, self.cur_id)
        else:
            payload = self.cur
            if self.cur_warns:
                payload.column_warnings = tuple(self.cur_warns)
        item = Item(self.cur_line, payload)
        self.cur_id = self.cur = self.cur_line = self.cur_error = None
        self.cur_warns = []
        yield item


def nan_to_none(v):
    """``None`` for a float NaN (how pandas/Arrow tables may carry a null), else ``v`` unchanged.

    >>> nan_to_none(float("nan")), nan_to_none(1.5), nan_to_none("x")
    (None, 1.5, 'x')
    """
    return None if isinstance(v, float) and v != v else v


def _iter_csv(fh: IO[bytes], strict: bool = False) -> Iterator[Item]:
    # surrogateescape keeps invalid UTF-8 bytes visible so the row can be rejected by number.
    text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        return iter(())
    except csv.Error as exc:
        raise InputError(f"input: the CSV header does not parse ({exc})") from None
    if any(_SURROGATE.search(h) for h in header):
        raw = ",".join(header).encode("utf-8", "surrogateescape")
        raise InputError(f"input: the CSV header (line 1) is not valid UTF-8{encoding_hint(raw)}")
    header = [h.strip() for h in header]
    check_table_columns(header, "CSV header")
    return _csv_rows(reader, header, strict)


_UNNAMED = ("unknown_column", "(no name): a cell outside the header's named columns is not empty",
            "its value was not read")


def _csv_rows(reader, header: list[str], strict: bool) -> Iterator[Item]:
    grouper = Grouper(header, strict=strict)
    unnamed = [i for i, h in enumerate(header) if not h]
    width = len(header)
    prev_end = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            start, prev_end = prev_end + 1, reader.line_num
            yield from grouper.flush()
            yield Item(start, record_error(start, f"CSV row does not parse ({exc})"))
            continue
        start, prev_end = prev_end + 1, reader.line_num
        if not row or all(not c.strip() for c in row):
            continue
        bad = next((c for c in row if _SURROGATE.search(c)), None)
        if bad is not None:
            yield from grouper.flush()
            raw = ",".join(row).encode("utf-8", "surrogateescape")
            yield Item(start, record_error(start, f"not valid UTF-8{encoding_hint(raw)}"))
            continue
        notes = ()
        if (len(row) > width and any(c.strip() for c in row[width:])) or any(
                row[i].strip() for i in unnamed if i < len(row)):
            notes = (_UNNAMED,)
        yield from grouper.add(start, dict(zip(header, row)), notes)
    yield from grouper.flush()


def _iter_parquet(path, strict: bool = False) -> Iterator[Item]:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - depends on the environment
        from .errors import MissingDependencyError

        raise MissingDependencyError("reading Parquet needs pyarrow: pip install 'cleanclf[parquet]'") from None
    pf = pq.ParquetFile(path)
    names = pf.schema_arrow.names
    check_table_columns(names, "Parquet file")
    source, _ = _table_plan(tuple(names))
    return _parquet_rows(pf, names, list(source.values()), strict)


def _parquet_rows(pf, names, cols, strict: bool) -> Iterator[Item]:
    grouper = Grouper(names, strict=strict)
    row_no = 0
    for batch in pf.iter_batches(batch_size=4096, columns=cols):
        data = batch.to_pydict()
        n = batch.num_rows
        for i in range(n):
            row_no += 1
            yield from grouper.add(row_no, {c: nan_to_none(data[c][i]) for c in cols})
    yield from grouper.flush()


def read_accounts(source: str | os.PathLike | IO[bytes], ids: Iterable[str] | None = None,
                  fmt: str | None = None) -> tuple[dict[str, Account], int]:
    """``({account_id: Account}, unreadable)``: the accounts of a dump, by id, for tools that look
    records up after scoring (the review report, training on review decisions).

    ``ids`` keeps only those accounts (everything else is read and dropped, so a dump need not
    fit in memory). ``unreadable`` counts records that are error rows when scored (a caller
    reports it: nothing is dropped in silence). A repeated account id keeps its first record.

    >>> import io
    >>> accs, bad = read_accounts(io.BytesIO(b'{"account_id": "u1", "posts": [{"text": "hi"}]}\\n{\\n'))
    >>> sorted(accs), accs["u1"].posts[0].text, bad
    (['u1'], 'hi', 1)
    """
    wanted = None if ids is None else set(ids)
    out: dict[str, Account] = {}
    unreadable = 0
    for item in iter_records(source, fmt):
        if isinstance(item.payload, BaseException):
            unreadable += 1
            continue
        try:
            acc = parse_record(item.payload, item.line)
        except RecordError:
            unreadable += 1
            continue
        if (wanted is None or acc.account_id in wanted) and acc.account_id not in out:
            out[acc.account_id] = acc
    return out, unreadable


__all__ = ["Account", "Post", "Item", "parse_record", "read_accounts", "decode_line", "iter_records", "detect_format", "record_error",
           "oversized_record_error", "Grouper", "TableRecord", "check_table_columns", "suggest_field", "encoding_hint",
           "nan_to_none", "MAX_RECORD_BYTES", "TABLE_COLUMNS", "ACCOUNT_FIELDS", "PROFILE_FIELDS", "POST_FIELDS",
           "POST_ALIASES", "TABLE_ALIASES", "WARNING_CODES"]
