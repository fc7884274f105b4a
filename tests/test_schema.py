"""Input validation and streaming readers (one item per record, with line numbers)."""

from __future__ import annotations

import csv
import gzip
import io
import json

import pytest

from cleanclf.errors import InputError, RecordError
from cleanclf.schema import Account, Item, Post, detect_format, iter_records, parse_record


# ---------------------------------------------------------------------------- parse_record
def test_full_record():
    a = parse_record({"account_id": "u1", "profile": {"nickname": "小王", "bio": "hi"},
                      "posts": [{"id": "p1", "text": "t", "images": ["a.png"], "created_at": "2024-01-01"}]})
    assert a == Account("u1", {"nickname": "小王", "bio": "hi"}, [Post("p1", "t", ["a.png"], "2024-01-01")])
    assert a.profile_text() == "小王\nhi" and a.profile_offsets() == {"nickname": 0, "bio": 3}


def test_int_ids_are_coerced_and_missing_parts_default():
    a = parse_record({"account_id": 42, "posts": [{"text": None}, {"id": 7}]})
    assert a.account_id == "42" and [p.id for p in a.posts] == ["0", "7"]
    assert a.posts[0].text == "" and a.posts[1].images == [] and a.profile == {"nickname": "", "bio": ""}


@pytest.mark.parametrize("rec,field,expect", [
    ({"posts": []}, "account_id", "missing"),
    ({"account_id": ""}, "account_id", "non-empty"),
    ({"account_id": True}, "account_id", "bool"),
    ({"account_id": ["x"]}, "account_id", "list"),
    ({"account_id": "a", "posts": "hello"}, "posts", "expected a list"),
    ({"account_id": "a", "posts": [5]}, "posts[0]", "post object"),
    ({"account_id": "a", "posts": [{"text": 5}]}, "posts[0].text", "expected a string or null"),
    ({"account_id": "a", "posts": [{"text": {"a": 1}}]}, "posts[0].text", "dict"),
    ({"account_id": "a", "posts": [{"images": "[1,"}]}, "posts[0].images", "does not parse"),
    ({"account_id": "a", "posts": [{"images": [1]}]}, "posts[0].images[0]", "path string"),
    ({"account_id": "a", "posts": [{"images": {"x": 1}}]}, "posts[0].images", "list of path strings"),
    ({"account_id": "a", "profile": "bio"}, "profile", "nickname/bio"),
    ({"account_id": "a", "profile": {"bio": 3}}, "profile.bio", "string"),
    ({"account_id": "a", "posts": [{"created_at": [1]}]}, "posts[0].created_at", "string, number"),
    ({"account_id": "\ud800"}, "account_id", "surrogate"),
])
def test_invalid_records_name_field_value_and_expectation(rec, field, expect):
    with pytest.raises(RecordError) as exc:
        parse_record(rec, line_no=9)
    msg = str(exc.value)
    assert msg.startswith("line 9: ") and field in msg and expect in msg
    if rec.get("account_id") == "a":
        assert exc.value.account_id == "a"  # error rows can still name the account


def test_lone_surrogates_in_text_are_replaced_not_fatal():
    a = parse_record('{"account_id": "a", "posts": [{"text": "ok \\ud800 fine"}], "profile": {"bio": "\\udfff"}}')
    assert a.posts[0].text == "ok \ufffd fine" and a.profile["bio"] == "\ufffd"


def test_big_text_kept_whole_for_the_model_to_truncate():
    big = "字" * (2 << 20)
    a = parse_record(json.dumps({"account_id": "a", "posts": [{"text": big}]}, ensure_ascii=False).encode())
    assert len(a.posts[0].text) == 2 << 20


