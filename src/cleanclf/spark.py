"""Scoring account dumps on Spark, when one machine is not enough (optional extra).

``pip install 'cleanclf[spark]'`` adds pyspark, pyarrow and pandas. Importing this module
needs none of them and starts no JVM; :func:`score` and :func:`score_file` do.

The Spark path is the batch scorer (:mod:`cleanclf.batch`) distributed, not a second
implementation: every executor runs the same :class:`~cleanclf.scoring.AccountScorer` (same
record validation by :func:`~cleanclf.schema.parse_record`, same flat-table grouping by
:class:`~cleanclf.schema.Grouper`, same :class:`~cleanclf.accounts.AccountModel` aggregation,
same :func:`~cleanclf.scoring.dumps_line`, same :func:`~cleanclf.batch.chunks`), so the
``verdict`` column holds, byte for byte, the line ``cleanclf score`` writes for that record
(without its newline).

How it runs:

* Input rows are numbered first (a cheap counting job over the scan), so each record
  keeps its 1-based line (JSONL) or row (Parquet, DataFrame) number, exactly like the
  batch readers; error records carry it and the JSONL writer restores input order.
* Nested input (``account_id, profile, posts``) and raw JSONL lines are scored with
  ``mapInArrow``; flat input (one post per row) is grouped by ``account_id`` in the JVM
  (``collect_list``), then split back into *contiguous runs* in Python, so a repeated,
  non-contiguous account gives the same error record as the batch reader.
  ``mapInArrow`` rather than ``mapInPandas``: pandas turns nested lists into numpy arrays
  and null integers into NaN, which the record validation would reject or alter; Arrow's
  ``to_pylist`` gives the plain JSON-like objects the batch readers produce.
* The model is loaded once per executor Python process and kept in a module-level
  cache keyed by the model (bundle name/path and its verified id, or the hash of a
  pickled scorer). With ``spark.python.worker.reuse=true`` (Spark's default) a worker
  serves many tasks, so a bundle is loaded once per worker, not per task or per batch.

>>> from cleanclf.spark import score, score_file                      # no JVM, no pyspark needed
>>> from pyspark.sql import SparkSession                              # doctest: +SKIP
>>> spark = SparkSession.builder.master("local[2]").getOrCreate()     # doctest: +SKIP
>>> df = spark.createDataFrame([("u1", ("小王", ""), [("p1", "你好", [], None)])],
...     "account_id string, profile struct<nickname:string,bio:string>, "
...     "posts array<struct<id:string,text:string,images:array<string>,created_at:string>>")  # doctest: +SKIP
>>> score(df).select("account_id", "labels", "error").first()        # doctest: +SKIP
Row(account_id='u1', labels=[], error=None)
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

from .batch import DEFAULT_CHUNK_BYTES, DEFAULT_CHUNK_SIZE, chunks, resolve_model
from .categories import CATEGORIES
from .errors import InputError, MissingDependencyError, RecordError, describe
from .schema import (MAX_RECORD_BYTES, TABLE_COLUMNS, Grouper, Item, decode_line, nan_to_none, oversized_record_error,
                     record_error)
from .scoring import AccountScorer, check_count, check_scoring_opts, dumps_line

INSTALL_HINT = "pip install 'cleanclf[spark]'"

#: Environment variable: when set to a file path, every model load in an executor Python
#: process appends ``"<pid> <kind>:<name, path or hash>:<model id>"`` to it (how the tests, and a cluster operator,
#: check that the model is loaded once per worker and not per task).
LOAD_LOG_ENV = "CLEANCLF_SPARK_LOAD_LOG"

_COUNT_FIELDS = ("posts", "posts_with_text", "images", "flagged", "repeated_contact_posts", "escalated_posts",
                 "errors")

#: Spark schema of :func:`score`'s result (DDL). ``evidence`` and ``posts`` are only in the
#: ``verdict`` JSON: their shape varies by kind and they are read by people, not queries.
RESULT_DDL = (
    "account_id string, labels array<string>, "
    "scores struct<" + ", ".join(f"{c}: double" for c in CATEGORIES) + ">, "
    "counts struct<posts: bigint, posts_with_text: bigint, images: bigint, "
    "flagged: struct<" + ", ".join(f"{c}: bigint" for c in CATEGORIES) + ">, "
    "repeated_contact_posts: bigint, escalated_posts: bigint, errors: bigint>, "
    "escalate boolean, error struct<type: string, message: string>, model string, "
    "line bigint, input_file string, verdict string"
)


# ---------------------------------------------------------------------------- dependencies
def _require_pyspark(what: str) -> None:
    try:
        import pyarrow  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(f"{what} needs pyspark and pyarrow ({exc.name} is missing): {INSTALL_HINT}") from None


# ---------------------------------------------------------------------------- model cache (executors)
_CACHE: dict[tuple, Any] = {}
_CACHE_LOCK = threading.Lock()


def _note_load(key: tuple) -> None:
    path = os.environ.get(LOAD_LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as fh:  # one short write: atomic enough across processes
            fh.write(f"{os.getpid()} {key[0]}:{key[1]}:{key[2]}\n")


def _classifier(spec: dict):
    """The scorer for ``spec``, loaded at most once per Python process (the executor's worker)."""
    key = spec["key"]
    clf = _CACHE.get(key)
    if clf is not None:
        return clf
    with _CACHE_LOCK:  # Arrow UDFs may feed batches from a writer thread: load once even then
        clf = _CACHE.get(key)
        if clf is None:
            if spec["kind"] == "load":
                from .classify import Classifier

                clf = Classifier.load(spec["value"], trust=spec["trust"])
                # Same id is not enough: a bundle rebuilt in place keeps its name@version. The
                # manifest holds every file's sha256, so equal manifests mean equal models.
                digest = _manifest_digest(Path(clf.directory))
                if clf.model_id != spec["model_id"] or digest != spec["manifest"]:
                    raise RuntimeError(
                        f"model: this executor loaded {clf.model_id} (manifest sha256 {digest[:12]}) from "
                        f"{spec['value']!r}, but the driver verified {spec['model_id']} (manifest sha256 "
                        f"{spec['manifest'][:12]}); install the same bundle on every executor")
            else:
                import pickle

                clf = pickle.loads(spec["value"])
            _CACHE[key] = clf
            _note_load(key)
    return clf


def _manifest_digest(directory: Path) -> str:
    return hashlib.sha256((directory / "manifest.json").read_bytes()).hexdigest()


def _model_spec(model, trust_model: bool) -> dict:
    """What executors need to get the model: a bundle name/path (loaded there) or a pickled scorer."""
    clf, (kind, value), model_id = resolve_model(model, trust=trust_model)
    if kind == "load":
        from . import models

        directory = Path(value)
        digest = _manifest_digest(directory)
        # A bundle living in the models directory travels by *name*: each executor resolves
        # it in its own installation (the driver's absolute path may not exist there).
        if directory.parent.resolve() == models.models_root().resolve():
            return {"kind": "load", "value": directory.name, "trust": False, "model_id": model_id,
                    "manifest": digest, "key": ("bundle", directory.name, f"{model_id}/{digest[:12]}")}
        return {"kind": "load", "value": str(directory), "trust": True, "model_id": model_id,
                "manifest": digest, "key": ("bundle", str(directory), f"{model_id}/{digest[:12]}")}
    from pyspark import cloudpickle  # pickles classes defined in notebooks/__main__ by value

    blob = cloudpickle.dumps(clf)
    return {"kind": "object", "value": blob, "trust": True, "model_id": model_id,
            "key": ("object", hashlib.sha256(blob).hexdigest()[:16], model_id)}


# ---------------------------------------------------------------------------- executor side
def _arrow_schema():
    import pyarrow as pa

    i64, f64, s = pa.int64(), pa.float64(), pa.string()
    return pa.schema([
        ("account_id", s), ("labels", pa.list_(s)),
        ("scores", pa.struct([(c, f64) for c in CATEGORIES])),
        ("counts", pa.struct([("posts", i64), ("posts_with_text", i64), ("images", i64),
                              ("flagged", pa.struct([(c, i64) for c in CATEGORIES])),
                              ("repeated_contact_posts", i64), ("escalated_posts", i64), ("errors", i64)])),
        ("escalate", pa.bool_()), ("error", pa.struct([("type", s), ("message", s)])),
        ("model", s), ("line", i64), ("input_file", s), ("verdict", s),
    ])


def _safe(s):
    # Arrow strings must be valid UTF-8; a lone surrogate in an error message would abort the
    # task. The verdict JSON itself is always valid (dumps_line escapes what cannot encode).
    if s is None or not isinstance(s, str):
        return s
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "backslashreplace").decode("utf-8")


