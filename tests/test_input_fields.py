"""Input that does not fit the schema is refused or reported, never reinterpreted in silence.

Covers the mistakes listed in docs/input-mistakes.md, for JSONL and CSV (and Parquet when
pyarrow is installed): unknown fields and columns (warnings; error rows with ``strict``),
content under a look-alike name (error rows / a refused header), accepted aliases, invalid
UTF-8 with a GBK hint, a file where no line is JSON, BOM and CRLF. Every fixture is written
here; handles and numbers are pseudonymous (vx_test01, 555-0100).
"""

from __future__ import annotations

import io
import json

import pytest
from test_batch import FakeClassifier  # the keyword double of the Classifier (tests/ is on sys.path)

from cleanclf.batch import score_accounts
from cleanclf.errors import InputError, RecordError
from cleanclf.schema import Account, iter_records, parse_record, suggest_field
from cleanclf.scoring import verdict_stats

SOLICIT = "上门服务 加 vx_test01 电话 555-0100"


def jsonl(*records) -> io.BytesIO:
    return io.BytesIO(b"".join(json.dumps(r, ensure_ascii=False).encode("utf-8") + b"\n" for r in records))


def csv_bytes(text: str, encoding: str = "utf-8") -> io.BytesIO:
    return io.BytesIO(text.encode(encoding))


def parsed(source, fmt="jsonl", strict=False):
    """(line, Account or RecordError) for every item of a source, as the scorer sees them."""
    out = []
    for item in iter_records(source, fmt, strict=strict):
        if isinstance(item.payload, BaseException):
            out.append((item.line, item.payload))
            continue
        try:
            out.append((item.line, parse_record(item.payload, item.line, strict=strict)))
        except RecordError as exc:
            out.append((item.line, exc))
    return out


# ------------------------------------------------------------------ well-formed input: no warnings

def test_well_formed_records_get_no_warnings_in_jsonl_and_csv():
    rec = {"account_id": "u1", "profile": {"nickname": "小王", "bio": "看名字"},
           "posts": [{"id": "p1", "text": SOLICIT, "images": ["a.jpg"], "created_at": "2024-01-01"}]}
    [(_, acc)] = parsed(jsonl(rec))
    assert acc.warnings == [] and acc.posts[0].text == SOLICIT
    [(_, acc)] = parsed(csv_bytes("account_id,post_id,text,images,created_at,nickname,bio\n"
                                  f"u1,p1,{SOLICIT},a.jpg,2024-01-01,小王,看名字\n"), "csv")
    assert acc.warnings == [] and acc.posts[0].id == "p1" and acc.profile["bio"] == "看名字"


def test_bom_and_crlf_are_read_as_utf8_without_warnings():
    data = b"\xef\xbb\xbf" + json.dumps({"account_id": "u1", "posts": [{"text": "hi"}]}).encode() + b"\r\n"
    [(_, acc)] = parsed(io.BytesIO(data))
    assert acc.warnings == [] and acc.posts[0].text == "hi"
    [(_, acc)] = parsed(io.BytesIO(b"\xef\xbb\xbfaccount_id,text\r\nu1,hello\r\n"), "csv")
    assert acc.account_id == "u1" and acc.posts[0].text == "hello" and acc.warnings == []


# ------------------------------------------------------------------ JSONL: unknown fields

def test_unknown_top_level_and_post_fields_are_warnings_and_content_is_kept():
    rec = {"account_id": "u1", "crawl_batch": 3,
           "posts": [{"id": "p1", "text": SOLICIT, "lang": "zh"}, {"id": "p2", "text": "hello", "lang": "en"},
                     {"id": "p3", "text": "bye"}]}
    [(_, acc)] = parsed(jsonl(rec))
    assert acc.warnings == [
        "[unknown_field] crawl_batch: unknown account field (its value was not read)",
        "[unknown_post_field] lang: unknown post field (in 2 of 3 posts) (its value was not read)",
    ]
    assert [p.text for p in acc.posts] == [SOLICIT, "hello", "bye"]


def test_unknown_field_with_a_look_alike_names_the_field_it_probably_meant():
    [(_, acc)] = parsed(jsonl({"account_id": "u1", "posts": [{"text": "hi", "content": "hi", "pid": "x1"}],
                               "profile": {"nick": "小王"}}))
    assert "[unknown_profile_field] nick: unknown profile field; did you mean nickname? (its value was not read)" \
        in acc.warnings
    assert "[unknown_post_field] content: unknown post field; did you mean text? (its value was not read)" \
        in acc.warnings
    assert "[unknown_post_field] pid: unknown post field; did you mean id? (its value was not read)" in acc.warnings
    assert len(acc.warnings) == 3


