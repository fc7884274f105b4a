"""Reading labelled text: where the data is, the row format, the frozen test split.

Data never comes from the repository's folders: the shared data directory is
an argument or ``$CLEANCLF_DATA``; cleanclf's own training rows (CC0, written
for the project) ship inside the package (``cleanclf/data/training``).

>>> import json, tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "rows.jsonl"
>>> _ = p.write_text(json.dumps({"text": "上门 包夜", "explicit_text": 0, "solicitation": 1}) + "\\n")
>>> [(r["text"], r["solicitation"]) for r in read_posts(p)]
[('上门 包夜', 1)]
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from ..categories import TEXT_CATEGORIES
from ..errors import InputError, describe
from ..text.classifier import near_duplicate_groups, near_duplicate_key  # noqa: F401  (re-exported)

#: Licences a shipped model must never train on. DATA.md marks none of the
#: shared sources this way today; the guard keeps a future one out.
NONCOMMERCIAL = re.compile(r"non-?commercial|\bnc\b|cc by-nc", re.IGNORECASE)
#: Sources that are evaluation-only whatever their rows' licence field says (DATA.md: external_dev).
EVALUATION_ONLY_SOURCES = ("ChineseHarm-bench",)
#: The package's own training rows (CC0, written for cleanclf; never evaluation data).
OWN_ROWS_DIR = Path(__file__).resolve().parents[1] / "data" / "training"
#: Share of near-duplicate groups of the shared train + dev rows that form the frozen test split.
TEST_SHARE = 0.10
#: Salt of the frozen test split's hash; changing it changes the split (never do it to chase a figure).
TEST_SALT = "cleanclf-frozen-test-v1"


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """The labelled-data directory: ``path``, else ``$CLEANCLF_DATA``.

    Raises :class:`~cleanclf.errors.InputError` saying how to point at the data when
    neither names a directory holding ``text/train.jsonl``.

    >>> data_dir("/nonexistent")
    Traceback (most recent call last):
    ...
    cleanclf.errors.InputError: data_dir: '/nonexistent' has no text/train.jsonl; pass the labelled-data directory (the one with text/ and lexicons/; CLI --data) or set CLEANCLF_DATA
    """
    env = os.environ.get("CLEANCLF_DATA")
    if path is None and not env:
        raise InputError("data_dir: no labelled-data directory given; pass one (CLI --data DIR) or set "
                         "CLEANCLF_DATA to the directory holding text/train.jsonl and lexicons/")
    d = Path(path) if path is not None else Path(env)  # type: ignore[arg-type]
    if not (d / "text" / "train.jsonl").is_file():
        raise InputError(f"data_dir: {str(d)!r} has no text/train.jsonl; pass the labelled-data directory "
                         "(the one with text/ and lexicons/; CLI --data) or set CLEANCLF_DATA")
    return d


def find_data_dir() -> Path | None:
    """``$CLEANCLF_DATA`` when it names a data directory, else None (for code that can do without)."""
    try:
        return data_dir()
    except InputError:
        return None


def read_posts(paths: str | os.PathLike | Sequence[str | os.PathLike], *, exclude_sources: Iterable[str] = (),
               exclude_licences: Iterable[str] = ()) -> list[dict]:
    """Read labelled posts from JSONL(.gz) or CSV files.

    Each row needs ``text``; per-category labels are 0, 1 or null (null = not
    labelled for that category, left out of its fit and metrics). ``source``
    and ``license`` are kept when present. ``exclude_sources`` drops rows
    whose source equals or starts with a given prefix ("literature" drops
    "literature:jpm"); ``exclude_licences`` drops rows whose licence contains
    a given substring, case-insensitive ("research", "none stated"), so a user
    can retrain without any source they cannot accept.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    ex_src = tuple(exclude_sources)
    ex_lic = tuple(s.lower() for s in exclude_licences)
    rows: list[dict] = []
    for path in paths:
        for i, row in enumerate(iter_rows(Path(path)), start=1):
            if not isinstance(row.get("text"), str):
                raise InputError(f"{path}: row {i}: 'text' must be a string, got {describe(row.get('text'))}")
            for c in TEXT_CATEGORIES:
                row[c] = parse_label(row.get(c), f"{path}: row {i}: {c!r}")
            src = str(row.get("source") or "")
            if any(src == s or src.startswith(s + ":") for s in ex_src):
                continue
            lic = str(row.get("license") or row.get("licence") or "").lower()
            if any(s in lic for s in ex_lic):
                continue
            rows.append(row)
    return rows