def _row(v: dict, line: int | None, input_file: str | None) -> dict:
    raw = dumps_line(v)
    c = v["counts"]
    counts = None
    if c:  # error records have empty counts: a null struct, not a struct of nulls
        counts = {k: c.get(k) for k in _COUNT_FIELDS}
        counts["flagged"] = {cat: (c.get("flagged") or {}).get(cat) for cat in CATEGORIES}
    err = v["error"]
    return {
        "account_id": _safe(v["account_id"]),
        "labels": list(v["labels"]),
        "scores": {cat: v["scores"].get(cat) for cat in CATEGORIES},
        "counts": counts,
        "escalate": bool(v["escalate"]),
        "error": None if err is None else {"type": _safe(err.get("type")), "message": _safe(err.get("message"))},
        "model": v["model"],
        "line": line,
        "input_file": input_file,
        "verdict": raw[:-1].decode("utf-8"),  # without the newline the writer adds back
    }


class _Lines:
    """Maps (``_mid``, ``_file``, ``_block``) of a scanned row to its 1-based line/row in its file."""

    def __init__(self, index: dict):
        self.index = index

    def __call__(self, mid: int, file: str, block: int) -> tuple[int, str | None]:
        offset, first = self.index[(mid >> 33, file, block)]
        return offset + (mid - first) + 1, (file or None)


