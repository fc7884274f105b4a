"""The account scorer: account records in, verdict records out (the one place this happens).

:class:`AccountScorer` is what :func:`cleanclf.batch.score_accounts` runs in-process and in
its worker processes, what every Spark executor runs (:mod:`cleanclf.spark`) and what
:meth:`cleanclf.classify.Classifier.score_account` calls for one account, so the three give
the same verdict for the same record, byte for byte once written by :func:`dumps_line`.

For a list of :class:`~cleanclf.schema.Item` (one per input record) it

* validates each record with :func:`~cleanclf.schema.parse_record` (a bad record becomes an
  error verdict carrying its line number, never an exception);
* sends every post text of every account, plus one profile text (nickname + bio) per account,
  to ``clf.score_texts`` in ONE call, and all image paths to ``clf.score_images`` in one call;
* aggregates each account's post results with :class:`~cleanclf.accounts.AccountModel`;
* if the vectorised call fails, re-scores the accounts one by one, so only the account that
  breaks it becomes an error verdict.

``clf`` is anything with ``model_id``, ``score_texts`` / ``score_images`` (and optionally
``text_model``, ``image_model``, ``thresholds``, ``account_params``), e.g. a
:class:`~cleanclf.classify.Classifier`. This module imports neither :mod:`cleanclf.classify`
nor :mod:`cleanclf.batch`: it is below both.

>>> from cleanclf.scoring import AccountScorer, check_scoring_opts
>>> check_scoring_opts("flagged", "exact")
>>> check_scoring_opts("some", "exact")
Traceback (most recent call last):
...
cleanclf.errors.InputError: posts: expected one of ('flagged', 'all', 'none'), got 'some' (str)
"""

from __future__ import annotations

import json
from typing import Any

from .accounts import POSTS_MODES, AccountModel, error_verdict, image_failure_reason
from .errors import InputError, RecordError, describe, error_dict
from .image_text import ImageTextUnits, check_image_text, require_ocr
from .schema import Account, Item, parse_record

#: Values of the ``image_mode`` scoring option.
IMAGE_MODES = ("exact", "fast")


def check_scoring_opts(posts: Any, image_mode: Any, image_screen: Any = None) -> None:
    """Validate the per-record scoring options (the one validator for them).

    ``posts`` must be one of :data:`~cleanclf.accounts.POSTS_MODES`, ``image_mode`` one of
    :data:`IMAGE_MODES`, ``image_screen`` ``None``, ``True`` or ``False``; raises
    :class:`~cleanclf.errors.InputError` naming the option otherwise. Used by
    :class:`AccountScorer`, :func:`cleanclf.batch.score_accounts` and :mod:`cleanclf.spark`.
    """
    if posts not in POSTS_MODES:
        raise InputError(f"posts: expected one of {POSTS_MODES}, got {describe(posts)}")
    if image_mode not in IMAGE_MODES:
        raise InputError(f"image_mode: expected one of {IMAGE_MODES}, got {describe(image_mode)}")
    if image_screen not in (None, True, False):
        raise InputError(f"image_screen: expected None, True or False, got {describe(image_screen)}")


def check_count(name: str, value: Any, *, optional: bool = False) -> None:
    """Validate a run option that counts something (``jobs``, ``chunk_size``, ``partitions``): an
    ``int`` >= 1 (not ``bool``), or ``None`` when ``optional``; raises
    :class:`~cleanclf.errors.InputError` naming ``name`` otherwise.

    >>> check_count("jobs", 2)
    >>> check_count("partitions", 0, optional=True)
    Traceback (most recent call last):
    ...
    cleanclf.errors.InputError: partitions: expected an integer >= 1 or None, got 0 (int)
    """
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{name}: expected an integer >= 1{' or None' if optional else ''}, got {describe(value)}")


