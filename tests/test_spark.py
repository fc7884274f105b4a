"""Spark path = batch scorer: same verdict bytes, same error records, model loaded once per worker.

The reference is :func:`cleanclf.batch.score_accounts` on the same input (what ``cleanclf
score`` writes). Most tests use the batch tests' keyword double (``FakeClassifier``), pickled
to the executors by value; the last test uses the real bundle and skips until it has a text
model. One local[2] SparkSession serves the module; tests that need no JVM run without pyspark.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest

from cleanclf.batch import score_accounts
from cleanclf.scoring import dumps_line
from cleanclf.categories import CATEGORIES
from cleanclf.errors import InputError
from cleanclf.schema import iter_records

sys.path.insert(0, str(Path(__file__).parent))
import test_batch  # noqa: E402  - the batch tests' FakeClassifier and record builders
from test_batch import FakeClassifier, acc, mixed  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------- no JVM needed
def test_import_starts_nothing_and_missing_pyspark_says_how_to_install():
    code = ("import sys; sys.modules['pyspark'] = None\n"
            "import cleanclf.spark as s\n"
            "assert 'py4j' not in sys.modules\n"
            "try:\n    s.score(None)\nexcept ImportError as e:\n"
            "    print(type(e).__name__, e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("MissingDependencyError")
    assert "pip install 'cleanclf[spark]'" in out


@pytest.mark.parametrize("kw,arg", [({"posts": "some"}, "posts"), ({"image_mode": "slow"}, "image_mode"),
                                    ({"partitions": 0}, "partitions")])
def test_bad_options_name_the_argument(kw, arg):
    pytest.importorskip("pyspark")
    from cleanclf.spark import score_file

    with pytest.raises(InputError, match=arg):
        score_file("in.jsonl", "out.jsonl", **kw)


def test_default_partitions_are_whole_rounds_of_the_cores():
    from cleanclf.spark import default_partitions

    for records in (0, 1, 20_000, 99_999, 100_000, 1_000_000, 10_000_000):
        for cores in (1, 2, 3, 8, 64):
            n = default_partitions(records, cores)
            assert n % cores == 0 and n >= 2 * cores, (records, cores, n)
            assert records / n <= 20_000, (records, cores, n)  # no task above the per-task cap
            assert n - cores < max(2 * cores, -(-records // 20_000))  # and no extra round
    assert default_partitions(100_000, 2) == 6  # 5 would leave a core idle for the last round
    assert default_partitions(1000, 0) == 2  # a nonsense parallelism still gives a valid count


def test_bad_extensions_name_the_path(tmp_path):
    pytest.importorskip("pyspark")
    from cleanclf.spark import score_file

    with pytest.raises(InputError, match="in_path"):
        score_file(tmp_path / "dump.csv", tmp_path / "v.jsonl")
    with pytest.raises(InputError, match="out_path"):
        score_file(tmp_path / "dump.jsonl", tmp_path / "v.csv")


# ---------------------------------------------------------------------------- Spark
@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    pytest.importorskip("pyspark")
    pytest.importorskip("pyarrow")
    from pyspark import cloudpickle
    from pyspark.sql import SparkSession

    from cleanclf.spark import LOAD_LOG_ENV

    # Executors cannot import the tests directory: ship the double's code by value.
    cloudpickle.register_pickle_by_value(test_batch)
    log = tmp_path_factory.mktemp("spark") / "loads.log"
    os.environ[LOAD_LOG_ENV] = str(log)  # inherited by the JVM, hence by its Python workers
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    s = (SparkSession.builder.master("local[2]").appName("cleanclf-tests")
         .config("spark.ui.enabled", "false")
         .config("spark.sql.shuffle.partitions", "4")
         .config("spark.python.worker.reuse", "true")
         # tiny splits: a small file is read by several tasks, so line numbering across splits is exercised
         .config("spark.sql.files.maxPartitionBytes", "2048")
         .config("spark.sql.execution.arrow.maxRecordsPerBatch", "16")
         .config("spark.ui.showConsoleProgress", "false")
         .config("spark.driver.host", "127.0.0.1")
         .getOrCreate())
    s.sparkContext.setLogLevel("ERROR")
    s.load_log = log
    yield s
    s.stop()
    os.environ.pop(LOAD_LOG_ENV, None)


def _batch_bytes(path, model, **kw) -> bytes:
    return b"".join(dumps_line(v) for v in score_accounts(iter_records(path), model=model, **kw))


def _assert_same(spark_lines: list[dict], batch_lines: list[dict]):
    assert len(spark_lines) == len(batch_lines)
    for s, b in zip(spark_lines, batch_lines):
        assert s["account_id"] == b["account_id"] and s["labels"] == b["labels"]
        assert s["error"] == b["error"] and s.get("line") == b.get("line")
        for c in CATEGORIES:
            assert (s["scores"][c] is None) == (b["scores"][c] is None)
            if b["scores"][c] is not None:
                assert abs(s["scores"][c] - b["scores"][c]) <= 1e-9


def _malformed_jsonl(path: Path) -> None:
    recs = mixed(40)
    recs[3]["posts"][0]["images"] = ["a/lewd.jpg", "b/missing.jpg"]
    lines = [json.dumps(r, ensure_ascii=False).encode() for r in recs]
    lines[5:5] = [b"{broken", b"", b"   ", b'\xff{"account_id": "x"}', b'{"posts": []}',
                  b'{"account_id": "t1", "posts": [{"text": 5}]}', b'{"account_id": "t2", ',
                  b"[1, 2]", '\ufeff{"account_id": "bom"}'.encode(), b'{"account_id": "crlf"}\r',
                  b'{"account_id": "sur", "posts": [{"text": "a\\ud800b"}]}']
    path.write_bytes(b"\n".join(lines) + b"\n" + b'{"account_id": "last", "posts": [{"text": "\xe5\x8c\x85\xe5\xa4\x9c"}]}')


def test_nested_jsonl_with_malformed_lines_is_byte_identical(spark, tmp_path):
    from cleanclf.spark import score_file

    dump = tmp_path / "dump.jsonl"
    _malformed_jsonl(dump)
    model = FakeClassifier()
    out = tmp_path / "v.jsonl"
    summary = score_file(dump, out, spark=spark, model=model, partitions=3)
    expected = _batch_bytes(dump, model, images_root=str(tmp_path))
    got = out.read_bytes()
    assert got == expected
    _assert_same([json.loads(x) for x in got.splitlines()], [json.loads(x) for x in expected.splitlines()])
    errors = [json.loads(x) for x in expected.splitlines() if json.loads(x)["error"]]
    assert summary["accounts"] == len(expected.splitlines()) and summary["errors"] == len(errors) == 6
    assert any(e["error"]["message"].startswith("line 9: not valid UTF-8") for e in errors)


def test_gzipped_jsonl_is_byte_identical(spark, tmp_path):
    import gzip

    from cleanclf.spark import score_file

    plain = tmp_path / "plain.jsonl"
    _malformed_jsonl(plain)
    dump = tmp_path / "dump.jsonl.gz"
    dump.write_bytes(gzip.compress(plain.read_bytes()))
    model = FakeClassifier()
    out = tmp_path / "v.jsonl"
    score_file(dump, out, spark=spark, model=model, posts="none")
    assert out.read_bytes() == _batch_bytes(dump, model, images_root=str(tmp_path), posts="none")


def _flat_table(path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = []
    for r in mixed(30):
        posts = r["posts"] or [{"id": None, "text": None, "images": []}]  # profile-only row
        for p in posts:
            rows.append({"account_id": r["account_id"], "post_id": p["id"], "text": p["text"],
                         "images": p["images"], "created_at": "2024-01-01", "nickname": r["profile"]["nickname"],
                         "bio": r["profile"]["bio"]})
    rows.insert(7, {"account_id": None, "post_id": "x", "text": "包夜", "images": [], "created_at": None,
                    "nickname": None, "bio": None})
    rows.append(dict(rows[0], post_id="again"))  # u0 reappears after other accounts: an error record
    rows.append({"account_id": "", "post_id": "y", "text": "t", "images": None, "created_at": None,
                 "nickname": None, "bio": None})
    rows[12]["images"] = ["lewd/1.jpg"]
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=9)


def test_flat_parquet_is_byte_identical(spark, tmp_path):
    from cleanclf.spark import score_file

    table = tmp_path / "posts.parquet"
    _flat_table(table)
    model = FakeClassifier()
    out = tmp_path / "v.jsonl"
    score_file(table, out, spark=spark, model=model, posts="all")
    expected = _batch_bytes(table, model, images_root=str(tmp_path), posts="all")
    assert out.read_bytes() == expected
    msgs = [json.loads(x)["error"]["message"] for x in expected.splitlines() if json.loads(x)["error"]]
    assert sum("reappears" in m for m in msgs) == 2 and len(msgs) == 4  # u1 split by the null row, u0 at the end


def test_flat_jsonl_table_matches_the_parquet_table(spark, tmp_path):
    import pyarrow.parquet as pq

    from cleanclf.spark import score_file

    table = tmp_path / "posts.parquet"
    _flat_table(table)
    rows = pq.read_table(table).to_pylist()
    model = FakeClassifier()
    flat = tmp_path / "posts.jsonl"
    flat.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "v.jsonl"
    score_file(flat, out, spark=spark, model=model, layout="flat")
    assert out.read_bytes() == _batch_bytes(table, model, images_root=str(tmp_path))

    # a blank line inside an account is not a record and does not split it; a broken line is
    # an error record with its line number and ends the run of the account around it
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    assert [r["account_id"] for r in rows[2:7]] == ["u1"] * 5
    lines[4:4] = ["  "]      # line 5, between u1's p1 and p2
    lines[7:7] = ["{oops"]   # line 8, between u1's p3 and p4
    flat.write_text("\n".join(lines) + "\n", encoding="utf-8")
    score_file(flat, out, spark=spark, model=model, layout="flat")
    got = [json.loads(x) for x in out.read_bytes().splitlines()]
    assert got[1]["account_id"] == "u1" and got[1]["counts"]["posts"] == 4 and got[1]["error"] is None
    assert got[2]["line"] == 8 and got[2]["error"]["message"].startswith("line 8: not valid JSON")
    assert got[3]["line"] == 9 and "'u1' reappears" in got[3]["error"]["message"]


def test_score_dataframe_columns_match_batch(spark):
    from cleanclf.spark import score

    recs = mixed(25)
    recs[2]["posts"][0]["images"] = ["x/lewd.png"]
    schema = ("account_id string, profile struct<nickname:string,bio:string>, "
              "posts array<struct<id:string,text:string,images:array<string>,created_at:string>>")
    df = spark.createDataFrame([(r["account_id"], r["profile"], [dict(p, created_at=None) for p in r["posts"]])
                                for r in recs], schema)
    model = FakeClassifier()
    rows = score(df, model=model, posts="none").orderBy("line").collect()
    ref = list(score_accounts(recs, model=model, posts="none"))
    assert [r["line"] for r in rows] == list(range(1, 26))
    for r, v in zip(rows, ref):
        assert r["verdict"] + "\n" == dumps_line(v).decode()
        assert r["account_id"] == v["account_id"] and r["labels"] == v["labels"] and r["error"] is None
        assert r["escalate"] == v["escalate"] and r["model"] == "fake@0"
        assert r["counts"]["flagged"].asDict() == v["counts"]["flagged"]
        for c in CATEGORIES:
            assert (r["scores"][c] is None and v["scores"][c] is None) or abs(r["scores"][c] - v["scores"][c]) <= 1e-9


def test_dataframe_without_account_id_is_refused(spark):
    from cleanclf.spark import score

    with pytest.raises(InputError, match="account_id"):
        score(spark.createDataFrame([("a",)], "text string"), model=FakeClassifier())


def test_model_loaded_once_per_python_worker(spark):
    from cleanclf.spark import score

    model = FakeClassifier()
    model.nonce = uuid.uuid4().hex  # a model no worker has cached yet
    df = spark.createDataFrame([(f"u{i}", ("n", ""), [("p0", "包夜 加薇 abc1", [], None)]) for i in range(400)],
                               "account_id string, profile struct<nickname:string,bio:string>, "
                               "posts array<struct<id:string,text:string,images:array<string>,created_at:string>>")
    out = score(df, model=model, partitions=8)
    assert out.count() == 400  # 8 tasks (each with several Arrow batches of 16 rows) on 2 cores
    loads = [ln.split() for ln in Path(spark.load_log).read_text().splitlines()]
    mine = Counter(pid for pid, key in loads if key == f"object:{_key_of(model)}:{model.model_id}")
    assert 1 <= len(mine) <= 2          # local[2]: at most two Python workers ...
    assert set(mine.values()) == {1}    # ... each loaded the model exactly once, for 8 tasks


def _key_of(model) -> str:
    import hashlib

    from pyspark import cloudpickle

    return hashlib.sha256(cloudpickle.dumps(model)).hexdigest()[:16]


def test_real_bundle_matches_batch(spark, tmp_path):
    from cleanclf.spark import score_file

    dump = tmp_path / "dump.jsonl"
    recs = [acc(i, t) for i, t in enumerate([["加薇 abc123 包夜 全套"] * 5, ["今天天气不错", "去公园散步"],
                                              ["看片资源群 私聊"] * 4, []] * 5)]
    dump.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in recs) + "\n{bad\n", encoding="utf-8")
    out = tmp_path / "v.jsonl"
    score_file(dump, out, spark=spark, model="default")
    expected = _batch_bytes(dump, "default", images_root=str(tmp_path))
    got = out.read_bytes()
    _assert_same([json.loads(x) for x in got.splitlines()], [json.loads(x) for x in expected.splitlines()])
    assert got == expected


def test_cli_engine_spark_writes_what_the_local_engine_writes(spark, tmp_path):
    from cleanclf.cli import main

    dump = ROOT / "examples" / "accounts.jsonl"
    assert main(["score", str(dump), "-o", str(tmp_path / "local.jsonl"), "--no-progress"]) == 0
    assert main(["score", str(dump), "-o", str(tmp_path / "spark.jsonl"), "--engine", "spark"]) == 0
    assert (tmp_path / "spark.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    assert main(["score", str(dump), "-o", str(tmp_path / "x.jsonl"), "--engine", "spark", "--resume"]) == 2


def test_cli_engine_spark_reports_failed_images_like_the_local_engine(spark, tmp_path):
    from cleanclf.cli import main

    posts = [{"id": f"p{i}", "text": "今天去海边散步", "images": [f"gone{i}.jpg", "gone.png"]} for i in range(3)]
    dump = tmp_path / "d.jsonl"
    dump.write_text(json.dumps({"account_id": "pics", "posts": posts}) + "\n"
                    + json.dumps({"account_id": "text", "posts": [{"id": "q", "text": "晚饭吃面"}]}) + "\n",
                    encoding="utf-8")
    local, on_spark = tmp_path / "local.jsonl", tmp_path / "spark.jsonl"
    assert main(["score", str(dump), "-o", str(local), "--no-progress"]) == 3
    assert main(["score", str(dump), "-o", str(on_spark), "--engine", "spark"]) == 3
    assert on_spark.read_bytes() == local.read_bytes()  # same verdicts, image_status included
    v = json.loads(on_spark.read_bytes().splitlines()[0])
    assert v["scores"]["lewd_images"] is None and v["image_status"]["reason"] == "not_found"
    rec = json.loads((tmp_path / "spark.jsonl.run.json").read_text(encoding="utf-8"))
    assert rec["engine"] == "spark" and rec["exit_code"] == 3 and rec["over_max_error_rate"] == ["images"]
    assert (rec["counts"]["images"], rec["counts"]["images_failed"]) == (0, 6)
