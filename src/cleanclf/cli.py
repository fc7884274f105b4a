"""``cleanclf`` command line: ``score``, ``text``, ``image``, ``info``, ``train``, ``evaluate``, ``report``.

>>> from cleanclf.cli import build_parser
>>> build_parser().parse_args(["score", "in.jsonl", "-o", "out.jsonl", "--jobs", "2"]).jobs
2

Exit codes (every command):

* 0 -- the run completed and its error rates are within ``--max-error-rate``;
* 1 -- the run could not be carried out (model missing or broken, workers could not load it);
* 2 -- unusable arguments or input: missing input file, unknown extension, bad option, a flag
  that does not apply to the chosen ``--engine``, an input the reader cannot use at all (a CSV
  without an ``account_id`` column), an existing output without ``--force`` / ``--resume``, a
  ``--resume`` whose run record does not match;
* 3 -- the run completed, but with too many errors: more than ``--max-error-rate`` (default
  0.5) of the records are error rows, of the images failed, or of the texts failed
  (``cleanclf image``: some image could not be scored). Every verdict line was still written;
  the run record and the summary say what failed and why;
* 130 -- interrupted (``score``: rerun with ``--resume``).

Why 0.5: a dump with a few bad records is a normal dump and must exit 0 (its error rows say
which lines); a run where most records are unreadable (every line invalid JSON) or most images
failed (stdin input with relative image paths, a wrong ``--images-root``) scored nothing of
what it was given and must not look like success. ``--max-error-rate 0`` makes any error
fail the run; ``--max-error-rate 1`` never does.

The run record: ``cleanclf score ... -o OUT`` writes ``OUT.run.json`` (``--run-record PATH``
elsewhere; for ``-o -`` only with ``--run-record``). It is written before the first verdict
(``"status": "running"``: the input fingerprint, model and verdict-changing options that
``--resume`` checks) and rewritten at the end with the counts (accounts, posts, texts, images
scored / failed by reason / not scored for want of a component, error rows by type, warnings
by code, flagged accounts), the error rates, throughput, duration, status and exit code.

Output safety: an existing non-empty OUT is never overwritten without ``--force`` (exit 2).
``score --resume`` continues an interrupted run (``kill -9`` included): it first checks OUT's
run record -- same input (path, size, mtime, sha256 of its first MiB), same model (id and
manifest sha256), same verdict-changing options (``--posts``, ``--image-mode``,
``--no-screen``, ``--images-root``, ``--strict``) -- and refuses a mismatch, naming what
differs (``--force`` resumes anyway; an OUT without a run record is refused unless
``--force``). Then OUT is cut back to its last complete line, its lines are counted, that many
input records are skipped (readers are deterministic: blank lines never count) and the rest
is appended. Each chunk is written, flushed and fsynced whole, so at most one torn line exists,
and it is removed.

Engine flags: ``--jobs`` and ``--chunk-size`` apply to ``--engine local`` only, ``--master`` and
``--partitions`` to ``--engine spark`` only; giving one to the other engine is refused (exit 2)
rather than ignored.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from .categories import CATEGORIES

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_ERRORS, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

#: Default of ``--max-error-rate``: the largest share of error rows (of records), failed images
#: (of images tried) or failed texts (of texts tried) a run may have and still exit 0.
DEFAULT_MAX_ERROR_RATE = 0.5

#: Bytes of the input hashed into the run record's fingerprint (with its path, size and mtime).
FINGERPRINT_BYTES = 1 << 20

#: Version of the run record layout.
RUN_RECORD_FORMAT = 1


class UsageError(Exception):
    """An argument cannot be used (exit code 2)."""


# ---------------------------------------------------------------------------- parser
def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The argparse parser of the ``cleanclf`` command (``argv`` is accepted for compatibility; unused)."""
    p = argparse.ArgumentParser(prog="cleanclf", description=(
        "Find accounts posting lewd images, explicit sexual text or prostitution solicitation."))
    p.add_argument("--version", action=_VersionAction, nargs=0,
                   help="print the cleanclf version and the default bundle id, then exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    s = sub.add_parser("score", help="score an account dump into verdict records (JSONL)")
    s.add_argument("input", metavar="IN", help="account dump: .jsonl, .jsonl.gz, .csv, .parquet, or - for stdin")
    s.add_argument("-o", "--output", required=True, metavar="OUT", help="verdicts: .jsonl file, or - for stdout")
    s.add_argument("--images-root", metavar="DIR", help="directory that relative image paths are resolved against "
                   "(default: the directory of IN; the current directory for stdin)")
    s.add_argument("--jobs", type=int, default=None, metavar="N", help="worker processes (default 1; --engine local)")
    s.add_argument("--resume", action="store_true",
                   help="continue an interrupted run into the same OUT (checked against OUT's run record)")
    s.add_argument("--force", action="store_true",
                   help="overwrite an existing OUT; with --resume: resume even if the run record is missing or differs")
    s.add_argument("--max-error-rate", type=float, default=DEFAULT_MAX_ERROR_RATE, metavar="R",
                   help="exit 3 when more than this share of records are error rows, or of images / texts failed "
                        f"(default {DEFAULT_MAX_ERROR_RATE}; 1 never, 0 on any error)")
    s.add_argument("--run-record", default=None, metavar="PATH",
                   help="where to write the run record (default OUT.run.json; none for -o - unless given)")
    s.add_argument("--strict", action="store_true",
                   help="treat input the schema does not know (unknown fields...) as errors, not warnings")
    s.add_argument("--posts", choices=("flagged", "all", "none"), default="flagged",
                   help="which posts to list in each verdict (default: flagged)")
    s.add_argument("--image-mode", choices=("exact", "fast"), default="exact")
    s.add_argument("--no-screen", action="store_true",
                   help="fast image mode: score every frame with the float32 graph (no int8 screening)")
    s.add_argument("--image-text", choices=("off", "gated", "all"), default="off",
                   help="read text and QR codes in images as evidence: gated reads images a cheap test finds "
                        "text or a QR code in, all reads every image (default off; pip install 'cleanclf[ocr]')")
    s.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    s.add_argument("--chunk-size", type=int, default=None, metavar="N",
                   help="accounts per chunk (default 128; --engine local)")
    s.add_argument("--engine", choices=("local", "spark"), default="local",
                   help="local: processes on this machine (--jobs); spark: a Spark job (pip install 'cleanclf[spark]')")
    s.add_argument("--master", default=None, metavar="URL",
                   help="Spark master for --engine spark (default local[2])")
    s.add_argument("--partitions", type=int, default=None, metavar="N",
                   help="Spark scoring tasks for --engine spark (default: 2 per core, at most ~20k accounts each)")
    _model_args(s)

    t = sub.add_parser("text", help="score one text; prints JSON")
    t.add_argument("text", help="the text (- reads stdin)")
    _model_args(t)

    i = sub.add_parser("image", help="score image files; prints one JSON line per image")
    i.add_argument("paths", nargs="+", metavar="IMAGE")
    i.add_argument("--images-root", metavar="DIR")
    i.add_argument("--image-mode", choices=("exact", "fast"), default="exact")
    i.add_argument("--no-screen", action="store_true",
                   help="fast mode: score every frame with the float32 graph (no int8 screening)")
    _model_args(i)

    n = sub.add_parser("info", help="model id, components, thresholds, metrics, data sources and licences")
    n.add_argument("--json", action="store_true", help="print the information as one JSON object")
    _model_args(n)

    _add_train_commands(sub)
    _add_report_command(sub)
    return p


def _add_report_command(subparsers) -> None:
    """``cleanclf report``: the reviewer's HTML report (jinja2 is imported only when it runs)."""
    r = subparsers.add_parser("report", help="a self-contained HTML review report of verdicts (pip install "
                              "'cleanclf[report]')")
    r.add_argument("input", metavar="VERDICTS", help="verdicts JSONL written by cleanclf score")
    r.add_argument("-o", "--output", required=True, metavar="OUT", help="the HTML file to write")
    r.add_argument("--dump", metavar="DUMP", help="the scored account dump: original texts and profiles "
                   "(default: the verdicts' excerpts only)")
    r.add_argument("--images-root", metavar="DIR", help="embed blurred thumbnails of images under DIR "
                   "(never for escalated accounts; default: scores only)")
    r.add_argument("--limit", type=int, default=None, metavar="N", help="at most N accounts in the queue (highest risk first)")
    r.add_argument("--force", action="store_true", help="overwrite an existing OUT")
    r.set_defaults(func=_cli_report)


def _cli_report(args) -> int:
    from .errors import MissingDependencyError

    out = Path(args.output)
    if out.exists() and out.stat().st_size and not args.force:
        raise UsageError(f"-o: {str(out)!r} exists; pass --force to overwrite it")
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit: expected a positive number of accounts, got {args.limit}")
    if not Path(args.input).is_file():
        raise UsageError(f"VERDICTS: {args.input!r} does not exist or is not a file")
    if args.dump is not None and not Path(args.dump).is_file():
        raise UsageError(f"--dump: {args.dump!r} does not exist or is not a file")
    try:
        from .report import build_report
        res = build_report(args.input, out, dump=args.dump, images_root=args.images_root, limit=args.limit)
    except MissingDependencyError as exc:
        print(f"cleanclf report: error: {exc}", file=sys.stderr)
        return EXIT_USAGE  # the command cannot be used as installed: say how to install it
    notes = []
    if res["unreadable_verdict_lines"]:
        notes.append(f"{res['unreadable_verdict_lines']} unreadable verdict lines")
    if res["dump_missing"]:
        notes.append(f"{res['dump_missing']} queued accounts not in the dump (excerpts shown)")
    if res["dump_unreadable"]:
        notes.append(f"{res['dump_unreadable']} unreadable dump records")
    print(f"cleanclf report: {res['accounts']} verdicts, {res['queued']} accounts in the queue"
          + (f" (of {res['queued_total']}, --limit)" if res["queued"] < res["queued_total"] else "")
          + f"; {res['bytes'] / 1e6:.2f} MB written to {out}" + (f"; {'; '.join(notes)}" if notes else ""),
          file=sys.stderr)
    return EXIT_OK


class _VersionAction(argparse.Action):
    """``cleanclf --version``: the library version and the default bundle's id (read from its
    manifest, nothing is loaded)."""

    def __call__(self, parser, namespace, values, option_string=None):
        from . import __version__

        try:
            from . import models

            manifest = models.read_manifest(models.bundle_dir("default"))
            bundle = f"{manifest.get('name', 'unsaved')}@{manifest.get('version', '0')}"
        except Exception as exc:  # noqa: BLE001 - a version query must not fail on a broken bundle
            bundle = f"unavailable ({type(exc).__name__}: {exc})"
        print(f"cleanclf {__version__} (default bundle: {bundle})")
        parser.exit(0)


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="default", metavar="NAME|PATH", help="bundle name or directory (default: default)")
    p.add_argument("--trust-model", action="store_true",
                   help="allow loading a bundle from a directory outside the bundled models (it unpickles files)")