def _items_jsonl(rows: list[dict], lines: _Lines) -> Iterator[tuple[Item, str | None]]:
    for r in rows:
        line, file = lines(r["_mid"], r["_file"], r["_block"])
        raw = r["raw"]
        if not raw.strip():
            continue  # blank lines are not records, exactly as in the schema JSONL reader (line numbers still count them)
        if len(raw) > MAX_RECORD_BYTES:
            yield Item(line, oversized_record_error(line)), file
            continue
        # The batch reader hands parse_record the line *with* its newline; JSON error columns
        # at the end of a truncated line depend on it, so put it back.
        yield Item(line, raw + b"\n"), file


def _items_nested(rows: list[dict], lines: _Lines) -> Iterator[tuple[Item, str | None]]:
    for r in rows:
        line, file = lines(r.pop("_mid"), r.pop("_file"), r.pop("_block"))
        yield Item(line, r), file


def _flat_json_row(raw: bytes, line: int):
    """One line of a flat JSONL table as a row dict, or the RecordError the line deserves."""
    if len(raw) > MAX_RECORD_BYTES:
        return oversized_record_error(line)
    try:
        obj = decode_line(raw + b"\n", line)
    except RecordError as exc:
        return exc
    if not isinstance(obj, dict):
        return record_error(line, f"expected a JSON object (a table row with {', '.join(TABLE_COLUMNS)}), got {describe(obj)}")
    return {c: obj.get(c) for c in TABLE_COLUMNS}


