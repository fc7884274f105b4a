"""``cleanclf`` command line: ``score``, ``text``, ``image``, ``info``, ``train``, ``evaluate``.

>>> from cleanclf.cli import build_parser
>>> build_parser().parse_args(["score", "in.jsonl", "-o", "out.jsonl", "--jobs", "2"]).jobs
2

Exit codes: 0 = the run completed (even if some records are error rows); 1 = the run
could not be carried out (model missing or broken); 2 = unusable arguments (missing
input file, unknown extension, bad option); 130 = interrupted (rerun with ``--resume``).

``score --resume`` continues an interrupted run (``kill -9`` included): OUT is cut back
to its last complete line, its lines are counted, that many input records are skipped
(readers are deterministic: blank lines never count) and the rest is appended. Each chunk
is written, flushed and fsynced whole, so at most one torn line exists, and it is removed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from .categories import CATEGORIES

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """An argument cannot be used (exit code 2)."""


# ---------------------------------------------------------------------------- parser
def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The argparse parser of the ``cleanclf`` command (``argv`` is accepted for compatibility; unused)."""
    p = argparse.ArgumentParser(prog="cleanclf", description=(
        "Find accounts posting lewd images, explicit sexual text or prostitution solicitation."))
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    s = sub.add_parser("score", help="score an account dump into verdict records (JSONL)")
    s.add_argument("input", metavar="IN", help="account dump: .jsonl, .jsonl.gz, .csv, .parquet, or - for stdin")
    s.add_argument("-o", "--output", required=True, metavar="OUT", help="verdicts: .jsonl file, or - for stdout")
    s.add_argument("--images-root", metavar="DIR", help="directory that relative image paths are resolved against "
                   "(default: the directory of IN; the current directory for stdin)")
    s.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes (default 1)")
    s.add_argument("--resume", action="store_true", help="continue an interrupted run into the same OUT")
    s.add_argument("--posts", choices=("flagged", "all", "none"), default="flagged",
                   help="which posts to list in each verdict (default: flagged)")
    s.add_argument("--image-mode", choices=("exact", "fast"), default="exact")
    s.add_argument("--no-screen", action="store_true",
                   help="fast image mode: score every frame with the float32 graph (no int8 screening)")
    s.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    s.add_argument("--chunk-size", type=int, default=None, metavar="N", help="accounts per chunk (default 128)")
    s.add_argument("--engine", choices=("local", "spark"), default="local",
                   help="local: processes on this machine (--jobs); spark: a Spark job (pip install 'cleanclf[spark]')")
    s.add_argument("--master", default="local[2]", metavar="URL",
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
    _model_args(n)

    _add_train_commands(sub)
    return p


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
    t.add_argument("--no-frozen-test", action="store_true",
                   help="train and tune on the frozen test split too (its figures are then no longer held out)")
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
    man = build_text_component(
        args.out, data_dir=args.data, train_files=args.train, dev_files=args.dev, lexicon_dir=args.lexicons,
        synthetic=not args.no_synthetic, exclude_sources=args.exclude_source,
        exclude_licences=args.exclude_licence, frozen_test=not args.no_frozen_test, name=args.name,
        version=args.version, C=args.C, classifier=args.classifier,
        words=args.words, slang=not args.no_slang, **extra)
    for split, rep in man["components"]["text"]["metrics"].items():
        for c, r in rep["categories"].items():
            print(f"{split:5s} {c:15s} P={r['precision']:.3f} R={r['recall']:.3f} F1={r['f1']:.3f}")
    print(f"wrote {args.out} ({man['name']}@{man['version']})")
    return 0


def _cli_evaluate(args) -> int:
    from . import load
    from .training import evaluate_model, read_posts

    name = Path(args.model) if ("/" in args.model or os.sep in args.model) else args.model
    clf = load(name, trust=args.trust_model)
    rows = read_posts(args.files)
    report = evaluate_model(clf, rows)
    for c, r in report["categories"].items():
        print(f"{c:15s} n={r['n']:6d} P={r['precision']:.3f} R={r['recall']:.3f} F1={r['f1']:.3f} "
              f"PR-AUC={r['pr_auc'] if r['pr_auc'] is None else round(r['pr_auc'], 3)} "
              f"ECE={r['ece'] if r['ece'] is None else round(r['ece'], 3)}")
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


# ---------------------------------------------------------------------------- commands
def _score_on_spark(args, in_path, out_path, to_stdout) -> int:
    if args.resume or to_stdout or in_path is None:
        raise UsageError("--engine spark: needs IN and -o OUT files (no stdin/stdout, no --resume)")
    if args.partitions is not None and args.partitions < 1:
        raise UsageError(f"--partitions: expected an integer >= 1, got {args.partitions}")
    from .spark import score_file

    name = Path(args.model) if ("/" in args.model or os.sep in args.model) else args.model
    s = score_file(in_path, out_path, master=args.master, partitions=args.partitions, images_root=args.images_root,
                   posts=args.posts, model=name, image_mode=args.image_mode,
                   image_screen=False if args.no_screen else None, trust_model=args.trust_model)
    print(f"cleanclf: {s['accounts']} accounts scored on Spark in {s['seconds']:.1f}s "
          f"(+{s['startup_seconds']:.1f}s JVM start); error rows {s['errors']}; written to {args.output}",
          file=sys.stderr)
    return EXIT_OK


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

    if args.jobs < 1:
        raise UsageError(f"--jobs: expected an integer >= 1, got {args.jobs}")
    if args.chunk_size is not None and args.chunk_size < 1:
        raise UsageError(f"--chunk-size: expected an integer >= 1, got {args.chunk_size}")
    try:
        fmt = detect_format(args.input)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    in_path = None if args.input == "-" else Path(args.input)
    if in_path is not None and not in_path.is_file():
        raise UsageError(f"IN: {args.input!r} does not exist or is not a file")
    to_stdout = args.output == "-"
    out_path = None if to_stdout else Path(args.output)
    spark = getattr(args, "engine", "local") == "spark"
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

    if args.images_root is None:
        # Paths inside a dump are relative to the dump, the way examples/ ships them.
        args.images_root = str(in_path.resolve().parent) if in_path is not None else os.getcwd()
    if spark:
        return _score_on_spark(args, in_path, out_path, to_stdout)
    done = 0
    if args.resume and out_path is not None and out_path.exists():
        done = _truncate_to_last_newline(out_path)
    if model is None:
        from .batch import resolve_model

        name = Path(args.model) if ("/" in args.model or os.sep in args.model) else args.model
        model = name  # workers (or the in-process scorer) load it; the parent only verifies it
        resolve_model(name, trust=args.trust_model)
    total = _count_lines(in_path) if in_path is not None else None
    if total is not None:
        total = max(0, total - done)

    items = iter_records(args.input if in_path is None else in_path, fmt)
    if done:
        skipped = sum(1 for _ in itertools.islice(items, done))
        if skipped < done:
            print(f"cleanclf: --resume: {args.output} already holds {done} records but the input has only "
                  f"{skipped}; nothing to do (is it the same input?)", file=sys.stderr)
            return EXIT_OK
    stats = {"accounts": 0, "errors": 0, "escalate": 0, **{c: 0 for c in CATEGORIES}}
    t0 = time.monotonic()
    out = sys.stdout.buffer if to_stdout else open(out_path, "ab" if args.resume else "wb")
    interrupted = False
    gen = None
    try:
        gen = score_accounts(items, model=model, jobs=args.jobs, progress=not args.no_progress,
                             posts=args.posts, images_root=args.images_root, image_mode=args.image_mode,
                             image_screen=False if args.no_screen else None,
                             chunk_size=args.chunk_size or DEFAULT_CHUNK_SIZE, trust_model=args.trust_model,
                             total=total, _serialize=True, _by_chunk=True)
        with _StopOnSigint() as stop:
            for chunk in gen:
                out.write(b"".join(r[0] for r in chunk))
                out.flush()
                if not to_stdout:
                    os.fsync(out.fileno())  # a chunk is on disk whole before the next one starts
                for _line, labels, esc, err in chunk:
                    stats["accounts"] += 1
                    stats["errors"] += err
                    stats["escalate"] += esc
                    for c in labels:
                        stats[c] += 1
                if stop.requested:
                    interrupted = True
                    break
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if gen is not None:
            gen.close()  # stops the workers (a no-op when the generator ran to its end)
        if not to_stdout:
            out.close()
    dt = time.monotonic() - t0
    resumed = f" (resumed after {done} already written)" if done else ""
    flagged = ", ".join(f"{c} {stats[c]}" for c in CATEGORIES)
    print(f"cleanclf: {stats['accounts']} accounts scored{resumed} in {dt:.1f}s "
          f"({stats['accounts'] / dt if dt > 0 else 0:.0f}/s); flagged: {flagged}; "
          f"escalations {stats['escalate']}; error rows {stats['errors']}"
          + (f"; written to {args.output}" if not to_stdout else ""), file=sys.stderr)
    if interrupted:
        print("cleanclf: interrupted; rerun the same command with --resume to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK


def cmd_text(args, model=None) -> int:
    text = sys.stdin.read() if args.text == "-" else args.text
    clf = model or _load(args)
    _print_json(clf.score_text(text))
    return EXIT_OK


def cmd_image(args, model=None) -> int:
    clf = model or _load(args)
    if args.images_root is not None and not Path(args.images_root).is_dir():
        raise UsageError(f"--images-root: {args.images_root!r} is not a directory")
    extra = {"screen": False} if args.no_screen else {}  # duck-typed models need not know the option
    results = clf.score_images(args.paths, mode=args.image_mode, images_root=args.images_root, **extra)
    for path, r in zip(args.paths, results):
        _print_json({"path": path, **r})
    return EXIT_OK if any("error" not in r for r in results) else EXIT_FAIL


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
    _print_json(info)
    return EXIT_OK


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
    from .errors import BundleError, MissingDependencyError

    try:
        if getattr(args, "func", None) is not None:
            return int(func(args) or 0)
        return func(args, model=model)
    except UsageError as exc:
        print(f"cleanclf {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (BundleError, MissingDependencyError) as exc:
        print(f"cleanclf {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        print("cleanclf: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, TypeError, FileNotFoundError, RuntimeError) as exc:
        print(f"cleanclf {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_FAIL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