def dumps_line(verdict: dict) -> bytes:
    """One verdict as a UTF-8 JSON line (``ensure_ascii=False``; escaped only if it cannot encode).

    >>> dumps_line({"account_id": "小王", "labels": []}).decode("utf-8")
    '{"account_id": "小王", "labels": []}\\n'
    """
    try:
        return (json.dumps(verdict, ensure_ascii=False, separators=(", ", ": ")) + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate slipped through: keep the record, escape it
        return (json.dumps(verdict, ensure_ascii=True, separators=(", ", ": ")) + "\n").encode("ascii")


#: Keys of the per-verdict run statistics (the 5th element of a serialized tuple); see :func:`verdict_stats`.
STAT_KEYS = ("posts", "texts", "texts_failed", "texts_unscored", "images", "images_unscored")


def _warning_code(text: Any) -> str:
    # "[unknown_post_field] posts[0] ..." -> "unknown_post_field"
    if isinstance(text, str) and text.startswith("[") and "]" in text:
        return text[1:text.index("]")]
    return "other"


def verdict_stats(verdict: dict, computed: dict | None = None) -> dict:
    """Run statistics of one verdict: the small dict a serialized tuple carries as its 5th element.

    ``{"posts", "texts", "texts_failed", "texts_unscored", "images", "images_unscored": int,
    "images_failed": {reason: n}, "error": error type or None, "warnings": {code: n}}``:
    posts of the account, texts (post texts + profile) scored and failed, texts not scored for
    want of a text component, images scored, failed (by :func:`image_failure_reason`) and not
    scored for want of an image component, the error type of an error row, and the verdict's
    ``warnings`` counted by their ``[code]``. ``computed`` is what the scorer counted from the
    ``score_texts`` / ``score_images`` results; without it the counts come from the verdict.

    >>> verdict_stats({"counts": {}, "error": {"type": "RecordError", "message": "bad"}})["error"]
    'RecordError'
    """
    out: dict = {k: 0 for k in STAT_KEYS}
    out["images_failed"] = {}
    if computed:
        out.update(computed)
    else:
        counts = verdict.get("counts") or {}
        out["posts"] = int(counts.get("posts") or 0)
    err = verdict.get("error")
    out["error"] = None if err is None else str(err.get("type") if isinstance(err, dict) else type(err).__name__)
    warns: dict[str, int] = {}
    for w in verdict.get("warnings") or ():
        code = _warning_code(w)
        warns[code] = warns.get(code, 0) + 1
    out["warnings"] = warns
    it = (verdict.get("counts") or {}).get("image_text")
    if it:  # only with image text on: other runs' statistics keep their keys
        out["image_text"] = dict(it)
    return out


def _account_stats(acc: Account, text_res, prof_res, img_res) -> dict:
    """Counts for :func:`verdict_stats` from one account's ``score_texts`` / ``score_images`` results."""
    st = {"posts": len(acc.posts), "texts": 0, "texts_failed": 0, "texts_unscored": 0, "images": 0,
          "images_unscored": 0, "images_failed": {}}
    if text_res is None:
        st["texts_unscored"] = sum(1 for p in acc.posts if p.text)
    else:
        for r in [*text_res, prof_res]:
            if r is None:
                continue
            st["texts_failed" if "error" in r else "texts"] += 1
    if img_res is None:
        st["images_unscored"] = sum(len(p.images) for p in acc.posts)
    else:
        failed = st["images_failed"]
        for per_post in img_res:
            for r in per_post:
                if "error" in r:
                    reason = image_failure_reason(r["error"])
                    failed[reason] = failed.get(reason, 0) + 1
                else:
                    st["images"] += 1
    return st


class AccountScorer:
    """Scores a list of :class:`~cleanclf.schema.Item` into verdict records (one per item, in order).

    The unit of work in-process, in batch worker processes and on Spark executors.
    ``posts``, ``image_mode`` and ``image_screen`` are checked by :func:`check_scoring_opts`;
    ``images_root`` resolves relative image paths; ``strict=True`` makes a record with input the
    reader does not know (an unknown field) an error verdict instead of a verdict with ``warnings``. ``serialize=True`` returns
    ``(json_line_bytes, labels, escalate, is_error, stats)`` tuples instead of dicts, so a parent
    process only writes bytes; ``stats`` is :func:`verdict_stats` (what run records add up).
    """

    def __init__(self, clf, *, posts: str = "flagged", images_root=None, image_mode: str = "exact",
                 serialize: bool = False, image_screen: bool | None = None, strict: bool = False,
                 image_text: str = "off", image_text_reader=None):
        check_scoring_opts(posts, image_mode, image_screen)
        check_image_text(image_text)
        # "off" (the default) never touches the reader, so verdicts stay byte for byte what they were
        self.image_text = image_text
        self.image_text_reader = image_text_reader
        if image_text != "off" and image_text_reader is None:
            require_ocr()  # fail before any record is scored, naming the install
            from .image.text import ImageTextReader  # imported only when used: cleanclf.image is heavy

            self.image_text_reader = ImageTextReader(mode=image_text)
        if strict not in (True, False):
            raise InputError(f"strict: expected True or False, got {describe(strict)}")
        # passed to parse_record only when set, so the reader's default stays the one place it is decided
        self.parse_extra = {"strict": True} if strict else {}
        self.clf = clf
        self.model_id = clf.model_id
        self.account_model = AccountModel(getattr(clf, "account_params", None) or {},
                                          getattr(clf, "thresholds", None) or {})
        self.has_text = getattr(clf, "text_model", None) is not None
        self.has_image = getattr(clf, "image_model", None) is not None
        self.posts = posts
        self.images_root = None if images_root is None else str(images_root)
        self.image_mode = image_mode
        # None: the model's default (the int8 screen in fast mode on VNNI CPUs); passed on only
        # when set, so scorers without the option keep working
        self.image_extra = {} if image_screen is None else {"screen": image_screen}
        self.serialize = serialize

    # -- public
    def score(self, items: list[Item]) -> list:
        """One verdict record (or serialized tuple) per item; bad records become error verdicts."""
        verdicts: list[dict | None] = [None] * len(items)
        accounts: list[tuple[int, Account]] = []
        for k, item in enumerate(items):
            try:
                if isinstance(item.payload, BaseException):
                    raise item.payload
                accounts.append((k, parse_record(item.payload, item.line, **self.parse_extra)))
            except RecordError as exc:
                verdicts[k] = self._error(getattr(exc, "account_id", None), exc, item.line)
            except Exception as exc:  # noqa: BLE001 - bad input never crashes a batch
                verdicts[k] = self._error(None, exc, item.line)
        try:
            for (k, _), v in zip(accounts, self._score_accounts([a for _, a in accounts])):
                verdicts[k] = v
        except Exception:  # noqa: BLE001 - isolate the account that breaks the vectorised call
            for k, acc in accounts:
                try:
                    verdicts[k] = self._score_accounts([acc])[0]
                except Exception as exc:  # noqa: BLE001
                    verdicts[k] = self._error(acc.account_id, exc, items[k].line)
        return [self._out(v) for v in verdicts]

    def score_record(self, record: Any, line: int | None = 1):
        """The verdict of one record (an :class:`~cleanclf.schema.Account`, a dict, a JSON line or an Item)."""
        return self.score([record if isinstance(record, Item) else Item(line, record)])[0]

    # -- internals
    def _error(self, account_id, exc: BaseException, line) -> dict:
        return error_verdict(account_id, error_dict(exc), line=line, model_id=self.model_id, posts=self.posts)

    def _out(self, v: dict):
        computed = v.pop("_stats", None)  # _score_accounts' counts: never part of the verdict
        if not self.serialize:
            return v
        return (dumps_line(v), tuple(v["labels"]), bool(v["escalate"]), v["error"] is not None,
                verdict_stats(v, computed))

    def _score_accounts(self, accounts: list[Account]) -> list[dict]:
        text_res: list[list[dict | None]] | None = None
        prof_res: list[dict | None] = [None] * len(accounts)
        img_res: list[list[list[dict]]] | None = None
        if self.has_text:
            texts, where = [], []
            for a, acc in enumerate(accounts):
                for i, p in enumerate(acc.posts):
                    if p.text:
                        texts.append(p.text)
                        where.append((a, i))
                ptext = acc.profile_text()
                if ptext:
                    texts.append(ptext)
                    where.append((a, -1))
            results = self.clf.score_texts(texts) if texts else []
            if len(results) != len(texts):
                raise RuntimeError(f"score_texts returned {len(results)} results for {len(texts)} texts")
            text_res = [[None] * len(acc.posts) for acc in accounts]
            for (a, i), r in zip(where, results):
                if i < 0:
                    prof_res[a] = r
                else:
                    text_res[a][i] = r
        if self.has_image:
            paths, where = [], []
            for a, acc in enumerate(accounts):
                for i, p in enumerate(acc.posts):
                    for path in p.images:
                        paths.append(path)
                        where.append((a, i))
            results = (self.clf.score_images(paths, mode=self.image_mode, images_root=self.images_root,
                                             **self.image_extra) if paths else [])
            if len(results) != len(paths):
                raise RuntimeError(f"score_images returned {len(results)} results for {len(paths)} paths")
            img_res = [[[] for _ in acc.posts] for acc in accounts]
            for (a, i), r in zip(where, results):
                img_res[a][i].append(r)
        units = None
        if self.image_text != "off" and self.has_text:
            units = ImageTextUnits(self.image_text_reader, self.clf, self.account_model.post_thresholds,
                                   images_root=self.images_root).read(accounts)
        out = []
        for a, acc in enumerate(accounts):
            if units is None:
                out.append(self.account_model.verdict(
                    acc, text_res[a] if text_res is not None else None, prof_res[a],
                    img_res[a] if img_res is not None else None, model_id=self.model_id, posts=self.posts))
            else:
                out.append(units.verdict(self.account_model, a, acc, text_res[a], prof_res[a],
                                         img_res[a] if img_res is not None else None,
                                         model_id=self.model_id, posts=self.posts))
            if self.serialize:  # popped by _out before the verdict is written
                out[-1]["_stats"] = _account_stats(acc, text_res[a] if text_res is not None else None, prof_res[a],
                                                   img_res[a] if img_res is not None else None)
        return out


__all__ = ["AccountScorer", "check_scoring_opts", "check_count", "dumps_line", "IMAGE_MODES", "verdict_stats",
           "image_failure_reason", "STAT_KEYS"]
