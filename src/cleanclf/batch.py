"""Streaming batch scoring of account dumps: chunks, worker processes, error rows, order.

Architecture (what the README describes):

* A reader (:func:`cleanclf.schema.iter_records`) streams raw records; the parent does not
  even parse JSON. Records are cut into *chunks* (:func:`chunks`: ``chunk_size`` accounts,
  or fewer when their raw size passes ``chunk_bytes``).
* Each chunk is scored as a unit by :class:`cleanclf.scoring.AccountScorer` (the account
  scorer Spark and ``Classifier.score_account`` use too): every post text of every account
  in it, plus one profile text (nickname + bio) per account, goes to ``clf.score_texts`` in
  ONE call and all image paths to ``clf.score_images`` in one call; then
  :class:`~cleanclf.accounts.AccountModel` aggregates each account's posts into its verdict.
* ``jobs=1`` scores in-process. ``jobs>1`` uses worker processes with at most ``2 * jobs``
  chunks in flight, and yields results in input order, so memory stays flat however long
  the input is. On Linux (``fork``) the parent loads the model once and the workers inherit
  it copy-on-write; elsewhere (``spawn``) each worker loads it once. A Classifier object
  loaded from a bundle is re-loaded from its directory, never inherited, so an onnxruntime
  session it may already hold is never used across a fork.
* A worker that dies (segfault, OOM kill, ``os._exit``) breaks the pool: the chunks that
  were in flight are re-run one by one in a fresh pool; a chunk that kills its worker
  again is re-run record by record, and the record that still kills it becomes an error
  record (``WorkerCrash``). Nothing hangs, nothing vanishes, order is kept.
* Every input record yields exactly one output record. Malformed input (bad JSON,
  invalid UTF-8, wrong field types) yields an error record with its line number.

>>> import cleanclf
>>> from cleanclf.batch import score_accounts
>>> recs = ['{"account_id": "u1", "posts": [{"id": "p1", "text": "你好"}]}', '{oops']
>>> out = list(score_accounts(recs, model=cleanclf.load()))          # doctest: +SKIP
>>> [(v["account_id"], v["error"] and v["error"]["type"]) for v in out]  # doctest: +SKIP
[('u1', None), (None, 'RecordError')]
"""

from __future__ import annotations

import ctypes
import json
import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Iterable, Iterator

from .accounts import error_verdict
from .errors import InputError, RecordError, describe
from .schema import Account, Item
from .scoring import AccountScorer, check_count, check_scoring_opts, dumps_line, verdict_stats
from .image_text import check_image_text, require_ocr
from .models import COMPONENTS  # the components a bundle can have (re-exported)

DEFAULT_CHUNK_SIZE = 128
DEFAULT_CHUNK_BYTES = 4 << 20
ON_ERROR = ("record", "raise")


# ---------------------------------------------------------------------------- workers
_WORKER: AccountScorer | None = None
_WORKER_ERROR: str | None = None


def _watch_parent(parent_pid: int) -> None:
    # A worker must not outlive a SIGKILLed parent (it would hold the output pipes open).
    import time

    while True:
        time.sleep(1.0)
        if os.getppid() != parent_pid:
            os._exit(1)


def _init_worker(model_spec: tuple, opts: dict, parent_pid: int) -> None:
    global _WORKER, _WORKER_ERROR
    try:  # Linux: die with the parent, even when it is SIGKILLed
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - not Linux: the watchdog thread below suffices
        pass
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        kind, value = model_spec
        if kind == "load":
            from .classify import Classifier

            clf = Classifier.load(value, trust=True)  # the parent already resolved and verified it
        else:
            clf = value
        _WORKER = AccountScorer(clf, **opts)
    except Exception as exc:  # noqa: BLE001 - reported by _ping, so the parent fails clearly, once
        _WORKER_ERROR = f"{type(exc).__name__}: {exc}"


def _ping() -> str | None:
    return _WORKER_ERROR


def _work(items: list[Item]) -> list:
    if _WORKER is None:
        raise RuntimeError(f"worker could not load the model: {_WORKER_ERROR}")
    return _WORKER.score(items)