def iter_rows(path: str | os.PathLike) -> Iterator[dict]:
    """The rows of a labelled JSONL(.gz) / JSON-lines or CSV(.gz) file, as dicts (no validation)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"paths: {str(path)!r} is not a file")
    name = path.name.lower()
    opener = gzip.open if name.endswith(".gz") else open
    if name.endswith((".jsonl", ".jsonl.gz", ".json")):
        with opener(path, "rt", encoding="utf-8") as fh:
            for n, line in enumerate(fh, start=1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise InputError(f"{path}: line {n}: not valid JSON ({exc.msg})") from exc
    elif name.endswith((".csv", ".csv.gz")):
        with opener(path, "rt", encoding="utf-8", newline="") as fh:
            yield from csv.DictReader(fh)
    else:
        raise InputError(f"paths: {str(path)!r}: expected a .jsonl, .jsonl.gz or .csv file")


def parse_label(v: Any, where: str) -> int | None:
    """A 0/1/null label cell as 0, 1 or None; anything else raises naming ``where``.

    >>> parse_label("1", "row 1"), parse_label("", "row 2"), parse_label(False, "row 3")
    (1, None, 0)
    """
    if v is None or v == "" or (isinstance(v, str) and v.lower() in ("null", "none", "nan")):
        return None
    if v in (0, 1, "0", "1", True, False):
        return int(v)
    raise InputError(f"{where}: expected 0, 1 or null, got {describe(v)}")


def own_training_paths() -> list[Path]:
    """cleanclf's own training rows (``cleanclf/data/training/*.jsonl``, CC0), shipped with the package."""
    return sorted(OWN_ROWS_DIR.glob("*.jsonl"))


def default_training_rows(data: str | os.PathLike | None = None, *, synthetic: bool = True,
                          exclude_sources: Iterable[str] = (), exclude_licences: Iterable[str] = (),
                          frozen_test: bool = True):
    """(train_rows, dev_rows, lexicon_dir) of the default recipe.

    Train: the shared data's ``text/train.jsonl`` plus, with ``synthetic``, its
    ``text/synthetic.jsonl`` and cleanclf's own rows (:func:`own_training_paths`;
    all CC0, training only, never evaluation data; drop one with
    ``exclude_sources=["synthetic-comments"]`` or ``["cleanclf-synthetic"]``).
    Dev: ``text/dev.jsonl``. With ``frozen_test`` (the default) the rows of the
    frozen test split (:func:`frozen_test_rows`) are left out of both, so that
    neither fitting nor thresholds ever see them.
    """
    d = data_dir(data)
    paths = [d / "text" / "train.jsonl"]
    if synthetic and (d / "text" / "synthetic.jsonl").is_file():
        paths.append(d / "text" / "synthetic.jsonl")
    if synthetic:
        paths.extend(own_training_paths())
    kw = dict(exclude_sources=exclude_sources, exclude_licences=exclude_licences)
    train = read_posts(paths, **kw)
    dev = read_posts(d / "text" / "dev.jsonl", **kw)
    if frozen_test:
        train = [r for r in train if not in_frozen_test(r)]
        dev = [r for r in dev if not in_frozen_test(r)]
    return train, dev, d / "lexicons"


# ----------------------------------------------------------------------------- the frozen test split
#: The frozen test split as it was drawn (cleanclf 0.6.0): shared row ids with a hash of their text.
FROZEN_TEST_LIST = Path(__file__).resolve().parents[1] / "data" / "frozen_test_v1.tsv.gz"
#: Row ids of the shared train/dev files, the corpus the list was drawn from.
_SHARED_ID = re.compile(r"(?:train|dev)-\d+")


@lru_cache(maxsize=1)
def _frozen_test_list() -> frozenset[str]:
    with gzip.open(FROZEN_TEST_LIST, "rt", encoding="utf-8") as fh:
        return frozenset(line.rstrip("\n") for line in fh if line.strip() and not line.startswith("#"))


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:12]


def in_frozen_test(row: dict) -> bool:
    """Whether a shared-data row belongs to the frozen test split.

    The split was drawn once (cleanclf 0.6.0) by a salted hash of each row's near-duplicate key
    (:func:`near_duplicate_key` of its normalised text): a fixed ~10 % of near-duplicate *groups* of
    the shared train and dev files, so no copy of a test post is trained on or tuned on. Because that
    key depends on the normaliser, which later versions change, membership of the shared rows is read
    from the list drawn then (``cleanclf/data/frozen_test_v1.tsv.gz``: row id and a hash of its text),
    so the split stays the same rows whatever the normaliser does. A shared row (id ``train-N`` /
    ``dev-N``) is a test row exactly when its id and text are on that list; rows of other data (other
    ids, no id) fall back to the salted hash of their near-duplicate key under the current normaliser.
    Rows cleanclf wrote itself (source ``cleanclf-synthetic``) and the shared ``synthetic-comments``
    rows are never test rows: they are training data only.
    """
    src = str(row.get("source") or "")
    if src.startswith(("cleanclf-synthetic", "synthetic-comments")):
        return False
    text = str(row.get("text") or "")
    rid = row.get("id")
    if isinstance(rid, str) and _SHARED_ID.fullmatch(rid):
        return f"{rid}\t{_text_key(text)}" in _frozen_test_list()
    from ..text.normalize import normalize

    key = near_duplicate_key(normalize(text[:10_000]))
    h = hashlib.sha256((TEST_SALT + "\x00" + key).encode("utf-8", "replace")).digest()
    return int.from_bytes(h[:4], "big") < TEST_SHARE * 2 ** 32