def _items_flat(groups: list[dict], lines: _Lines, cols: list[str], jsonl: bool = False,
                blank: dict | None = None, strict: bool = False) -> Iterator[tuple[Item, str | None]]:
    def follows(prev, file, line) -> bool:
        # consecutive records of one file; blank JSONL lines are not records, so they do not
        # separate the rows of an account (the batch readers skip them the same way)
        if file != prev[0]:
            return False
        nxt, skip = prev[1] + 1, (blank or {}).get(file, ())
        while nxt in skip:
            nxt += 1
        return line == nxt

    for g in groups:
        numbered = []
        for r in g["rows"]:
            line, file = lines(r["_mid"], r["_file"], r["_block"])
            if jsonl and not r["raw"].strip():
                continue
            numbered.append((file or "", line, r))
        numbered.sort(key=lambda t: (t[0], t[1]))
        # Replay the account's rows through the batch reader's grouper, run by run: a run is a
        # stretch of consecutive rows of one file, which is what the batch reader sees as one
        # group; a later run of the same id becomes its "reappears after other accounts" error.
        grouper = Grouper(strict=True) if strict else Grouper()
        prev = None
        for file, line, r in numbered:
            if prev is not None and not follows(prev, file, line):
                for item in grouper.flush():  # the finished run belongs to the previous row's file
                    yield item, prev[0] or None
            row = _flat_json_row(r["raw"], line) if jsonl else {c: nan_to_none(r.get(c)) for c in cols}
            if isinstance(row, RecordError):  # a broken line ends the run, like a broken CSV row
                for item in grouper.flush():
                    yield item, (prev[0] if prev is not None else file) or None
                yield Item(line, row), file or None
            else:
                for item in grouper.add(line, row):
                    # a finished run (flushed by an invalid id) or this row's own error
                    yield item, (prev[0] if item.line != line and prev is not None else file) or None
            prev = (file, line)
        for item in grouper.flush():
            yield item, prev[0] or None


def _score_partition(batches, *, cfg: dict):
    """``mapInArrow`` body: Arrow batches of input rows in, Arrow batches of verdict rows out."""
    import pyarrow as pa

    clf = _classifier(cfg["model"])
    scorer = AccountScorer(clf, **cfg["opts"])
    schema = _arrow_schema()
    lines = _Lines(cfg["index"])
    layout = cfg["layout"]
    for batch in batches:
        rows = batch.to_pylist()
        if layout == "jsonl":
            pairs = list(_items_jsonl(rows, lines))
        elif layout == "nested":
            pairs = list(_items_nested(rows, lines))
        else:
            pairs = list(_items_flat(rows, lines, cfg["cols"], jsonl=layout == "flat_jsonl", blank=cfg.get("blank"),
                                     strict=bool(cfg["opts"].get("strict"))))
        files = {id(item): file for item, file in pairs}  # items stay alive in pairs: ids are stable
        out = []
        for chunk in chunks((item for item, _ in pairs), DEFAULT_CHUNK_SIZE, DEFAULT_CHUNK_BYTES):
            for item, v in zip(chunk, scorer.score(chunk)):
                out.append(_row(v, item.line, files[id(item)]))
        if out:
            yield pa.RecordBatch.from_pylist(out, schema=schema)


# ---------------------------------------------------------------------------- driver side
def _with_index(df):
    """Add scan-position columns and count rows per scanned split, so lines can be numbered.

    ``monotonically_increasing_id`` is (partition << 33) + row-in-partition: consecutive
    within a split but not across splits, so a counting job over the same scan gives each
    (partition, file, split start) its offset inside its file. Needs a deterministic plan
    (a file scan, or a persisted/checkpointed DataFrame): the counting job and the scoring
    job read it twice.
    """
    from pyspark.sql import functions as F

    df = (df.withColumn("_mid", F.monotonically_increasing_id())
            .withColumn("_file", F.input_file_name())
            .withColumn("_block", F.input_file_block_start()))
    stats = (df.groupBy(F.shiftright("_mid", 33).alias("pid"), "_file", "_block")
               .agg(F.count(F.lit(1)).alias("n"), F.min("_mid").alias("m0"))
               .collect())
    index: dict[tuple, tuple[int, int]] = {}
    offsets: dict[str, int] = {}
    total = 0
    for r in sorted(stats, key=lambda r: (r["_file"], r["_block"], r["pid"])):
        off = offsets.get(r["_file"], 0)
        index[(r["pid"], r["_file"], r["_block"])] = (off, r["m0"])
        offsets[r["_file"]] = off + r["n"]
        total += r["n"]
    return df, index, total