def _add_train_commands(subparsers) -> None:
    """``cleanclf train`` and ``cleanclf evaluate`` (scikit-learn is imported only when they run)."""
    t = subparsers.add_parser("train", help="fit the text model and write it into a bundle directory")
    t.add_argument("--out", required=True, help="bundle directory to write (e.g. models/default or my-model)")
    t.add_argument("--data", default=None, help="labelled-data directory with text/ and lexicons/ (default: $CLEANCLF_DATA)")
    t.add_argument("--train", nargs="+", default=[], metavar="FILE",
                   help="your own labelled JSONL/CSV files instead of the shared data")
    t.add_argument("--dev", nargs="+", default=[], metavar="FILE", help="labelled files to pick thresholds on")
    t.add_argument("--lexicons", default=None,
                   help="directory of lexicon .txt files (default: the shared data's lexicons/ when present)")
    t.add_argument("--no-synthetic", action="store_true", help="leave out text/synthetic.jsonl and cleanclf's own training rows")
    t.add_argument("--exclude-source", action="append", default=[], metavar="PREFIX",
                   help="drop rows whose source starts with PREFIX (repeatable)")
    t.add_argument("--exclude-licence", action="append", default=[], metavar="TEXT",
                   help="drop rows whose licence contains TEXT, e.g. 'research' or 'none stated' (repeatable)")
    t.add_argument("--classifier", choices=("nblr", "lr"), default="nblr",
                   help="nblr: logistic regression on naive-Bayes-scaled features (default); lr: plain")
    t.add_argument("--C", type=float, default=None,
                   help="inverse regularisation (default 16 for nblr, 8 for lr)")
    t.add_argument("--words", action="store_true", help="add jieba word n-grams (slower scoring)")
    t.add_argument("--no-slang", action="store_true", help="leave out cleanclf's own slang and context lexicon")
    t.add_argument("--thresholds-on", choices=("dev", "dev+oof"), default=None,
                   help="dev: best F1 on the dev rows; dev+oof: dev pooled with out-of-fold training scores "
                        "(default: fit_text_model's)")
    t.add_argument("--source-weight", action="append", default=[], metavar="SOURCE=W",
                   help="sample weight of a source's rows (repeatable; default 1)")
    t.add_argument("--augment", type=int, default=None, metavar="N",
                   help="disguised copies of each positive row (and of 15%% of the others) to train on too "
                        "(default: fit_text_model's; 0: none)")
    t.add_argument("--no-frozen-test", action="store_true",
                   help="train and tune on the frozen test split too (its figures are then no longer held out)")
    t.add_argument("--base", default="default", metavar="NAME|PATH",
                   help="bundle whose image and account components the new bundle keeps when --out lacks them "
                        "(default: default; 'none': a text-only bundle, which scores no images)")
    t.add_argument("--feedback", nargs="+", default=[], metavar="DECISIONS",
                   help="reviewers' decisions exported from a cleanclf report (JSONL): confirmed / rejected "
                        "flagged posts become positive / negative training rows (needs --feedback-dump)")
    t.add_argument("--feedback-dump", default=None, metavar="DUMP",
                   help="the account dump the reviewed verdicts were scored from (the posts' texts)")
    t.add_argument("--feedback-in-dev", action="store_true",
                   help="also add the feedback rows to the dev rows (default: training only, never evaluated on)")
    t.add_argument("--name", default=None)
    t.add_argument("--version", default=None)
    t.set_defaults(func=_cli_train)

    e = subparsers.add_parser("evaluate", help="metrics of a bundle on labelled posts")
    e.add_argument("files", nargs="+", help="labelled JSONL/CSV files (text + per-category 0/1/null labels)")
    e.add_argument("--model", default="default", metavar="NAME|PATH")
    e.add_argument("--trust-model", action="store_true")
    e.add_argument("--json", default=None, metavar="OUT", help="write the full report as JSON")
    e.add_argument("--plots", default=None, metavar="DIR", help="save PR curves, reliability diagrams, histograms")
    e.set_defaults(func=_cli_evaluate)