def test_strict_turns_the_first_warning_into_an_error_row_naming_it():
    [(line, err)] = parsed(jsonl({"account_id": "u1", "crawl_batch": 3, "posts": [{"text": "hi"}]}), strict=True)
    assert isinstance(err, RecordError) and line == 1 and err.account_id == "u1"
    assert str(err) == ("line 1: [unknown_field] crawl_batch: unknown account field; "
                        "rejected in strict mode (the record is not scored)")
    # a well-formed record is untouched by strict
    [(_, acc)] = parsed(jsonl({"account_id": "u2", "posts": [{"text": "hi"}]}), strict=True)
    assert isinstance(acc, Account) and acc.warnings == []


@pytest.mark.parametrize("post, lost, canon", [
    ({"id": "p1", "content": SOLICIT}, "content", "text"),
    ({"id": "p1", "message": SOLICIT}, "message", "text"),
    ({"id": "p1", "Text": SOLICIT}, "Text", "text"),
    ({"id": "p1", "text": "", "msg": SOLICIT}, "msg", "text"),
    ({"id": "p1", "text": "hi", "pics": ["a.jpg"]}, "pics", "images"),
])
def test_post_content_under_a_look_alike_name_is_an_error_row_even_without_strict(post, lost, canon):
    [(line, err)] = parsed(jsonl({"account_id": "u1", "posts": [post]}))
    assert isinstance(err, RecordError) and err.account_id == "u1"
    msg = str(err)
    assert msg.startswith(f"line 1: posts[0].{lost}: unknown post field; did you mean {canon}?")
    assert f"rename it to {canon}" in msg
    assert SOLICIT not in msg  # the message names the field, it does not echo the content


def test_post_instead_of_posts_is_an_error_row_not_an_account_without_posts():
    [(_, err)] = parsed(jsonl({"account_id": "u1", "post": [{"id": "p1", "text": SOLICIT}]}))
    assert isinstance(err, RecordError)
    assert "post: unknown account field; did you mean posts? (posts is missing and post holds a list" in str(err)


def test_weak_look_alike_stays_a_warning_and_the_post_is_kept():
    # an image-only post with a "status" field: status is not taken for the text
    [(_, acc)] = parsed(jsonl({"account_id": "u1", "posts": [{"id": "p1", "images": ["a.jpg"], "status": "ok"}]}))
    assert acc.posts[0].images == ["a.jpg"]
    assert acc.warnings == ["[unknown_post_field] status: unknown post field; did you mean text? (its value was not read)"]


def test_post_id_is_accepted_as_the_post_id_only_without_id():
    [(_, acc)] = parsed(jsonl({"account_id": "u1", "posts": [{"post_id": "p7", "text": "hi"}]}))
    assert acc.posts[0].id == "p7" and acc.warnings == []
    [(_, acc)] = parsed(jsonl({"account_id": "u1", "posts": [{"id": "p1", "post_id": "p7", "text": "hi"}]}))
    assert acc.posts[0].id == "p1"
    assert acc.warnings == ["[unknown_post_field] post_id: unknown post field next to id; post_id is read as the "
                            "post id only when id is absent (its value was not read)"]


def test_user_id_is_not_taken_for_the_account_id_and_the_error_says_so():
    [(_, err)] = parsed(jsonl({"user_id": "u1", "posts": [{"text": "hi"}]}))
    assert str(err) == ("line 1: account_id: missing; expected a non-empty string "
                        "(user_id is not read as the account id: rename it to account_id)")


@pytest.mark.parametrize("rec, expect", [
    ({"account_id": "u1", "posts": SOLICIT}, "posts: expected a list of post objects, got '上门服务"),
    ({"account_id": "u1", "posts": [{"text": {"zh": "你好"}}]}, "posts[0].text: expected a string or null, got {'zh'"),
    ({"account_id": "u1", "posts": [{"text": 12345}]}, "posts[0].text: expected a string or null, got 12345 (int)"),
    ({"account_id": "u1", "profile": "小王"}, "profile: expected an object with nickname/bio, got '小王' (str)"),
])
def test_wrong_types_are_error_rows_naming_the_field(rec, expect):
    [(_, err)] = parsed(jsonl(rec))
    assert isinstance(err, RecordError) and expect in str(err)