def _blank_lines(indexed, index: dict) -> dict[str, set[int]]:
    """Line numbers of whitespace-only lines per file (few in practice; they are not records)."""
    from pyspark.sql import functions as F

    lines = _Lines(index)
    out: dict[str, set[int]] = {}
    # bytes.strip() whitespace: space, \t, \n, \r, \x0b, \x0c
    rows = indexed.where(F.col("raw").cast("string").rlike("^[ \\t\\n\\r\\x0B\\f]*$")).select(
        "_mid", "_file", "_block").collect()
    for r in rows:
        line, _ = lines(r["_mid"], r["_file"], r["_block"])
        out.setdefault(r["_file"] or "", set()).add(line)
    return out


def _layout(df) -> str:
    cols = set(df.columns)
    if "account_id" not in cols:
        raise InputError(f"df: columns {sorted(cols)[:10]!r} have no 'account_id'; expected nested "
                         f"(account_id, profile, posts) or flat {TABLE_COLUMNS} columns")
    return "nested" if "posts" in cols else "flat"


def _score_indexed(df, index: dict, layout: str, spec: dict, opts: dict, partitions: int | None,
                   blank: dict | None = None):
    from pyspark.sql import functions as F

    cfg = {"model": spec, "opts": opts, "index": index, "layout": layout, "blank": blank}
    if layout in ("flat", "flat_jsonl"):
        cols = ["raw"] if layout == "flat_jsonl" else [c for c in TABLE_COLUMNS if c in df.columns]
        cfg["cols"] = [c for c in TABLE_COLUMNS if c in df.columns] if layout == "flat" else list(TABLE_COLUMNS)
        keyed = df.repartition(partitions, "account_id") if partitions else df
        df = keyed.groupBy("account_id").agg(
            F.collect_list(F.struct(*cols, "_mid", "_file", "_block")).alias("rows")).select("rows")
    else:
        keep = ["raw"] if layout == "jsonl" else [c for c in ("account_id", "profile", "posts") if c in df.columns]
        df = df.select(*keep, "_mid", "_file", "_block")
        if partitions:
            df = df.repartition(partitions)
    import functools

    return df.mapInArrow(functools.partial(_score_partition, cfg=cfg), RESULT_DDL)


def score(df, model="default", *, posts: str = "flagged", images_root=None, image_mode: str = "exact",
          image_screen: bool | None = None, trust_model: bool = False, partitions: int | None = None,
          strict: bool = False):
    """Score a Spark DataFrame of accounts; one verdict row per input record.

    ``df`` is *nested* (``account_id``, ``profile`` struct<nickname, bio>, ``posts``
    array<struct<id, text, images, created_at>>) or *flat* (one post per row:
    ``account_id, post_id, text, images, created_at, nickname, bio``; rows of one account
    must be contiguous, as for the batch reader). ``model`` is a bundle name, a bundle
    path (with ``trust_model=True``) or a scorer object (pickled to the executors).
    ``posts``, ``images_root``, ``image_mode`` and ``image_screen`` mean what they mean in
    :func:`cleanclf.batch.score_accounts` (as does ``strict``); ``images_root`` must exist on the executors.
    ``partitions`` repartitions the work (default: keep the input's partitions).

    Returns a DataFrame with columns ``account_id, labels, scores, counts, escalate, error,
    model, line, input_file, verdict`` (schema :data:`RESULT_DDL`): ``line`` is the record's
    1-based row in its file (or in the DataFrame), ``verdict`` the exact JSON line the batch
    scorer writes. Row numbers come from an extra counting job, so ``df`` must be
    deterministic (a file scan, or persisted); the rows come back in no particular order:
    sort by ``input_file, line`` for input order.

    >>> from cleanclf.spark import score
    >>> out = score(spark.read.parquet("posts.parquet"), posts="none")      # doctest: +SKIP
    >>> out.where("error is null").groupBy("labels").count().show()         # doctest: +SKIP
    """
    _require_pyspark("cleanclf.spark.score")
    check_scoring_opts(posts, image_mode, image_screen)
    check_count("partitions", partitions, optional=True)
    if not hasattr(df, "mapInArrow") or not hasattr(df, "columns"):
        raise InputError(f"df: expected a pyspark.sql.DataFrame, got {describe(df)}")
    layout = _layout(df)
    spec = _model_spec(model, trust_model)
    opts = {"posts": posts, "images_root": None if images_root is None else str(images_root),
            "image_mode": image_mode, "image_screen": image_screen, **({"strict": True} if strict else {})}
    indexed, index, _total = _with_index(df)
    return _score_indexed(indexed, index, layout, spec, opts, partitions)