def _cli_train(args) -> int:
    from .errors import InputError
    from .training import build_text_component

    extra: dict = {}
    if args.thresholds_on:
        extra["thresholds_on"] = args.thresholds_on
    if args.augment is not None:
        if args.augment < 0:
            raise UsageError(f"--augment: expected a number of copies >= 0, got {args.augment}")
        extra["augment"] = args.augment
    if args.source_weight:
        weights = {}
        for item in args.source_weight:
            src, sep, w = item.partition("=")
            try:
                weights[src] = float(w)
            except ValueError:
                raise InputError(f"--source-weight: expected SOURCE=NUMBER, got {item!r}") from None
            if not sep or not src:
                raise InputError(f"--source-weight: expected SOURCE=NUMBER, got {item!r}")
        extra["source_weights"] = weights
    if args.feedback or args.feedback_dump:
        extra["feedback"] = _feedback(args)
        extra["feedback_in_dev"] = args.feedback_in_dev
    elif args.feedback_in_dev:
        raise UsageError("--feedback-in-dev: needs --feedback DECISIONS and --feedback-dump DUMP")
    man = build_text_component(
        args.out, data_dir=args.data, train_files=args.train, dev_files=args.dev, lexicon_dir=args.lexicons,
        synthetic=not args.no_synthetic, exclude_sources=args.exclude_source,
        exclude_licences=args.exclude_licence, frozen_test=not args.no_frozen_test, name=args.name,
        version=args.version, C=args.C, classifier=args.classifier,
        words=args.words, slang=not args.no_slang, base=None if args.base.lower() == "none" else _bundle_arg(args.base),
        **extra)
    for split, rep in man["components"]["text"]["metrics"].items():
        for c, r in rep["categories"].items():
            print(f"{split:5s} {c:15s} P={r['precision']:.3f} R={r['recall']:.3f} F1={r['f1']:.3f}")
    missing = [c for c in ("text", "image", "account") if c not in man["components"]]
    print(f"wrote {args.out} ({man['name']}@{man['version']}; components: {', '.join(man['components'])}"
          + (f"; lacks: {', '.join(missing)}" if missing else "") + ")")
    return 0


def _feedback(args) -> list[dict]:
    """``--feedback`` rows, with what was skipped said on stderr (nothing is dropped in silence)."""
    from .training import feedback_rows

    if not args.feedback or not args.feedback_dump:
        raise UsageError("--feedback and --feedback-dump go together: the decisions name posts, the dump holds their texts")
    if not Path(args.feedback_dump).is_file():
        raise UsageError(f"--feedback-dump: {args.feedback_dump!r} does not exist or is not a file")
    decisions: list = []
    for path in args.feedback:
        if not Path(path).is_file():
            raise UsageError(f"--feedback: {path!r} does not exist or is not a file")
        from .training import iter_rows
        decisions.extend(iter_rows(Path(path)))
    stats: dict = {}
    rows = feedback_rows(decisions, args.feedback_dump, stats=stats)
    skipped = {k: v for k, v in stats.items() if k not in ("decisions", "rows") and v}
    print(f"feedback: {stats['decisions']} decisions -> {stats['rows']} rows"
          + (f"; skipped: {', '.join(f'{k} {v}' for k, v in skipped.items())}" if skipped else ""), file=sys.stderr)
    if not rows:
        raise UsageError("--feedback: the decisions give no training rows (" + (", ".join(
            f"{k} {v}" for k, v in skipped.items()) or "no decisions") + ")")
    return rows


def _bundle_arg(value: str):
    """A bundle name stays a name; anything with a path separator is a directory."""
    return Path(value) if ("/" in value or os.sep in value) else value