@pytest.mark.parametrize("raw,expect", [
    (b"\xff\xfe{}", "not valid UTF-8"),
    (b'{"account_id": "a",', "not valid JSON"),
    (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
    (b"[1, 2]", "expected a JSON object"),
    (b"null", "expected a JSON object"),
])
def test_bad_lines(raw, expect):
    with pytest.raises(RecordError, match=expect):
        parse_record(raw, line_no=3)


def test_bom_is_ignored():
    assert parse_record("\ufeff{\"account_id\": \"a\"}").account_id == "a"


def test_account_passes_through():
    a = Account("x")
    assert parse_record(a) is a


# ---------------------------------------------------------------------------- readers
LINES = [b'{"account_id": "a", "posts": [{"text": "1"}]}', b"", b"\xff broken", b"{bad json",
         b'{"account_id": "b"}']


def _check_jsonl_items(items):
    assert [i.line for i in items] == [1, 3, 4, 5]  # blank line 2 is not a record
    outcomes = []
    for it in items:
        try:
            outcomes.append(parse_record(it.payload, it.line).account_id)
        except RecordError as exc:
            outcomes.append(str(exc).split(":")[0])
    assert outcomes == ["a", "line 3", "line 4", "b"]


def test_jsonl_plain_gz_and_stream(tmp_path):
    data = b"\n".join(LINES) + b"\n"
    (tmp_path / "d.jsonl").write_bytes(data)
    with gzip.open(tmp_path / "d.jsonl.gz", "wb") as fh:
        fh.write(data)
    _check_jsonl_items(list(iter_records(tmp_path / "d.jsonl")))
    _check_jsonl_items(list(iter_records(tmp_path / "d.jsonl.gz")))
    _check_jsonl_items(list(iter_records(io.BytesIO(data))))  # what '-' (stdin) reads


def test_stdin_dash(monkeypatch):
    class FakeStdin:
        buffer = io.BytesIO(b'{"account_id": "a"}\n{"account_id": "b"}')  # no final newline

    monkeypatch.setattr("sys.stdin", FakeStdin)
    assert [i.line for i in iter_records("-")] == [1, 2]


def test_oversized_line_is_an_error_item_and_reading_goes_on(monkeypatch):
    import cleanclf.schema as schema

    monkeypatch.setattr(schema, "MAX_RECORD_BYTES", 100)
    data = b'{"account_id": "a"}\n' + b'{"x": "' + b"y" * 500 + b'"}\n' + b'{"account_id": "c"}\n'
    items = list(iter_records(io.BytesIO(data)))
    assert [i.line for i in items] == [1, 2, 3]
    assert isinstance(items[1].payload, RecordError)
    assert parse_record(items[2].payload).account_id == "c"


def _table_rows():
    return [
        {"account_id": "a", "post_id": "p1", "text": "t1", "images": '["x.png", "y.png"]', "created_at": "",
         "nickname": "N", "bio": "B"},
        {"account_id": "a", "post_id": "p2", "text": "t2", "images": "z.png;w.png", "created_at": "", "nickname": "N",
         "bio": "B"},
        {"account_id": "b", "post_id": "", "text": "", "images": "", "created_at": "", "nickname": "only profile",
         "bio": ""},
        {"account_id": "c", "post_id": "p9", "text": "t9", "images": "", "created_at": "", "nickname": "", "bio": ""},
        {"account_id": "a", "post_id": "p3", "text": "again", "images": "", "created_at": "", "nickname": "",
         "bio": ""},
    ]


def _check_table_items(items, first_line):
    assert [i.line for i in items] == [first_line, first_line + 2, first_line + 3, first_line + 4]
    a = parse_record(items[0].payload)
    assert [p.id for p in a.posts] == ["p1", "p2"] and a.posts[0].images == ["x.png", "y.png"]
    assert a.posts[1].images == ["z.png", "w.png"] and a.profile == {"nickname": "N", "bio": "B"}
    b = parse_record(items[1].payload)
    assert b.posts == [] and b.profile["nickname"] == "only profile"
    assert isinstance(items[3].payload, RecordError) and "contiguous" in str(items[3].payload)


def test_csv_groups_consecutive_rows_and_flags_repeats(tmp_path):
    p = tmp_path / "d.csv"
    with open(p, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(_table_rows()[0]))
        w.writeheader()
        w.writerows(_table_rows())
    _check_table_items(list(iter_records(p)), first_line=2)


def test_csv_invalid_utf8_row_is_an_error_item(tmp_path):
    p = tmp_path / "d.csv"
    p.write_bytes(b"account_id,post_id,text\na,1,ok\nb,1,\xff\xfe\nc,1,fine\n")
    items = list(iter_records(p))
    assert [i.line for i in items] == [2, 3, 4]
    assert isinstance(items[1].payload, RecordError) and "UTF-8" in str(items[1].payload)


def test_csv_without_account_id_column(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("id,text\n1,x\n", encoding="utf-8")
    with pytest.raises(InputError, match="account_id"):
        list(iter_records(p))


def test_parquet_streams_and_groups(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rows = _table_rows()
    table = pa.table({k: [r[k] for r in rows] for k in rows[0]})
    pq.write_table(table, tmp_path / "d.parquet", row_group_size=2)
    _check_table_items(list(iter_records(tmp_path / "d.parquet")), first_line=1)


def test_parquet_native_list_images_and_int_ids(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({"account_id": [1, 1], "post_id": [10, 11], "text": ["a", None], "images": [["i.png"], []]})
    pq.write_table(table, tmp_path / "d.parquet")
    (item,) = list(iter_records(tmp_path / "d.parquet"))
    a = parse_record(item.payload)
    assert a.account_id == "1" and [p.id for p in a.posts] == ["10", "11"] and a.posts[0].images == ["i.png"]


def test_detect_format():
    assert detect_format("a.JSONL") == "jsonl" and detect_format("a.csv") == "csv"
    with pytest.raises(InputError, match="unknown extension"):
        detect_format("a.xlsx")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.jsonl"):
        list(iter_records(tmp_path / "nope.jsonl"))


def test_item_is_a_tuple():
    assert Item(3, b"x") == (3, b"x")


def test_broken_line_still_names_its_account_when_it_can():
    with pytest.raises(RecordError, match="line 10: not valid JSON") as exc:
        parse_record(b'{"account_id": "demo-broken", "posts": [{"text": "cut off', line_no=10)
    assert exc.value.account_id == "demo-broken"
    with pytest.raises(RecordError) as exc:
        parse_record(b"{oops")
    assert exc.value.account_id is None
