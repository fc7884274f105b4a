"""Hostile account records: the parser and the JSONL reader raise nothing but RecordError,
and every input line gets a verdict or an error record with its line number (Python API
and ``cleanclf score``), nothing skipped silently.

tests/test_schema.py covers each validation rule on hand-written records; here the inputs are
generated (hypothesis, and the fuzz generator of benchmarks/bench_fuzz.py on ~2k lines).
"""

from __future__ import annotations

import io
import json
import math
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from cleanclf.errors import RecordError
from cleanclf.schema import MAX_RECORD_BYTES, Account, iter_records, parse_record

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_fuzz  # noqa: E402

SETTINGS = dict(derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------- strategies
_text = st.one_of(st.text(max_size=20),
                  st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=8),  # surrogates
                  st.sampled_from(["", " ", "\ufeff", "\x00", "包夜 加薇 abc123", "NaN", "[" * 50]))
_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-10**300, 10**300),
                    st.floats(allow_nan=True, allow_infinity=True), _text)
json_values = st.recursive(_scalar, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                           st.dictionaries(_text, kids, max_size=4)),
                           max_leaves=12)
# records shaped like accounts, so that generation reaches the inner validation rules
_post = st.one_of(json_values, st.fixed_dictionaries({}, optional={
    "id": json_values, "text": st.one_of(_text, json_values), "images": st.one_of(st.lists(_text, max_size=3),
                                                                                   json_values),
    "created_at": json_values}))
account_like = st.fixed_dictionaries({}, optional={
    "account_id": st.one_of(_text, st.integers(), json_values),
    "profile": st.one_of(json_values, st.fixed_dictionaries({}, optional={"nickname": json_values,
                                                                          "bio": st.one_of(_text, json_values)})),
    "posts": st.one_of(json_values, st.lists(_post, max_size=4)),
})


def _check_account(acc: Account) -> None:
    assert isinstance(acc.account_id, str) and acc.account_id
    acc.account_id.encode("utf-8")  # ids are valid Unicode
    for p in acc.posts:
        assert isinstance(p.id, str) and p.id
        assert isinstance(p.text, str)
        p.text.encode("utf-8")  # lone surrogates replaced
        assert all(isinstance(i, str) for i in p.images)
        assert p.created_at is None or isinstance(p.created_at, str)
    for v in acc.profile.values():
        assert isinstance(v, str)
        v.encode("utf-8")


def _parse_or_record_error(obj, **kw):
    try:
        acc = parse_record(obj, **kw)
    except RecordError as exc:
        assert str(exc)
        return exc
    _check_account(acc)
    return acc


# ---------------------------------------------------------------- parse_record
@settings(max_examples=250, **SETTINGS)
@given(st.one_of(account_like, json_values))
def test_parse_record_on_any_value_gives_an_account_or_a_record_error(obj):
    _parse_or_record_error(obj, line_no=7)