def _cli_evaluate(args) -> int:
    from . import load
    from .training import evaluate_model, read_posts

    name = Path(args.model) if ("/" in args.model or os.sep in args.model) else args.model
    clf = load(name, trust=args.trust_model)
    rows = read_posts(args.files)
    report = evaluate_model(clf, rows)
    print(_table(["category", "n", "precision", "recall", "F1", "PR-AUC", "ECE"],
                 [[c, r.get("n"), r.get("precision"), r.get("recall"), r.get("f1"), r.get("pr_auc"), r.get("ece")]
                  for c, r in report["categories"].items()]))
    hn = report.get("hard_negatives", {}).get("overall")
    if hn:
        print(f"hard negatives: {hn}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.plots:
        from .plots import save_evaluation_plots

        preds = clf.score_texts([r["text"] for r in rows])
        for p in save_evaluation_plots(rows, preds, clf.thresholds, args.plots):
            print(f"plot: {p}")
    return 0


# ---------------------------------------------------------------------------- helpers
def _table(header: list[str], rows: list[list]) -> str:
    """An aligned text table: text left, numbers right (3 decimals), None as ``-``.

    >>> print(_table(["category", "n", "F1"], [["solicitation", 120, 0.91234], ["explicit_text", 8, None]]))
    category         n     F1
    solicitation   120  0.912
    explicit_text    8      -
    """
    def cell(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.3f}"
        return str(v)

    cells = [[cell(v) for v in row] for row in rows]
    numeric = [all(isinstance(row[k], (int, float)) or row[k] is None for row in rows) and k > 0
               for k in range(len(header))]
    widths = [max([len(h)] + [len(r[k]) for r in cells]) for k, h in enumerate(header)]
    lines = []
    for row in [header, *cells]:
        parts = [(v.rjust(w) if num else v.ljust(w)) for v, w, num in zip(row, widths, numeric)]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def _load(args):
    from . import load
    from .models import resolve

    name = args.model
    if "/" in name or os.sep in name:
        name = Path(name)
    resolve(name, trust=args.trust_model)
    return load(name, trust=args.trust_model)


def _print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _truncate_to_last_newline(path: Path) -> int:
    """Cut a torn last line off ``path``; return the number of complete lines kept."""
    with open(path, "r+b") as fh:
        fh.seek(0, os.SEEK_END)
        end = fh.tell()
        pos = end
        block = 1 << 16
        keep = 0
        while pos > 0:
            start = max(0, pos - block)
            fh.seek(start)
            data = fh.read(pos - start)
            k = data.rfind(b"\n")
            if k >= 0:
                keep = start + k + 1
                break
            pos = start
        if keep != end:
            fh.truncate(keep)
            fh.flush()
            os.fsync(fh.fileno())
        fh.seek(0)
        lines = 0
        while chunk := fh.read(1 << 20):
            lines += chunk.count(b"\n")
    return lines


def _count_lines(path: Path) -> int | None:
    # Only for plain JSONL: a cheap C-speed scan gives the progress bar a total and an ETA.
    # Blank lines are counted too, so the total may be slightly high.
    if not str(path).lower().endswith((".jsonl", ".ndjson")):
        return None
    n = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            n += chunk.count(b"\n")
    return n


# ---------------------------------------------------------------------------- run records
def _now() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _write_json_atomic(path: Path, obj) -> None:
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def input_fingerprint(path: Path | None, fmt: str | None = None) -> dict:
    """What ``--resume`` compares to be sure it continues the same input: the resolved path, size,
    mtime and the sha256 of the first :data:`FINGERPRINT_BYTES` (``{"path": "-"}`` for stdin)."""
    if path is None:
        return {"path": "-", "format": fmt}
    st = path.stat()
    with open(path, "rb") as fh:
        head = fh.read(FINGERPRINT_BYTES)
    return {"path": str(path.resolve()), "format": fmt, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "head_sha256": hashlib.sha256(head).hexdigest(), "head_bytes": len(head)}


def _model_info(model, trust: bool) -> dict:
    """Model id, manifest sha256, directory and components (the parent verifies a bundle, never loads it)."""
    from .batch import COMPONENTS, model_components, resolve_model

    _clf, spec, model_id = resolve_model(model, trust=trust)
    directory = Path(spec[1]) if spec[0] == "load" else getattr(model, "directory", None)
    digest = None
    if directory is not None and (Path(directory) / "manifest.json").is_file():
        digest = hashlib.sha256((Path(directory) / "manifest.json").read_bytes()).hexdigest()
    if spec[0] == "load":
        from . import models

        have = models.read_manifest(Path(spec[1])).get("components", {})  # verified by resolve_model
        comps = [c for c in COMPONENTS if c in have]
    else:
        comps = list(model_components(model))
    return {"id": model_id, "manifest_sha256": digest, "directory": None if directory is None else str(directory),
            "components": comps, "missing_components": [c for c in COMPONENTS if c not in comps]}


def _verdict_options(args) -> dict:
    """The options that change verdict lines (what ``--resume`` must keep)."""
    out = {"posts": args.posts, "image_mode": args.image_mode, "image_screen": not args.no_screen,
           "images_root": str(Path(args.images_root).resolve()), "strict": bool(getattr(args, "strict", False))}
    if getattr(args, "image_text", "off") != "off":  # absent when off: run records of older runs still match
        out["image_text"] = args.image_text
    return out


def _resume_differences(record: dict, fingerprint: dict, model_info: dict, options: dict) -> list[str]:
    diffs = []
    old_in = record.get("input") or {}
    for k in ("path", "format", "size", "mtime_ns", "head_sha256"):
        if old_in.get(k) != fingerprint.get(k):
            diffs.append(f"input {k}: {old_in.get(k)!r} in the run record, {fingerprint.get(k)!r} now")
    old_m = record.get("model") or {}
    for k in ("id", "manifest_sha256"):
        if old_m.get(k) != model_info.get(k):
            diffs.append(f"model {k}: {old_m.get(k)!r} in the run record, {model_info.get(k)!r} now")
    old_o = record.get("options") or {}
    for k, v in options.items():
        if old_o.get(k) != v:
            diffs.append(f"option {k}: {old_o.get(k)!r} in the run record, {v!r} now")
    return diffs


def _nonempty(path: Path) -> bool:
    try:
        if path.is_dir():
            return any(path.iterdir())
        return path.exists() and path.stat().st_size > 0
    except OSError:
        return True


class _RunStats:
    """Adds up the per-verdict statistics (:func:`cleanclf.scoring.verdict_stats`) of a run."""

    def __init__(self):
        from .scoring import STAT_KEYS

        self.accounts = self.errors = self.escalate = 0
        self.flagged = {c: 0 for c in CATEGORIES}
        self.counts = {k: 0 for k in STAT_KEYS}
        self.images_failed: dict[str, int] = {}
        self.error_types: dict[str, int] = {}
        self.warnings: dict[str, int] = {}
        self.image_text: dict[str, int] = {}

    def add(self, labels, esc: bool, err: bool, st: dict | None) -> None:
        self.accounts += 1
        self.errors += bool(err)
        self.escalate += bool(esc)
        for c in labels:
            self.flagged[c] = self.flagged.get(c, 0) + 1
        if not st:
            return
        for k in self.counts:
            self.counts[k] += st.get(k, 0)
        for reason, n in (st.get("images_failed") or {}).items():
            self.images_failed[reason] = self.images_failed.get(reason, 0) + n
        if st.get("error"):
            self.error_types[st["error"]] = self.error_types.get(st["error"], 0) + 1
        for code, n in (st.get("warnings") or {}).items():
            self.warnings[code] = self.warnings.get(code, 0) + n
        for k, n in (st.get("image_text") or {}).items():
            self.image_text[k] = self.image_text.get(k, 0) + n

    @property
    def images_failed_total(self) -> int:
        return sum(self.images_failed.values())

    def rates(self) -> dict:
        """Error rates: error rows / records, failed / tried images, failed / tried texts (None: nothing tried)."""
        def rate(bad, total):
            return None if total == 0 else round(bad / total, 6)

        failed = self.images_failed_total
        return {"records": rate(self.errors, self.accounts),
                "images": rate(failed, failed + self.counts["images"]),
                "texts": rate(self.counts["texts_failed"], self.counts["texts_failed"] + self.counts["texts"])}

    def as_record(self) -> dict:
        out = {"counts": {"accounts": self.accounts, "error_rows": self.errors, **self.counts,
                          "images_failed": self.images_failed_total, "escalate": self.escalate,
                          "flagged": dict(self.flagged)},
               "images_failed_by_reason": dict(sorted(self.images_failed.items())),
               "error_rows_by_type": dict(sorted(self.error_types.items())),
               "warnings_by_code": dict(sorted(self.warnings.items())),
               "error_rates": self.rates()}
        if self.image_text:  # --image-text gated|all: image references read, gated out, failed, units
            out["image_text"] = dict(self.image_text)
        return out


def _fmt_counts(d: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items(), key=lambda kv: (-kv[1], kv[0])))