def test_suggest_field_knows_the_common_names_and_stays_quiet_otherwise():
    assert suggest_field("content", "post") == "text"
    assert suggest_field("post", "account") == "posts"
    assert suggest_field("uid", "table") == "account_id"
    assert suggest_field("crawl_batch", "post") is None


# ------------------------------------------------------------------ encodings, broken files

def test_gbk_jsonl_line_is_an_error_row_with_an_iconv_hint_and_other_lines_are_read():
    good = json.dumps({"account_id": "u0", "posts": [{"text": "hi"}]}).encode() + b"\n"
    bad = json.dumps({"account_id": "u1", "posts": [{"text": "你好 上门"}]}, ensure_ascii=False).encode("gbk") + b"\n"
    out = parsed(io.BytesIO(good + bad + good))
    assert [line for line, _ in out] == [1, 2, 3]
    assert isinstance(out[0][1], Account) and isinstance(out[2][1], Account)
    msg = str(out[1][1])
    assert msg.startswith("line 2: not valid UTF-8 (byte 0x")
    assert msg.endswith("the file looks like GBK/GB18030: convert it with iconv -f GB18030 -t UTF-8")


def test_gbk_csv_header_is_refused_and_a_gbk_row_is_an_error_row():
    with pytest.raises(InputError, match=r"CSV header \(line 1\) is not valid UTF-8; the file looks like GBK"):
        iter_records(csv_bytes("account_id,正文\nu1,你好\n", "gbk"), "csv")
    out = parsed(io.BytesIO(b"account_id,text\nu0,ok\n" + "u1,你好\n".encode("gbk") + b"u2,fine\n"), "csv")
    assert [line for line, _ in out] == [2, 3, 4]
    assert [a.account_id for _, a in out if isinstance(a, Account)] == ["u0", "u2"]
    assert str(out[1][1]) == ("line 3: not valid UTF-8; the file looks like GBK/GB18030: "
                              "convert it with iconv -f GB18030 -t UTF-8")


def test_utf16_gets_its_own_hint_and_other_encodings_a_generic_one():
    [(_, err)] = parsed(io.BytesIO('{"account_id": "u1"}'.encode("utf-16")))
    assert "the file looks like UTF-16: convert it with iconv -f UTF-16 -t UTF-8" in str(err)
    [(_, err)] = parsed(io.BytesIO(b'{"account_id": "caf\xe9"}\n'))
    assert "cleanclf reads UTF-8 only: convert the file to UTF-8" in str(err)


def test_a_file_where_no_line_is_json_gives_one_error_row_per_line():
    out = parsed(io.BytesIO(b"{account_id: u1}\nnot json\n\n{\"account_id\": \"u3\",\n"))
    assert [line for line, _ in out] == [1, 2, 4]
    assert all(isinstance(e, RecordError) and "not valid JSON" in str(e) for _, e in out)
    assert out[2][1].account_id == "u3"  # salvaged from the broken line


# ------------------------------------------------------------------ CSV columns

def test_csv_message_column_without_text_is_refused_with_the_columns():
    with pytest.raises(InputError) as exc:
        iter_records(csv_bytes("account_id,post_id,message\nu1,p1,hi\n"), "csv")
    assert str(exc.value) == (
        "input: CSV header has no 'text' column; 'message' looks like it but is not read as one (rename it to text); "
        "columns found: ['account_id', 'post_id', 'message']; "
        "expected: account_id, post_id, text, images, created_at, nickname, bio")


@pytest.mark.parametrize("header, expect", [
    ("account_id,foo", "has no content column (text, images, nickname or bio): every post would score as empty;"),
    ("account_id,comment", "(rename the one that holds it: 'comment' -> text?)"),
    ("account_id,text,pics", "has no 'images' column; 'pics' looks like it"),
    ("account_id,Text", "has no 'text' column; 'Text' looks like it"),
    ("uid,text", "has no 'account_id' column; 'uid' looks like it but is not read as one (rename it to account_id)"),
    ("account_id,text,text", "has the column 'text' twice"),
    ("account_id,posts", "has a 'posts' column: tables hold one post per row"),
])
def test_csv_headers_cleanclf_cannot_use_are_refused(header, expect):
    with pytest.raises(InputError) as exc:
        iter_records(csv_bytes(header + "\nu1,x,y\n"), "csv")
    assert expect in str(exc.value) and "columns found:" in str(exc.value)