def frozen_test_rows(data: str | os.PathLike | None = None, *, exclude_sources: Iterable[str] = (),
                     exclude_licences: Iterable[str] = ()) -> list[dict]:
    """The frozen test split: the rows of the shared ``text/train.jsonl`` and ``text/dev.jsonl``
    that :func:`in_frozen_test` selects (each row gains ``"split": "test"``).

    Thresholds and model choices never see these rows; benchmarks report on them.
    """
    d = data_dir(data)
    kw = dict(exclude_sources=exclude_sources, exclude_licences=exclude_licences)
    rows = read_posts([d / "text" / "train.jsonl", d / "text" / "dev.jsonl"], **kw)
    out = [r for r in rows if in_frozen_test(r)]
    for r in out:
        r["split"] = "test"
    return out


# ----------------------------------------------------------------------------- row summaries
def row_weights(rows: Sequence[dict], source_weights: dict[str, float] | None) -> np.ndarray | None:
    """Per-row sample weights from ``{source or source prefix: weight}`` (None when not weighted).

    >>> row_weights([{"source": "a:x"}, {"source": "b"}], {"a": 3.0}).tolist()
    [3.0, 1.0]
    """
    if not source_weights:
        return None
    for k, v in source_weights.items():
        if not (isinstance(v, (int, float)) and np.isfinite(v) and v > 0):
            raise InputError(f"source_weights[{k!r}]: expected a number > 0, got {v!r}")
    out = np.ones(len(rows))
    for i, r in enumerate(rows):
        src = str(r.get("source") or "")
        for k, v in source_weights.items():
            if src == k or src.startswith(k + ":"):
                out[i] = float(v)
                break
    return out


def training_summary(rows: Sequence[dict]) -> list[dict]:
    """Per source: rows, positives per category, licence (what the model card lists)."""
    by: dict[str, dict] = {}
    for r in rows:
        src = str(r.get("source") or "unknown").split(":")[0]
        d = by.setdefault(src, {"source": src, "rows": 0, "licence": str(r.get("license") or "unknown"),
                                **{c: 0 for c in TEXT_CATEGORIES}})
        d["rows"] += 1
        for c in TEXT_CATEGORIES:
            d[c] += int(r.get(c) == 1)
    return sorted(by.values(), key=lambda d: -d["rows"])


def fingerprint(rows: Sequence[dict]) -> str:
    """A short sha256 of the rows' texts, in order (what a bundle records of its training data)."""
    h = hashlib.sha256()
    for r in rows:
        h.update(r["text"].encode("utf-8", "replace"))
        h.update(b"\x00")
    return h.hexdigest()[:16]


def check_trainable(rows: Sequence[dict], *, allow_noncommercial: bool = False) -> None:
    """Refuse rows a shipped model must not train on: evaluation-only sources (always) and
    non-commercial licences (unless ``allow_noncommercial``)."""
    held = [r for r in rows if str(r.get("source") or "").startswith(EVALUATION_ONLY_SOURCES)]
    if held:
        raise InputError(f"rows: {len(held)} rows come from an evaluation-only source ({held[0].get('source')!r}; "
                         "external_dev.jsonl is for measuring, never for training)")
    if not allow_noncommercial:
        bad = [r for r in rows if NONCOMMERCIAL.search(str(r.get("license") or ""))]
        if bad:
            raise InputError(f"rows: {len(bad)} rows carry a non-commercial licence "
                             f"(e.g. {bad[0].get('license')!r}); drop them or pass allow_noncommercial=True")


# ----------------------------------------------------------------------------- review decisions
#: What a reviewer's decision says about the posts the verdict flagged for that category.
DECISION_LABELS = {"confirmed": 1, "rejected": 0}
#: Decisions that carry no label (kept by the report, skipped here and counted).
NEUTRAL_DECISIONS = ("unsure", "")