# ---------------------------------------------------------------------------- files
def _session(master: str, extra_conf: dict | None):
    from pyspark.sql import SparkSession

    # Workers must run *this* interpreter (the one that has cleanclf); pyspark defaults to
    # whatever "python3" is on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    b = (SparkSession.builder.master(master).appName("cleanclf-score")
         .config("spark.ui.enabled", "false")
         .config("spark.ui.showConsoleProgress", "false")
         .config("spark.python.worker.reuse", "true")  # the model loads once per worker, not per task
         .config("spark.sql.shuffle.partitions", "8")
         .config("spark.sql.execution.arrow.maxRecordsPerBatch", "2048"))
    for k, v in (extra_conf or {}).items():
        b = b.config(k, v)
    return b.getOrCreate()


def default_partitions(records: int, parallelism: int, per_task: int = 20_000) -> int:
    """Scoring tasks for ``records`` on ``parallelism`` cores: a whole number of rounds.

    At least two tasks per core and at most ~``per_task`` records per task, rounded UP to a
    multiple of ``parallelism`` so the last round keeps every core busy. (5 equal tasks on
    2 cores run in 3 rounds, the last on one core: that capped local[2] at 1.50x local[1]
    on 100k accounts; 6 tasks gave 1.77x, benchmarks/RESULTS-spark.md.)

    >>> default_partitions(100_000, 2), default_partitions(20_000, 2), default_partitions(1_000_000, 8)
    (6, 4, 56)
    """
    parallelism = max(1, int(parallelism))
    n = max(2 * parallelism, math.ceil(records / per_task))
    return -(-n // parallelism) * parallelism


def _fs(spark, path: str):
    jvm = spark._jvm
    p = jvm.org.apache.hadoop.fs.Path(path)
    return p.getFileSystem(spark._jsc.hadoopConfiguration()), p


def _in_format(path: str) -> str:
    name = path.lower().rstrip("/")
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
        return "jsonl"
    if name.endswith(".parquet"):
        return "parquet"
    raise InputError(f"in_path: {path!r} has an unknown extension; expected .jsonl, .jsonl.gz, .ndjson or .parquet")


def _out_format(path: str) -> str:
    name = path.lower().rstrip("/")
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if name.endswith(".parquet"):
        return "parquet"
    raise InputError(f"out_path: {path!r} has an unknown extension; expected .jsonl (one file) or .parquet "
                     "(a Spark directory)")


def score_file(in_path, out_path, *, master: str = "local[2]", partitions: int | None = None, images_root=None,
               posts: str = "flagged", model="default", image_mode: str = "exact", image_screen: bool | None = None,
               trust_model: bool = False, layout: str = "auto", spark=None, conf: dict | None = None,
               strict: bool = False) -> dict:
    """Score a dump file on Spark into verdicts; returns a summary dict.

    ``in_path``: JSONL (``.jsonl``, ``.jsonl.gz``, ``.ndjson``; one account record per
    line, read as raw lines and validated by the batch code, so bad lines become the same
    error records with the same line numbers) or Parquet (nested or flat; a file or a
    Spark directory; paths may be any Hadoop URI). ``out_path``: ``.jsonl`` writes ONE
    file, in input order, byte-identical to ``cleanclf score``'s output; ``.parquet``
    writes a Spark directory with :data:`RESULT_DDL` columns, sorted by input position.
    ``images_root`` defaults, as in the CLI, to the input file's directory.
    ``layout``: ``"auto"`` (JSONL = one account record per line, as for ``cleanclf score``;
    Parquet = nested if it has a ``posts`` column, else flat), ``"nested"`` or ``"flat"``
    (a JSONL table with one post per line: ``{"account_id", "post_id", "text", ...}``; rows
    of one account contiguous, broken lines become error records and end the run).
    ``partitions``: scoring tasks (default :func:`default_partitions`: two per core or more, at most
    ~20k accounts each, a multiple of the cores). ``spark``: the session to use (default: the active one, if any, and then
    ``master`` and ``conf`` are ignored; otherwise one is created on ``master`` and stopped at
    the end); ``conf``: extra Spark settings for a created session.

    ``strict`` as in :func:`cleanclf.batch.score_accounts`.

    The summary: ``{"accounts", "errors", "escalate", <category>: count, "images",
    "images_failed", "images_not_scored", "seconds",
    "startup_seconds", "partitions", "out", "stages"}``; ``seconds`` excludes JVM start-up
    (``startup_seconds``, zero for a given session); ``stages`` splits it into line numbering,
    scoring (into a temporary Parquet) and summary + sorted write.

    >>> from cleanclf.spark import score_file
    >>> score_file("dump.jsonl", "verdicts.jsonl", master="local[2]")["accounts"]   # doctest: +SKIP
    20000
    """
    _require_pyspark("cleanclf.spark.score_file")
    check_scoring_opts(posts, image_mode, image_screen)
    check_count("partitions", partitions, optional=True)
    if layout not in ("auto", "nested", "flat"):
        raise InputError(f"layout: expected 'auto', 'nested' or 'flat', got {describe(layout)}")
    in_path, out_path = str(in_path), str(out_path)
    fmt_in, fmt_out = _in_format(in_path), _out_format(out_path)
    local_in = "://" not in in_path
    if local_in and not os.path.exists(in_path):
        raise FileNotFoundError(f"in_path: {in_path!r} does not exist")
    if "://" not in out_path and not os.path.isdir(os.path.dirname(os.path.abspath(out_path))):
        raise InputError(f"out_path: directory {os.path.dirname(os.path.abspath(out_path))!r} does not exist")
    if images_root is None and local_in:
        # Paths inside a dump are relative to the dump, as in `cleanclf score`.
        images_root = os.path.dirname(os.path.abspath(in_path))
    spec = _model_spec(model, trust_model)  # verify the bundle before paying for a JVM
    opts = {"posts": posts, "images_root": None if images_root is None else str(images_root),
            "image_mode": image_mode, "image_screen": image_screen, **({"strict": True} if strict else {})}

    t0 = time.monotonic()
    if spark is None:
        from pyspark.sql import SparkSession

        spark = SparkSession.getActiveSession()  # a notebook's session: use it, never stop it
    own = spark is None
    if own:
        spark = _session(master, conf)
    startup = time.monotonic() - t0
    tmp = f"{out_path.rstrip('/')}.cleanclf-tmp-{uuid.uuid4().hex[:8]}"
    try:
        t1 = time.monotonic()
        if fmt_in == "jsonl":
            from pyspark.sql import functions as F

            # lineSep "\n" only (not Hadoop's \r / \r\n handling): the batch reader splits on
            # b"\n" and keeps "\r"; the cast keeps the raw bytes, so invalid UTF-8 is still seen.
            text = spark.read.option("lineSep", "\n").text(in_path)
            if layout == "flat":
                # the JVM only needs the id to group rows; Python parses and validates the line
                df = text.select(F.col("value").cast("binary").alias("raw"),
                                 F.get_json_object("value", "$.account_id").alias("account_id"))
                layout = "flat_jsonl"
            else:
                df = text.select(F.col("value").cast("binary").alias("raw"))
                layout = "jsonl"
        else:
            df = spark.read.parquet(in_path)
            layout = _layout(df) if layout == "auto" else layout
        indexed, index, total = _with_index(df)
        blank = _blank_lines(indexed, index) if layout == "flat_jsonl" else None
        t_index = time.monotonic() - t1
        if partitions is None:
            partitions = default_partitions(total, spark.sparkContext.defaultParallelism)
        scored = _score_indexed(indexed, index, layout, spec, opts, partitions, blank)
        # Scoring runs once, into a temporary Parquet; sorting and summarising read that.
        scored.write.mode("overwrite").parquet(tmp)
        t_score = time.monotonic() - t1 - t_index
        res = spark.read.parquet(tmp)
        summary = _summary(res)
        ordered = res.orderBy("input_file", "line")
        if fmt_out == "parquet":
            ordered.write.mode("overwrite").parquet(out_path)
        else:
            _write_single_text(spark, ordered.select("verdict"), out_path, tmp + "-text")
        seconds = time.monotonic() - t1
        summary.update(seconds=seconds, startup_seconds=startup, partitions=partitions, out=out_path,
                       stages={"number_lines": t_index, "score": t_score, "summary_sort_write": seconds - t_index - t_score})
        return summary
    finally:
        try:
            for p in (tmp, tmp + "-text"):
                fs, hp = _fs(spark, p)
                if fs.exists(hp):
                    fs.delete(hp, True)
        finally:
            if own:
                spark.stop()


def _write_single_text(spark, df, out_path: str, tmp_dir: str) -> None:
    # coalesce(1) after the sort: one task concatenates the sorted partitions in order, so
    # the single part file is in input order; it is then renamed to out_path.
    df.coalesce(1).write.mode("overwrite").text(tmp_dir)
    fs, d = _fs(spark, tmp_dir)
    parts = [s.getPath() for s in fs.listStatus(d) if s.getPath().getName().startswith("part-")]
    if len(parts) != 1:
        raise RuntimeError(f"out_path: expected one part file in {tmp_dir!r}, found {len(parts)}")
    _, dst = _fs(spark, out_path)
    if fs.exists(dst):
        fs.delete(dst, False)
    if not fs.rename(parts[0], dst):
        raise RuntimeError(f"out_path: could not move {parts[0].toString()!r} to {out_path!r}")


def _summary(res) -> dict:
    from pyspark.sql import functions as F

    aggs = [F.count(F.lit(1)).alias("accounts"),
            F.sum(F.when(F.col("error").isNotNull(), 1).otherwise(0)).alias("errors"),
            F.sum(F.when(F.col("escalate"), 1).otherwise(0)).alias("escalate")]
    aggs += [F.sum(F.when(F.array_contains("labels", c), 1).otherwise(0)).alias(c) for c in CATEGORIES]
    # image health for the run record: the verdict's image_status (absent when all were scored)
    aggs += [F.sum(F.coalesce(F.col("counts.images"), F.lit(0))).alias("images"),
             F.sum(F.coalesce(F.get_json_object("verdict", "$.image_status.failed").cast("long"),
                              F.lit(0))).alias("images_failed"),
             F.sum(F.coalesce(F.get_json_object("verdict", "$.image_status.not_scored").cast("long"),
                              F.lit(0))).alias("images_not_scored")]
    row = res.agg(*aggs).first()
    return {k: int(row[k] or 0) for k in ["accounts", "errors", "escalate", *CATEGORIES, "images", "images_failed",
                                          "images_not_scored"]}


__all__ = ["score", "score_file", "default_partitions", "RESULT_DDL", "LOAD_LOG_ENV", "INSTALL_HINT"]