def _warn(message: str, notices: list[str]) -> None:
    notices.append(message)
    print(f"cleanclf: warning: {message}", file=sys.stderr)


# ---------------------------------------------------------------------------- commands
def _check_engine_flags(args, spark: bool) -> None:
    if spark:
        given = [f for f, v in (("--jobs", args.jobs), ("--chunk-size", args.chunk_size)) if v is not None]
        if given:
            verb = "apply" if len(given) > 1 else "applies"
            raise UsageError(f"{' and '.join(given)}: {verb} to --engine local only; with --engine spark, "
                             "set --partitions (Spark sizes its own tasks)")
    else:
        given = [f for f, v in (("--master", args.master), ("--partitions", args.partitions)) if v is not None]
        if given:
            verb = "apply" if len(given) > 1 else "applies"
            raise UsageError(f"{' and '.join(given)}: {verb} to --engine spark only; with --engine local, "
                             "set --jobs (and --chunk-size)")


def _score_on_spark(args, in_path, out_path, to_stdout, record_path) -> int:
    if args.resume or to_stdout or in_path is None:
        raise UsageError("--engine spark: needs IN and -o OUT files (no stdin/stdout, no --resume)")
    if args.partitions is not None and args.partitions < 1:
        raise UsageError(f"--partitions: expected an integer >= 1, got {args.partitions}")
    from .spark import score_file

    name = Path(args.model) if ("/" in args.model or os.sep in args.model) else args.model
    model_info = _model_info(name, args.trust_model)
    notices: list[str] = []
    if "account" in model_info["missing_components"]:
        _warn(f"model {model_info['id']} has no account component: account verdicts use the default "
              "(uncalibrated) count rule", notices)
    record = {"format": RUN_RECORD_FORMAT, "cleanclf": _version(), "command": "score", "engine": "spark",
              "status": "running", "exit_code": None, "started": _now(),
              "input": input_fingerprint(in_path, "spark"), "output": str(out_path), "model": model_info,
              "options": _verdict_options(args),
              "run_options": {"master": args.master or "local[2]", "partitions": args.partitions,
                              "max_error_rate": args.max_error_rate}, "notices": notices}
    if record_path is not None:
        _write_json_atomic(record_path, record)
    extra = {"strict": True} if args.strict else {}
    try:
        s = score_file(in_path, out_path, master=args.master or "local[2]", partitions=args.partitions,
                       images_root=args.images_root, posts=args.posts, model=name, image_mode=args.image_mode,
                       image_screen=False if args.no_screen else None, trust_model=args.trust_model, **extra)
    except BaseException as exc:
        record.update(status="failed", exit_code=_exit_code_of(exc), finished=_now(),
                      error=f"{type(exc).__name__}: {exc}")
        if record_path is not None:
            _write_json_atomic(record_path, record)
        raise
    failed, unscored = s.get("images_failed", 0), s.get("images_not_scored", 0)
    scored_images = max(0, s.get("images", 0) - failed - unscored)
    rates = {"records": None if not s["accounts"] else round(s["errors"] / s["accounts"], 6),
             "images": None if not (failed + scored_images) else round(failed / (failed + scored_images), 6)}
    over = [k for k, r in rates.items() if r is not None and r > args.max_error_rate]
    code = EXIT_ERRORS if over else EXIT_OK
    print(f"cleanclf: {s['accounts']} accounts scored on Spark in {s['seconds']:.1f}s "
          f"(+{s['startup_seconds']:.1f}s JVM start); error rows {s['errors']}; images scored {scored_images}"
          + (f", failed {failed}" if failed else "") + (f", not scored (no image component) {unscored}" if unscored else "")
          + f"; written to {args.output}", file=sys.stderr)
    if unscored:
        _warn(f"model {model_info['id']} has no image component but the input has images: they are not scored "
              "(lewd_images is null in every verdict); use a bundle with an image component", notices)
    if over:
        what = {"records": f"{s['errors']} of {s['accounts']} records are error rows",
                "images": f"{failed} of {failed + scored_images} images failed"}
        print(f"cleanclf: {'; '.join(what[k] for k in over)}: more than --max-error-rate {args.max_error_rate}; "
              f"exit {EXIT_ERRORS}", file=sys.stderr)
    record.update(status="completed", exit_code=code, finished=_now(), seconds=round(s["seconds"], 3),
                  counts={"accounts": s["accounts"], "error_rows": s["errors"], "escalate": s["escalate"],
                          "images": scored_images, "images_failed": failed, "images_unscored": unscored,
                          "flagged": {c: s[c] for c in CATEGORIES}},
                  error_rates=rates, over_max_error_rate=over,
                  throughput={"accounts_per_second": round(s["accounts"] / s["seconds"], 3) if s["seconds"] else None},
                  spark={"partitions": s.get("partitions"), "startup_seconds": s.get("startup_seconds"),
                         "stages": s.get("stages")})
    if record_path is not None:
        _write_json_atomic(record_path, record)
    return code


def _version() -> str:
    from . import __version__

    return __version__


class _StopOnSigint:
    """Ctrl-C during ``cleanclf score``: the first one asks the loop to stop after the chunk being
    written (so the output ends on a whole chunk and ``--resume`` continues from it), a second one
    interrupts at once.

    Python's default handler raises KeyboardInterrupt in whatever the main thread runs, and where
    that is a finaliser or a callback of the worker pool, the exception is printed and dropped: the
    run went on to the end and exited 0 after Ctrl-C. A flag cannot be dropped. Outside the main
    thread (signal handlers cannot be set there) it does nothing.
    """

    def __init__(self):
        self.requested = False
        self._previous = None

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