def feedback_rows(decisions: str | os.PathLike | Iterable[dict], dump: str | os.PathLike | Any,
                  *, stats: dict | None = None) -> list[dict]:
    """Labelled text rows from a review report's decisions (``cleanclf report``'s JSONL export).

    For each decision on a text category (``explicit_text``, ``solicitation``), the posts the
    verdict flagged for it (the decision's ``post_ids``) become rows of that category:
    ``confirmed`` -> 1, ``rejected`` -> 0; the other category stays unlabelled (null) unless a
    decision on it covers the same post. Texts come from ``dump`` (the scored account dump,
    matched by ``account_id`` and post id). Rows carry ``"origin": "feedback"`` and
    ``"source": "feedback"``; they are training rows, never evaluation rows, unless the caller
    puts them there. The last decision on an (account, category) wins.

    Raises :class:`~cleanclf.errors.InputError` for a malformed decision (naming its line).
    Decisions that give no row are counted in ``stats`` (``unsure``, ``lewd_images``,
    ``account_not_in_dump``, ``post_not_in_dump``, ``no_post_ids``), never dropped in silence.

    >>> import io, json
    >>> dump = io.BytesIO(json.dumps({"account_id": "u1", "posts": [{"id": "p1", "text": "上门 包夜"},
    ...                                {"id": "p2", "text": "晚饭"}]}).encode() + b"\\n")
    >>> dec = [{"account_id": "u1", "category": "solicitation", "decision": "confirmed", "post_ids": ["p1"]}]
    >>> [(r["text"], r["solicitation"], r["explicit_text"], r["origin"]) for r in feedback_rows(dec, dump)]
    [('上门 包夜', 1, None, 'feedback')]
    """
    from ..categories import CATEGORIES
    from ..schema import read_accounts

    if isinstance(decisions, (str, os.PathLike)):
        items = list(iter_rows(Path(decisions)))
        where = str(decisions)
    else:
        items = list(decisions)
        where = "decisions"
    latest: dict[tuple[str, str], dict] = {}
    for i, d in enumerate(items, start=1):
        if not isinstance(d, dict):
            raise InputError(f"{where}: line {i}: expected a JSON object, got {describe(d)}")
        acc, cat, dec = d.get("account_id"), d.get("category"), d.get("decision")
        if not isinstance(acc, (str, int)) or isinstance(acc, bool) or acc == "":
            raise InputError(f"{where}: line {i}: 'account_id' must be a non-empty string, got {describe(acc)}")
        if cat not in CATEGORIES:
            raise InputError(f"{where}: line {i}: 'category' must be one of {', '.join(CATEGORIES)}, got {describe(cat)}")
        if dec not in (*DECISION_LABELS, *NEUTRAL_DECISIONS):
            raise InputError(f"{where}: line {i}: 'decision' must be confirmed, rejected or unsure, got {describe(dec)}")
        ids = d.get("post_ids")
        if ids is not None and not (isinstance(ids, list) and all(isinstance(x, (str, int)) for x in ids)):
            raise InputError(f"{where}: line {i}: 'post_ids' must be a list of post ids, got {describe(ids)}")
        latest[(str(acc), cat)] = d
    counts = {k: 0 for k in ("decisions", "unsure", "lewd_images", "no_post_ids", "account_not_in_dump",
                             "post_not_in_dump", "rows")}
    counts["decisions"] = len(latest)
    useful = {}
    for (acc, cat), d in latest.items():
        if d["decision"] in NEUTRAL_DECISIONS:
            counts["unsure"] += 1
        elif cat not in TEXT_CATEGORIES:
            counts["lewd_images"] += 1  # image decisions do not label text rows
        elif not d.get("post_ids"):
            counts["no_post_ids"] += 1
        else:
            useful[(acc, cat)] = d
    accounts, _ = read_accounts(dump, ids={acc for acc, _ in useful})
    rows: dict[tuple[str, str], dict] = {}
    for (acc, cat), d in useful.items():
        account = accounts.get(acc)
        if account is None:
            counts["account_not_in_dump"] += 1
            continue
        texts = {str(p.id): p.text for p in account.posts}
        for pid in map(str, d["post_ids"]):
            if pid not in texts or not texts[pid]:
                counts["post_not_in_dump"] += 1
                continue
            row = rows.setdefault((acc, pid), {"text": texts[pid], **{c: None for c in TEXT_CATEGORIES},
                                               "source": "feedback", "origin": "feedback",
                                               "license": "own review decisions", "account_id": acc, "post_id": pid})
            row[cat] = DECISION_LABELS[d["decision"]]
    counts["rows"] = len(rows)
    if stats is not None:
        stats.update(counts)
    return list(rows.values())