def test_csv_id_column_is_the_post_id_and_not_the_row_position():
    [(_, acc)] = parsed(csv_bytes("account_id,id,text\nu1,p9,hi\nu1,p10,bye\n"), "csv")
    assert [p.id for p in acc.posts] == ["p9", "p10"] and acc.warnings == []
    [(_, acc)] = parsed(csv_bytes("account_id,post_id,id,text\nu1,p9,x,hi\n"), "csv")
    assert acc.posts[0].id == "p9"
    assert acc.warnings == ["[unknown_column] id: unknown column next to post_id; id is read as post_id only when "
                            "there is no post_id column (its values were not read)"]


def test_csv_unknown_columns_warn_on_every_account_and_strict_makes_one_error_row_per_account():
    data = "account_id,post_id,text,lang,body_len\nu1,p1,hi,zh,2\nu1,p2,yo,zh,2\nu2,p1,hey,en,3\n"
    out = parsed(csv_bytes(data), "csv")
    assert [a.account_id for _, a in out] == ["u1", "u2"]
    for _, acc in out:
        assert acc.warnings == ["[unknown_column] lang: unknown column (its values were not read)",
                                "[unknown_column] body_len: unknown column (its values were not read)"]
    assert [p.text for p in out[0][1].posts] == ["hi", "yo"]
    strict = parsed(csv_bytes(data), "csv", strict=True)
    assert [line for line, _ in strict] == [2, 4]
    assert [e.account_id for _, e in strict] == ["u1", "u2"]
    assert str(strict[1][1]) == ("line 4: [unknown_column] lang: unknown column; rejected in strict mode "
                                 "(the record is not scored)")


def test_csv_cells_beyond_the_header_are_reported():
    [(_, acc)] = parsed(csv_bytes("account_id,text\nu1,hello,vx_test01\n"), "csv")
    assert acc.posts[0].text == "hello"
    assert acc.warnings == ["[unknown_column] (no name): a cell outside the header's named columns is not empty "
                            "(its value was not read)"]


# ------------------------------------------------------------------ Parquet

def test_parquet_columns_follow_the_csv_rules(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    ok = tmp_path / "ok.parquet"
    pq.write_table(pa.table({"account_id": ["u1", "u1"], "id": ["p9", "p10"], "text": [SOLICIT, "bye"],
                             "lang": ["zh", "zh"]}), ok)
    [(_, acc)] = parsed(ok, "parquet")
    assert [p.id for p in acc.posts] == ["p9", "p10"] and acc.posts[0].text == SOLICIT
    assert acc.warnings == ["[unknown_column] lang: unknown column (its values were not read)"]
    [(line, err)] = parsed(ok, "parquet", strict=True)
    assert isinstance(err, RecordError) and "rejected in strict mode" in str(err) and err.account_id == "u1"
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"account_id": ["u1"], "content": [SOLICIT]}), bad)
    with pytest.raises(InputError, match="Parquet file has no 'text' column; 'content' looks like it"):
        iter_records(bad)


# ------------------------------------------------------------------ through the scorer

def test_verdicts_carry_the_warnings_strict_gives_error_rows_and_every_record_gets_one_output():
    posts = [{"id": f"p{i}", "text": "包夜 加薇 abc123"} for i in range(6)]  # FakeClassifier's keywords
    lines = [
        json.dumps({"account_id": "ok", "posts": posts}),
        json.dumps({"account_id": "extra", "crawl_batch": 1, "posts": posts}),
        json.dumps({"account_id": "lost", "posts": [{"id": "p1", "content": "包夜 加薇 abc123"}]}),
        "not json",
    ]
    data = ("\n".join(lines) + "\n").encode()
    out = list(score_accounts(iter_records(io.BytesIO(data)), model=FakeClassifier()))
    assert [v["account_id"] for v in out] == ["ok", "extra", "lost", None]
    assert "warnings" not in out[0] and out[0]["error"] is None
    assert out[1]["warnings"] == ["[unknown_field] crawl_batch: unknown account field (its value was not read)"]
    assert out[1]["labels"] == out[0]["labels"] and out[1]["labels"]  # a warning does not change the verdict
    assert out[2]["error"]["type"] == "RecordError" and "did you mean text?" in out[2]["error"]["message"]
    assert verdict_stats(out[1])["warnings"] == {"unknown_field": 1}

    strict = list(score_accounts(iter_records(io.BytesIO(data)), model=FakeClassifier(), strict=True))
    assert len(strict) == 4 and strict[0]["error"] is None and strict[0]["labels"] == out[0]["labels"]
    assert strict[1]["account_id"] == "extra" and "rejected in strict mode" in strict[1]["error"]["message"]