@settings(max_examples=200, **SETTINGS)
@given(st.one_of(account_like, json_values))
def test_parse_record_on_the_json_line_of_any_value(obj):
    # the same values as JSON lines, both with \ud800 escapes and as (possibly invalid) UTF-8 bytes
    try:
        ascii_line = json.dumps(obj, ensure_ascii=True)
    except ValueError:  # pragma: no cover - json can write every generated value
        return
    for raw in (ascii_line, ascii_line.encode("ascii"),
                json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogatepass")):
        res = _parse_or_record_error(raw, line_no=3)
        if isinstance(res, RecordError):
            assert str(res).startswith("line 3: ")


@settings(max_examples=200, **SETTINGS)
@given(st.one_of(st.binary(max_size=200), st.text(max_size=100),
                 st.builds(lambda a, b: a + b, st.sampled_from([b"{", b"[", b'{"account_id": ', b"\xef\xbb\xbf",
                                                                 b'{"account_id": "x", "posts": [']),
                           st.binary(max_size=60))))
def test_parse_record_on_arbitrary_bytes_and_text(raw):
    _parse_or_record_error(raw, line_no=1)


@pytest.mark.parametrize("raw", [b"[" * 100_000, b'{"a":' * 60_000, b'{"account_id": "x", "posts": ' + b"[" * 100_000,
                                 b'{"account_id": 1e999}', b'{"account_id": NaN}', b'{"account_id": -Infinity}',
                                 b"\xff\xfe", b"\xed\xa0\x80", b'{"account_id": "\\ud800"}', b"\x00", b""])
def test_parse_record_hostile_lines(raw):
    with pytest.raises(RecordError, match="^line 9: "):
        parse_record(raw, line_no=9)


@pytest.mark.parametrize("raw", [b'{"account_id": ' + b"9" * 5000 + b"}",
                                 b'{"account_id": "x", "posts": [{"created_at": ' + b"1" * 5000 + b"}]}"])
def test_huge_integer_literal_is_a_record_error(raw):
    with pytest.raises(RecordError, match="^line 2: "):
        parse_record(raw, line_no=2)


def test_huge_integer_id_from_python_is_a_record_error():
    with pytest.raises(RecordError, match="account_id"):
        parse_record({"account_id": 10 ** 5000})


def test_nan_and_infinity_never_reach_a_verdict_as_numbers():
    acc = parse_record(b'{"account_id": "a", "posts": [{"created_at": NaN}, {"created_at": -Infinity}]}')
    assert [p.created_at for p in acc.posts] == ["nan", "-inf"]  # kept verbatim as text, never interpreted
    for bad in (b'{"account_id": "a", "posts": [{"text": NaN}]}', b'{"account_id": "a", "posts": [{"id": Infinity}]}'):
        with pytest.raises(RecordError):
            parse_record(bad)


# ---------------------------------------------------------------- the JSONL reader
@settings(max_examples=200, **SETTINGS)
@given(st.lists(st.one_of(st.binary(max_size=40), st.sampled_from([b"", b"\r", b"  ", b'{"account_id": 1}',
                                                                    b"\xef\xbb\xbf{}", b"[" * 3000])), max_size=12),
       st.sampled_from([b"\n", b"\r\n"]), st.booleans())
def test_jsonl_reader_yields_every_non_blank_line_with_its_number(lines, eol, final_eol):
    lines = [ln.replace(b"\n", b" ") for ln in lines]
    data = eol.join(lines) + (eol if final_eol and lines else b"")
    items = list(iter_records(io.BytesIO(data)))
    expected = [k for k, ln in enumerate(lines, 1) if (ln + eol).strip()]
    assert [i.line for i in items] == expected
    for it in items:
        assert isinstance(it.payload, (bytes, RecordError))
        if isinstance(it.payload, bytes):
            _parse_or_record_error(it.payload, line_no=it.line)


def test_oversized_line_is_an_error_and_the_next_line_is_read(monkeypatch):
    import cleanclf.schema as schema

    monkeypatch.setattr(schema, "MAX_RECORD_BYTES", 1000)
    data = b'{"account_id": "a"}\n' + b"[" * 5000 + b"\n" + b'{"account_id": "b"}\n' + b"x" * 3000
    items = list(iter_records(io.BytesIO(data)))
    assert [i.line for i in items] == [1, 2, 3, 4]
    assert isinstance(items[1].payload, RecordError) and "MAX_RECORD_BYTES" in str(items[1].payload)
    assert isinstance(items[3].payload, RecordError)  # a final oversized line without newline too
    assert MAX_RECORD_BYTES == 64 << 20  # the documented bound (docs/security.md)


# ---------------------------------------------------------------- through score_accounts and the CLI
@pytest.fixture(scope="module")
def fuzz_clf(tiny_text_model):
    """The tiny text model plus, when bundled, the real image component."""
    from cleanclf.classify import Classifier

    image_model = None
    try:
        import cleanclf

        image_model = cleanclf.load().image_model
    except Exception:  # noqa: BLE001 - no bundled default: text only
        pass
    return Classifier(text_model=tiny_text_model, image_model=image_model, manifest={"name": "fuzz", "version": "1"})


@pytest.fixture(scope="module")
def fuzz_dump(tmp_path_factory):
    work = tmp_path_factory.mktemp("fuzz")
    images = bench_fuzz.make_image_root(work / "images")
    dump = work / "images" / "fuzz.jsonl"
    meta = bench_fuzz.write_dump(dump, 2000, seed=1, images=images, big_every=400)
    return dump, meta


def test_fuzz_mix_covers_every_hostile_kind(fuzz_dump):
    _, meta = fuzz_dump
    kinds = {m[2] for m in meta}
    assert {"malformed_json", "non_object_json", "missing_id", "bad_id_type", "posts_not_list", "text_not_string",
            "2mb_text", "surrogate_text", "surrogate_id", "invalid_utf8", "deep_nesting", "duplicate_id",
            "huge_number_id", "nan_inf", "bom", "crlf", "blank", "hostile_images"} <= kinds


@pytest.mark.parametrize("jobs", [1, 2])
def test_fuzz_mix_through_score_accounts(fuzz_dump, fuzz_clf, jobs):
    dump, meta = fuzz_dump
    res = bench_fuzz.run(dump, meta, fuzz_clf, jobs=jobs, images_root=dump.parent, chunk_size=32)
    assert res["crashes"] == 0, res["crash"]
    assert res["outputs"] == res["expected"] == sum(1 for m in meta if m[1] != bench_fuzz.BLANK)
    assert res["problems"] == []
    assert res["network_attempts"] == 0
    assert set(res["errors"]) <= {"RecordError", "ValueError"}  # ValueError: the >4300-digit bug above
    assert res["errors"]["RecordError"] > 100


def test_python_api_accepts_lines_dicts_and_junk_objects(fuzz_clf):
    from cleanclf.batch import score_accounts

    recs = [b'{"account_id": "a"}', '{"account_id": "b"}', {"account_id": "c"}, None, 42, ["x"], object(),
            b"\xff", "{oops", {"account_id": float("nan")}, Account("d"), {"account_id": "e", "posts": [math.inf]}]
    out = list(score_accounts(recs, model=fuzz_clf))
    assert len(out) == len(recs)
    assert [o["account_id"] for o in out if o["error"] is None] == ["a", "b", "c", "d"]
    assert [o["line"] for o in out if o["error"] is not None] == [4, 5, 6, 7, 8, 9, 10, 12]
    assert all(o["error"]["type"] == "RecordError" for o in out if o["error"] is not None)


def test_cli_score_on_the_fuzz_file(fuzz_dump, fuzz_clf, tmp_path, capsys):
    from cleanclf.cli import main

    dump, meta = fuzz_dump
    out = tmp_path / "v.jsonl"
    with bench_fuzz.NoNetwork() as net:
        rc = main(["score", str(dump), "-o", str(out), "--no-progress", "--chunk-size", "50"], model=fuzz_clf)
    assert rc == 3  # most of the fuzz file's images are refused on purpose: completed, but over --max-error-rate
    raw = out.read_bytes()
    lines = raw.split(b"\n")
    assert lines[-1] == b""
    recs = [json.loads(line) for line in lines[:-1]]  # every line is whole, valid UTF-8 JSON
    res = bench_fuzz.check([{"account_id": r["account_id"], "error": r["error"], "line": r.get("line")}
                            for r in recs], meta)
    assert res["problems"] == [] and res["outputs"] == res["expected"]
    assert net.attempts == []
    err = capsys.readouterr().err
    assert f"{res['expected']} accounts scored" in err and f"error rows {sum(res['errors'].values())}" in err