def _crash_record(item: Item, model_id: str, posts: str, serialize: bool, exc: BaseException | None = None):
    account_id = None
    if isinstance(item.payload, Account):
        account_id = item.payload.account_id
    elif isinstance(item.payload, dict):
        account_id = item.payload.get("account_id")
    msg = ("worker process died while scoring this record (a crash in native code, the OOM killer, or "
           "os._exit); the record was isolated and skipped" if exc is None or isinstance(exc, BrokenProcessPool)
           else f"scoring failed in a worker: {exc!r}")
    v = error_verdict(None if account_id is None else str(account_id),
                      {"type": "WorkerCrash", "message": msg}, line=item.line, model_id=model_id, posts=posts)
    return (dumps_line(v), (), False, True, verdict_stats(v)) if serialize else v


class _Pool:
    """A process pool that survives dead workers and keeps results in submission order."""

    def __init__(self, jobs: int, model_spec: tuple, opts: dict, model_id: str):
        self.jobs = jobs
        self.model_spec = model_spec
        self.opts = opts
        self.model_id = model_id
        fork = "fork" in multiprocessing.get_all_start_methods()
        self.ctx = multiprocessing.get_context("fork" if fork else "spawn")
        if fork and model_spec[0] == "load":
            # Load once here, before any worker exists: forked workers share the model's
            # pages (numpy buffers stay shared copy-on-write), start instantly, and a
            # replacement worker after a crash needs no reload. gc.freeze keeps the
            # children's garbage collector from touching (and so copying) those objects.
            import gc

            from .classify import Classifier

            self.model_spec = ("object", Classifier.load(model_spec[1], trust=True))
            gc.freeze()
        self.ex: ProcessPoolExecutor | None = None
        self.restarts = 0
        self._new()
        # Fail once and clearly if workers cannot load the model, instead of turning every
        # record into a crash record.
        err = self.ex.submit(_ping).result()
        if err is not None:
            self.terminate()
            raise RuntimeError(f"model: worker processes could not load it ({err})")

    def _new(self) -> None:
        self.ex = ProcessPoolExecutor(self.jobs, mp_context=self.ctx, initializer=_init_worker,
                                      initargs=(self.model_spec, self.opts, os.getpid()))

    def _restart(self) -> None:
        self.restarts += 1
        self.ex.shutdown(wait=False, cancel_futures=True)
        self._new()

    def close(self) -> None:
        if self.ex is not None:
            self.ex.shutdown(wait=True, cancel_futures=True)
            self.ex = None

    def terminate(self) -> None:
        if self.ex is not None:
            for p in list(getattr(self.ex, "_processes", {}).values()):
                try:
                    p.kill()
                except Exception:  # noqa: BLE001
                    pass
            self.ex.shutdown(wait=False, cancel_futures=True)
            self.ex = None

    def _run_alone(self, chunk: list[Item]):
        """Run one chunk with nothing else in flight: results, or the exception that stopped it."""
        try:
            return self.ex.submit(_work, chunk).result(), None
        except Exception as exc:  # noqa: BLE001 - BrokenProcessPool or an escaped worker exception
            if isinstance(exc, BrokenProcessPool):
                self._restart()
            return None, exc

    def _isolate(self, chunk: list[Item]) -> list:
        res, exc = self._run_alone(chunk)
        if exc is None:
            return res
        out = []
        for item in chunk:  # find the poison: one record at a time
            r, e = self._run_alone([item]) if len(chunk) > 1 else (None, exc)
            out.extend(r if e is None else [_crash_record(item, self.model_id, self.opts["posts"],
                                                          self.opts["serialize"], e)])
        return out

    def map_ordered(self, batches: Iterable[list[Item]]) -> Iterator[list]:
        inflight: deque = deque()
        max_inflight = 2 * self.jobs

        def head() -> Iterator[list]:
            chunk, fut = inflight.popleft()
            try:
                res = fut.result()
            except Exception:  # noqa: BLE001 - a worker died or raised: isolate what was in flight
                affected = [chunk] + [c for c, _ in inflight]
                inflight.clear()
                self._restart()
                for c in affected:
                    yield self._isolate(c)
                return
            yield res

        for chunk in batches:
            while len(inflight) >= max_inflight:
                yield from head()
            try:
                fut = self.ex.submit(_work, chunk)
            except BrokenProcessPool as exc:
                # A worker died after the last result was collected: let head() isolate this chunk too.
                fut = Future()
                fut.set_exception(exc)
            inflight.append((chunk, fut))
        while inflight:
            yield from head()


# ---------------------------------------------------------------------------- public API
def _as_items(records: Iterable[Any]) -> Iterator[Item]:
    for n, rec in enumerate(records, 1):
        yield rec if isinstance(rec, Item) else Item(n, rec)