def cmd_score(args, model=None) -> int:
    from .schema import detect_format, iter_records
    from .batch import DEFAULT_CHUNK_SIZE, score_accounts

    spark = getattr(args, "engine", "local") == "spark"
    _check_engine_flags(args, spark)
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs: expected an integer >= 1, got {args.jobs}")
    if args.chunk_size is not None and args.chunk_size < 1:
        raise UsageError(f"--chunk-size: expected an integer >= 1, got {args.chunk_size}")
    if not 0.0 <= args.max_error_rate <= 1.0:
        raise UsageError(f"--max-error-rate: expected a number from 0 to 1, got {args.max_error_rate}")
    jobs = args.jobs or 1
    image_text = getattr(args, "image_text", "off")
    if image_text != "off":
        if spark:
            raise UsageError(f"--image-text {image_text}: not available with --engine spark; use --engine local")
        from .errors import MissingDependencyError
        from .image_text import require_ocr

        try:
            require_ocr()
        except MissingDependencyError as exc:
            raise UsageError(f"--image-text {image_text}: {exc}") from None
    try:
        fmt = detect_format(args.input)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    in_path = None if args.input == "-" else Path(args.input)
    if in_path is not None and not in_path.is_file():
        raise UsageError(f"IN: {args.input!r} does not exist or is not a file")
    to_stdout = args.output == "-"
    out_path = None if to_stdout else Path(args.output)
    out_exts = (".jsonl", ".ndjson", ".parquet") if spark else (".jsonl", ".ndjson")
    if out_path is not None and not str(out_path).lower().endswith(out_exts):
        raise UsageError(f"-o/--output: {args.output!r} has an unknown extension; expected one of {out_exts}"
                         + ("" if spark else " or - for stdout"))
    if args.resume and to_stdout:
        raise UsageError("--resume: needs an output file, not - (stdout)")
    if out_path is not None and in_path is not None and out_path.resolve() == in_path.resolve():
        raise UsageError(f"-o/--output: {args.output!r} is the input file; choose another path")
    if args.images_root is not None and not Path(args.images_root).is_dir():
        raise UsageError(f"--images-root: {args.images_root!r} is not a directory")
    if out_path is not None and not out_path.parent.is_dir():
        raise UsageError(f"-o/--output: directory {str(out_path.parent)!r} does not exist")
    record_path = (Path(args.run_record) if args.run_record
                   else None if out_path is None else out_path.with_name(out_path.name + ".run.json"))
    if record_path is not None and not record_path.parent.is_dir():
        raise UsageError(f"--run-record: directory {str(record_path.parent)!r} does not exist")
    if record_path is not None and in_path is not None and record_path.resolve() == in_path.resolve():
        raise UsageError(f"--run-record: {str(record_path)!r} is the input file; choose another path")
    existing = out_path is not None and _nonempty(out_path)
    if existing and not args.resume and not args.force:
        raise UsageError(f"-o/--output: {args.output!r} already exists and is not empty; pass --force to "
                         "overwrite it, or --resume to continue the run that wrote it")

    if args.images_root is None:
        # Paths inside a dump are relative to the dump, the way examples/ ships them.
        args.images_root = str(in_path.resolve().parent) if in_path is not None else os.getcwd()
    if spark:
        return _score_on_spark(args, in_path, out_path, to_stdout, record_path)

    name = model
    if model is None:
        name = Path(args.model) if ("/" in args.model or os.sep in args.model) else args.model
        model = name  # workers (or the in-process scorer) load it; the parent only verifies it
    model_info = _model_info(name, args.trust_model)
    fingerprint = input_fingerprint(in_path, fmt)
    options = _verdict_options(args)
    notices: list[str] = []
    history: list[dict] = []
    done = 0
    if args.resume and existing:
        old = None
        if record_path is not None and record_path.is_file():
            try:
                old = json.loads(record_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                old = None
        if old is None:
            if not args.force:
                raise UsageError(f"--resume: {args.output!r} has no readable run record ({record_path}), so "
                                 "cleanclf cannot check it was written from this input with these options; "
                                 "pass --force to resume anyway, or choose a new output")
            _warn(f"--resume --force: {args.output} has no run record; resuming without checking it", notices)
        else:
            diffs = (["input: stdin cannot be checked against the run record"] if in_path is None else
                     _resume_differences(old, fingerprint, model_info, options))
            if diffs and not args.force:
                raise UsageError(f"--resume: {args.output!r} was written by another run: " + "; ".join(diffs)
                                 + ". Rerun with the same input and options, pass --force to resume anyway, "
                                 "or write a new output")
            if diffs:
                _warn("--resume --force: resuming although " + "; ".join(diffs), notices)
            history = list(old.get("previous_runs") or []) + [
                {k: old.get(k) for k in ("started", "finished", "status", "exit_code", "resumed_after", "counts")}]
        done = _truncate_to_last_newline(out_path)
    total = _count_lines(in_path) if in_path is not None else None
    if total is not None:
        total = max(0, total - done)

    record = {"format": RUN_RECORD_FORMAT, "cleanclf": _version(), "command": "score", "engine": "local",
              "status": "running", "exit_code": None, "started": _now(), "input": fingerprint,
              "output": "-" if out_path is None else str(out_path.resolve()), "model": model_info,
              "options": options,
              "run_options": {"jobs": jobs, "chunk_size": args.chunk_size or DEFAULT_CHUNK_SIZE,
                              "max_error_rate": args.max_error_rate},
              "resumed_after": done, "notices": notices, "previous_runs": history}

    def save(**fields) -> None:
        record.update(fields)
        if record_path is not None:
            _write_json_atomic(record_path, record)

    if "account" in model_info["missing_components"]:
        _warn(f"model {model_info['id']} has no account component: account verdicts use the default "
              "(uncalibrated) count rule", notices)
    save()  # before the first verdict line: what --resume checks

    try:
        # a table the reader cannot use at all (no account_id column...) fails here, before OUT is opened
        items = iter_records(args.input if in_path is None else in_path, fmt)
        if done:
            skipped = sum(1 for _ in itertools.islice(items, done))
            if skipped < done:
                raise UsageError(f"--resume: {args.output} already holds {done} records but the input has only "
                                 f"{skipped} (is it the same input?)")
    except BaseException as exc:
        save(status="failed", exit_code=_exit_code_of(exc), finished=_now(), error=f"{type(exc).__name__}: {exc}")
        raise
    stats = _RunStats()
    warned: set[str] = set()
    t0 = time.monotonic()
    out = sys.stdout.buffer if to_stdout else open(out_path, "ab" if args.resume else "wb")
    interrupted = False
    gen = None
    extra = {"strict": True} if getattr(args, "strict", False) else {}
    if getattr(args, "image_text", "off") != "off":
        extra["image_text"] = args.image_text
    try:
        gen = score_accounts(items, model=model, jobs=jobs, progress=not args.no_progress,
                             posts=args.posts, images_root=args.images_root, image_mode=args.image_mode,
                             image_screen=False if args.no_screen else None,
                             chunk_size=args.chunk_size or DEFAULT_CHUNK_SIZE, trust_model=args.trust_model,
                             total=total, _serialize=True, _by_chunk=True, **extra)
        with _StopOnSigint() as stop:
            for chunk in gen:
                out.write(b"".join(r[0] for r in chunk))
                out.flush()
                if not to_stdout:
                    os.fsync(out.fileno())  # a chunk is on disk whole before the next one starts
                for _line, labels, esc, err, st in chunk:
                    stats.add(labels, esc, err, st)
                if stats.counts["images_unscored"] and "image" not in warned:
                    warned.add("image")
                    _warn(f"model {model_info['id']} has no image component but the input has images: they are "
                          "not scored (lewd_images is null in every verdict); use a bundle with an image "
                          "component", notices)
                if stats.counts["texts_unscored"] and "text" not in warned:
                    warned.add("text")
                    _warn(f"model {model_info['id']} has no text component but the input has post texts: they "
                          "are not scored", notices)
                if stop.requested:
                    interrupted = True
                    break
    except KeyboardInterrupt:
        interrupted = True
    except BaseException as exc:
        save(status="failed", exit_code=_exit_code_of(exc), finished=_now(), error=f"{type(exc).__name__}: {exc}",
             seconds=round(time.monotonic() - t0, 3), **stats.as_record())
        raise
    finally:
        if gen is not None:
            gen.close()  # stops the workers (a no-op when the generator ran to its end)
        if not to_stdout:
            out.close()
    dt = time.monotonic() - t0
    resumed = f" (resumed after {done} already written)" if done else ""
    flagged = ", ".join(f"{c} {stats.flagged[c]}" for c in CATEGORIES)
    c = stats.counts
    print(f"cleanclf: {stats.accounts} accounts scored{resumed} in {dt:.1f}s "
          f"({stats.accounts / dt if dt > 0 else 0:.0f}/s); flagged: {flagged}; "
          f"escalations {stats.escalate}; error rows {stats.errors}"
          + (f"; written to {args.output}" if not to_stdout else ""), file=sys.stderr)
    detail = f"cleanclf: posts {c['posts']}; texts scored {c['texts']}"
    if c["texts_failed"]:
        detail += f", failed {c['texts_failed']}"
    detail += f"; images scored {c['images']}"
    if stats.images_failed:
        detail += f", failed {stats.images_failed_total} ({_fmt_counts(stats.images_failed)})"
    if c["images_unscored"]:
        detail += f", not scored (no image component) {c['images_unscored']}"
    if stats.image_text:
        it = stats.image_text
        detail += (f"; image text: {it.get('read', 0)} of {it.get('images', 0)} images read, {it.get('gated_out', 0)} "
                   f"gated out, {it.get('failed', 0)} failed, {it.get('units', 0)} flagged units")
    if stats.error_types:
        detail += f"; error rows by type: {_fmt_counts(stats.error_types)}"
    if stats.warnings:
        detail += f"; warnings: {_fmt_counts(stats.warnings)}"
    if record_path is not None:
        detail += f"; run record {record_path}"
    print(detail, file=sys.stderr)
    if stats.images_failed.get("not_found") and not c["images"]:
        _warn(f"none of the {stats.images_failed['not_found']} image files was found under the images root "
              f"{args.images_root!r}; relative image paths resolve against --images-root (default: the "
              "directory of IN; the current directory for stdin)", notices)
    rates = stats.rates()
    over = [k for k, r in rates.items() if r is not None and r > args.max_error_rate]
    if interrupted:
        code = EXIT_INTERRUPTED
    elif over:
        code = EXIT_ERRORS
        what = {"records": f"{stats.errors} of {stats.accounts} records are error rows",
                "images": f"{stats.images_failed_total} of {stats.images_failed_total + c['images']} images failed",
                "texts": f"{c['texts_failed']} of {c['texts_failed'] + c['texts']} texts failed"}
        print(f"cleanclf: {'; '.join(what[k] for k in over)}: more than --max-error-rate {args.max_error_rate}; "
              f"exit {EXIT_ERRORS}", file=sys.stderr)
    else:
        code = EXIT_OK
    save(status="interrupted" if interrupted else "completed", exit_code=code, finished=_now(),
         seconds=round(dt, 3), **stats.as_record(), over_max_error_rate=over,
         throughput={"accounts_per_second": round(stats.accounts / dt, 3) if dt > 0 else None,
                     "posts_per_second": round(c["posts"] / dt, 3) if dt > 0 else None,
                     "images_per_second": round((c["images"] + stats.images_failed_total) / dt, 3) if dt > 0 else None})
    if interrupted:
        print("cleanclf: interrupted; rerun the same command with --resume to continue", file=sys.stderr)
    return code


def cmd_text(args, model=None) -> int:
    text = sys.stdin.read() if args.text == "-" else args.text
    clf = model or _load(args)
    _print_json(clf.score_text(text))
    return EXIT_OK


def cmd_image(args, model=None) -> int:
    """Exit 0 when every image was scored, :data:`EXIT_ERRORS` (3) when some could not be."""
    from .scoring import image_failure_reason

    clf = model or _load(args)
    if args.images_root is not None and not Path(args.images_root).is_dir():
        raise UsageError(f"--images-root: {args.images_root!r} is not a directory")
    extra = {"screen": False} if args.no_screen else {}  # duck-typed models need not know the option
    results = clf.score_images(args.paths, mode=args.image_mode, images_root=args.images_root, **extra)
    for path, r in zip(args.paths, results):
        _print_json(_image_line(path, r))
    failed: dict[str, int] = {}
    for r in results:
        if "error" in r:
            reason = image_failure_reason(r["error"])
            failed[reason] = failed.get(reason, 0) + 1
    if not failed:
        return EXIT_OK
    print(f"cleanclf image: {sum(failed.values())} of {len(results)} images could not be scored "
          f"({_fmt_counts(failed)}); exit {EXIT_ERRORS}", file=sys.stderr)
    return EXIT_ERRORS


def _image_line(path, r: dict) -> dict:
    """One ``cleanclf image`` output line: the same keys for a scored and a failed image
    (``path, lewd_images, labels, error``; a failed one has ``lewd_images: null``), the score
    rounded to 6 decimals like text scores and verdicts.

    >>> _image_line("a.jpg", {"lewd_images": 0.123456789, "labels": []})
    {'path': 'a.jpg', 'lewd_images': 0.123457, 'labels': [], 'error': None}
    >>> _image_line("b.jpg", {"error": {"type": "ImageError", "message": "no such file"}})["lewd_images"] is None
    True
    """
    score = r.get("lewd_images")
    return {"path": str(path), **{k: v for k, v in r.items() if k not in ("lewd_images", "labels", "error")},
            "lewd_images": None if score is None else round(float(score), 6), "labels": list(r.get("labels") or []),
            "error": r.get("error")}


def cmd_info(args, model=None) -> int:
    from . import models

    name = Path(args.model) if ("/" in args.model or os.sep in args.model) else args.model
    directory = models.resolve(name, trust=args.trust_model)
    manifest = models.verify_bundle(directory)
    comps = manifest.get("components", {})
    info = {
        "model": f"{manifest.get('name', 'unsaved')}@{manifest.get('version', '0')}",
        "directory": str(directory),
        "categories": manifest.get("categories", []),
        "components": {k: {kk: vv for kk, vv in v.items() if kk in ("files", "categories", "updated", "fitted")}
                       for k, v in comps.items()},
        "thresholds": {k: v.get("thresholds") for k, v in comps.items() if "thresholds" in v},
        # the account component is a count rule, not thresholds: show what labels an account
        "account_rule": {k: comps["account"][k] for k in ("min_posts", "min_share", "floor_posts", "support")
                         if k in comps.get("account", {})},
        "metrics": {k: v.get("metrics") for k, v in comps.items() if "metrics" in v} | (
            {"bundle": manifest["metrics"]} if "metrics" in manifest else {}),
        "data": {k: _data_of(v) for k, v in comps.items() if _data_of(v)} | (
            {"bundle": manifest["data_sources"]} if "data_sources" in manifest else {}),
        "library_versions": manifest.get("library_versions", {}),
    }
    if getattr(args, "json", False):
        _print_json(info)
    else:
        sys.stdout.write(_info_text(info))
        sys.stdout.flush()
    return EXIT_OK


def _short(v, limit: int = 100) -> str:
    text = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _info_text(info: dict) -> str:
    """``cleanclf info`` for people: identity, components, thresholds, the account rule, the
    per-category metrics tables and the data / licences (``--json`` has everything)."""
    from .batch import COMPONENTS

    lines = [f"model       {info['model']}", f"directory   {info['directory']}",
             f"categories  {', '.join(info['categories'])}"]
    have = [c for c in info["components"]]
    missing = [c for c in COMPONENTS if c not in have]
    comp = ", ".join(f"{c} (updated {v['updated']})" if v.get("updated") else c for c, v in info["components"].items())
    lines.append(f"components  {comp}" + (f"; missing: {', '.join(missing)}" if missing else ""))
    if "image" in missing:
        lines.append("            no image component: lewd_images is not scored (null in every verdict)")
    if "account" in missing:
        lines.append("            no account component: account verdicts use the default (uncalibrated) rule")
    for comp_name, th in info["thresholds"].items():
        if th:
            lines.append(f"thresholds  {comp_name}: " + ", ".join(f"{c} {v:g}" for c, v in th.items()))
    rule = info.get("account_rule") or {}
    if rule:
        lines.append("account     " + "; ".join(f"{k} {_short(v, 80)}" for k, v in rule.items()))
    for comp_name, metrics in info["metrics"].items():
        if not isinstance(metrics, dict):
            continue
        rows = []
        for split, rep in metrics.items():
            cats = rep.get("categories") if isinstance(rep, dict) else None
            if isinstance(cats, dict):
                for c, r in cats.items():
                    if isinstance(r, dict):
                        rows.append([split, c, r.get("n"), r.get("precision"), r.get("recall"), r.get("f1"),
                                     r.get("pr_auc")])
        if rows:
            lines.append("")
            lines.append(f"{comp_name} metrics")
            lines.append(_table(["split", "category", "n", "precision", "recall", "F1", "PR-AUC"], rows))
        others = [k for k, rep in metrics.items() if not (isinstance(rep, dict) and "categories" in rep)]
        if others:
            lines.append(f"{comp_name} metrics also: {', '.join(others)} (see --json)")
    if info["data"]:
        lines.append("")
        lines.append("data and licences")
        for comp_name, d in info["data"].items():
            if not isinstance(d, dict):
                lines.append(f"  {comp_name}: {_short(d)}")
                continue
            for src in d.get("sources") or []:
                if isinstance(src, dict):
                    lines.append(f"  {comp_name}: {src.get('source', '?')} ({src.get('rows', '?')} rows; "
                                 f"licence: {src.get('licence', '?')})")
                else:
                    lines.append(f"  {comp_name}: {_short(src)}")
            for lic in d.get("licences") or []:
                if isinstance(lic, dict):
                    lines.append(f"  {comp_name}: {lic.get('component', '?')}: {lic.get('licence', '?')}"
                                 + (f" ({lic['holder']})" if lic.get("holder") else ""))
                else:
                    lines.append(f"  {comp_name}: licence {_short(lic)}")
            if d.get("backbone"):
                b = d["backbone"]
                lines.append(f"  {comp_name}: backbone {_short(b.get('name') if isinstance(b, dict) else b)}")
    if info["library_versions"]:
        lines.append("")
        lines.append("written with " + ", ".join(f"{k} {v}" for k, v in info["library_versions"].items()))
    return "\n".join(lines) + "\n"


def _data_of(component: dict):
    """What a component says it was trained on, with licences (components name it differently)."""
    for key in ("data", "data_sources", "training_data"):
        if component.get(key):
            return {"sources": component[key], "licences": component.get("licences")}
    if component.get("licences") or component.get("backbone"):
        return {"licences": component.get("licences"), "backbone": component.get("backbone")}
    return None


COMMANDS = {"score": cmd_score, "text": cmd_text, "image": cmd_image, "info": cmd_info}


def main(argv: list[str] | None = None, *, model=None) -> int:
    """Entry point of the ``cleanclf`` console script; returns the exit code.

    ``model`` lets a program (or a test) pass an already built scorer instead of ``--model``.
    """
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    func = getattr(args, "func", None) or COMMANDS[args.command]
    try:
        if getattr(args, "func", None) is not None:
            return int(func(args) or 0)
        return func(args, model=model)
    except KeyboardInterrupt:
        print("cleanclf: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (UsageError, ValueError, TypeError, FileNotFoundError, RuntimeError, ImportError) as exc:
        code = _exit_code_of(exc)
        if code is None:
            raise
        print(f"cleanclf {args.command}: error: {exc}", file=sys.stderr)
        return code


def _exit_code_of(exc: BaseException) -> int | None:
    """The exit code an exception ends a command with (None: not ours to map; it propagates).

    Usage (2): :class:`UsageError` and :class:`~cleanclf.errors.InputError` (an argument or an
    input the reader cannot use at all, e.g. a CSV without ``account_id``); could not run (1):
    model problems (:class:`~cleanclf.errors.BundleError`, a missing optional dependency) and
    other failures.
    """
    from .errors import BundleError, InputError, MissingDependencyError

    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, (BundleError, MissingDependencyError)):
        return EXIT_FAIL
    if isinstance(exc, (UsageError, InputError)):
        return EXIT_USAGE
    if isinstance(exc, (ValueError, TypeError, FileNotFoundError, RuntimeError)):
        return EXIT_FAIL
    if isinstance(exc, ImportError):
        return None
    return EXIT_FAIL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