def _cost(item: Item) -> int:
    p = item.payload
    if isinstance(p, (bytes, str)):
        return len(p)
    if isinstance(p, Account):
        return 200 * (len(p.posts) + 1) + sum(len(x.text) for x in p.posts)
    if isinstance(p, dict) and isinstance(p.get("posts"), list):
        return 200 * (len(p["posts"]) + 1)
    return 200


def chunks(items: Iterable[Item], chunk_size: int = DEFAULT_CHUNK_SIZE,
           chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[list[Item]]:
    """Cut a stream of items into lists of at most ``chunk_size`` records, or fewer once their
    estimated size reaches ``chunk_bytes`` (the units :class:`~cleanclf.scoring.AccountScorer`
    scores with one ``score_texts`` call); used by :func:`score_accounts` and :mod:`cleanclf.spark`.

    >>> from cleanclf.schema import Item
    >>> [len(c) for c in chunks((Item(n, b"{}") for n in range(5)), chunk_size=2)]
    [2, 2, 1]
    """
    chunk: list[Item] = []
    size = 0
    for item in items:
        chunk.append(item)
        size += _cost(item)
        if len(chunk) >= chunk_size or size >= chunk_bytes:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def resolve_model(model=None, *, trust: bool = False) -> tuple[Any, tuple, str]:
    """``(classifier_or_None, worker_spec, model_id)`` for ``model`` (None, name, path or object).

    For a name or path the parent only verifies the bundle (hashes) and reads its id;
    the classifier itself is loaded lazily (in-process for ``jobs=1``, in each worker
    otherwise), so the parent of a multi-process run does not hold a model copy.
    """
    if model is None or isinstance(model, (str, os.PathLike)):
        from . import models

        directory = models.resolve(model if model is not None else "default", trust=trust)
        manifest = models.verify_bundle(directory)
        model_id = f"{manifest.get('name', 'unsaved')}@{manifest.get('version', '0')}"
        # absolute: a relative directory without a separator ("./m" -> "m") would load as a bundle name
        return None, ("load", str(Path(directory).absolute())), model_id
    if not hasattr(model, "score_texts") or not hasattr(model, "model_id"):
        raise InputError(f"model: expected None, a bundle name/path or a Classifier, got {describe(model)}")
    directory = getattr(model, "directory", None)
    from .classify import Classifier

    if isinstance(model, Classifier) and directory is not None:
        # Workers re-load from the verified directory rather than inherit a possibly used
        # onnxruntime session across fork.
        return model, ("load", str(directory)), model.model_id
    return model, ("object", model), model.model_id


def model_components(model=None, *, trust: bool = False) -> tuple[str, ...]:
    """The components (of :data:`COMPONENTS`) that ``model`` has: a bundle name/path (read from its
    verified manifest, nothing is unpickled) or a scorer object (its ``components``, else inferred
    from ``text_model`` / ``image_model`` / ``account_params``).

    A bundle from ``cleanclf train --out DIR`` has only ``("text",)``: its verdicts have no
    image scores and use the default (uncalibrated) account rule.
    """
    if model is None or isinstance(model, (str, os.PathLike)):
        from . import models

        directory = models.resolve(model if model is not None else "default", trust=trust)
        comps = models.verify_bundle(directory).get("components", {})
        return tuple(c for c in COMPONENTS if c in comps)
    comps = getattr(model, "components", None)
    if comps is not None and not callable(comps):
        return tuple(c for c in COMPONENTS if c in comps)
    have = {"text": getattr(model, "text_model", None) is not None,
            "image": getattr(model, "image_model", None) is not None,
            "account": bool(getattr(model, "account_params", None))}
    return tuple(c for c in COMPONENTS if have[c])


def score_accounts(records: Iterable[Any], *, model=None, jobs: int = 1, progress: bool = False,
                   on_error: str = "record", posts: str = "flagged", images_root=None,
                   image_mode: str = "exact", image_screen: bool | None = None,
                   chunk_size: int = DEFAULT_CHUNK_SIZE,
                   chunk_bytes: int = DEFAULT_CHUNK_BYTES, trust_model: bool = False,
                   total: int | None = None, strict: bool = False, image_text: str = "off",
                   _serialize: bool = False,
                   _by_chunk: bool = False) -> Iterator[dict]:
    """Score account records lazily; one verdict record per input record, in input order.

    ``records``: :class:`~cleanclf.schema.Account` objects, dicts, raw JSON lines
    (``str``/``bytes``) or :class:`~cleanclf.schema.Item` from
    :func:`~cleanclf.schema.iter_records` (which carry line numbers; otherwise the
    record's 1-based position is its "line"). ``model``: a loaded Classifier, a bundle
    name or path (paths need ``trust_model=True``), or None for the bundled default.
    ``on_error="record"`` turns bad records into error records; ``"raise"`` raises
    :class:`~cleanclf.errors.RecordError` at the first one. ``posts`` is ``"flagged"``,
    ``"all"`` or ``"none"`` (omit the key). With ``jobs>1`` and a Classifier object,
    pass a model loaded from a bundle (each worker re-loads it) or any picklable scorer.
    ``image_mode`` is ``"exact"`` or ``"fast"``; ``image_screen``: ``None`` (the model's default:
    the int8 screen in fast mode on VNNI CPUs), ``False`` (float32 only) or ``True``.
    ``strict=True`` is passed on to :class:`~cleanclf.scoring.AccountScorer` (input the schema
    does not know becomes an error row instead of a warning). ``image_text``: ``"off"`` (default),
    ``"gated"`` or ``"all"``: read text and QR codes in images as evidence (:mod:`cleanclf.image_text`;
    needs ``pip install "cleanclf[ocr]"``, else ``MissingDependencyError`` before anything is scored).

    >>> from cleanclf.batch import score_accounts
    >>> v = next(score_accounts([{"account_id": "u1", "posts": []}]))   # doctest: +SKIP
    >>> sorted(v)                                                       # doctest: +SKIP
    ['account_id', 'counts', 'error', 'escalate', 'evidence', 'labels', 'model', 'posts', 'scores']
    """
    check_count("jobs", jobs)
    check_scoring_opts(posts, image_mode, image_screen)
    check_image_text(image_text)
    if image_text != "off":
        require_ocr()
    if on_error not in ON_ERROR:
        raise InputError(f"on_error: expected one of {ON_ERROR}, got {describe(on_error)}")
    check_count("chunk_size", chunk_size)
    if isinstance(records, (str, bytes, dict, Account)):
        raise InputError(f"records: expected an iterable of records, got a single {type(records).__name__}; "
                         "wrap it in a list")
    clf, spec, model_id = resolve_model(model, trust=trust_model)
    return _generate(records, clf, spec, model_id, jobs=jobs, progress=progress, on_error=on_error,
                     opts={"posts": posts, "images_root": None if images_root is None else str(images_root),
                           "image_mode": image_mode, "image_screen": image_screen, "serialize": _serialize,
                           # passed only when set, so scorers built before the option keep working
                           **({"strict": True} if strict else {}),
                           **({"image_text": image_text} if image_text != "off" else {})},
                     chunk_size=chunk_size, chunk_bytes=chunk_bytes, total=total, by_chunk=_by_chunk)


def _generate(records, clf, spec, model_id, *, jobs, progress, on_error, opts, chunk_size, chunk_bytes, total,
              by_chunk=False):
    bar = None
    if progress:
        from tqdm import tqdm

        tqdm.monitor_interval = 0  # no monitor thread: workers are forked
        bar = tqdm(total=total, unit="acc", file=sys.stderr, mininterval=0.5, smoothing=0.05, dynamic_ncols=True)
    batches = chunks(_as_items(records), chunk_size, chunk_bytes)
    pool = None
    try:
        if jobs == 1:
            if clf is None:
                from .classify import Classifier

                clf = Classifier.load(spec[1], trust=True)
            scorer = AccountScorer(clf, **opts)
            results = (scorer.score(c) for c in batches)
        else:
            pool = _Pool(jobs, spec, opts, model_id)
            results = pool.map_ordered(batches)
        for res in results:
            if by_chunk:  # the CLI flushes and fsyncs per chunk
                yield res
            else:
                for r in res:
                    if on_error == "raise" and (r[3] if opts["serialize"] else r["error"] is not None):
                        err = json.loads(r[0])["error"] if opts["serialize"] else r["error"]
                        raise RecordError(err["message"])
                    yield r
            if bar is not None:
                bar.update(len(res))
    except BaseException:
        if pool is not None:
            pool.terminate()
            pool = None
        raise
    finally:
        if pool is not None:
            pool.close()
        if bar is not None:
            bar.close()


__all__ = ["score_accounts", "resolve_model", "model_components", "chunks", "COMPONENTS", "DEFAULT_CHUNK_SIZE",
           "DEFAULT_CHUNK_BYTES"]
