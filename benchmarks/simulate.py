"""Simulated accounts from labelled posts, scored with *held-out* post scores (calibration and benchmarks).

There is no labelled account-level data, so the account layer
(:class:`cleanclf.accounts.AccountModel`) is calibrated and measured on accounts assembled
from labelled posts. Two things make such accounts honest:

1. **Post scores the text model did not train on.** :func:`heldout_scores` refits the text
   model (``cleanclf.training.fit_text_model``, same parameters as the bundle's text component)
   once per fold and scores only the rows that fold left out. The folds are a group K-fold
   by near-duplicate key (copies of one spam stay in one fold) *plus* whole sources held out
   (:data:`HOLDOUT_SOURCES`): rows of ``qq-group-chat``, ``medical-search-queries``,
   ``literature``... are scored by a model that never saw their source, the way a platform's
   posts meet the shipped model. In-sample dev scores are overconfident (dev shares
   near-duplicates with train) and are not used.
2. **Personas that look like platforms** (:data:`BENIGN_PERSONAS`): non-sexual "加我/私聊"
   group ads, commercial / gambling / loan SMS spam, vulgar insults, romance talk, medical
   questions, literature, live-stream chat, reviews, news; offending accounts whose posts come
   from several sources, some disguised (``benchmarks/perturb.py``), mixed with ordinary posts.

The module is used by ``scripts/calibrate_accounts.py`` and
``benchmarks/bench_accounts_quality.py`` only (and ``tests/test_simulate.py``), so it lives in
``benchmarks/``, outside the library: put that directory on ``sys.path`` to import it.

>>> split_half("加薇 abc123 包夜") == split_half("加薇 abc999 包夜!")
True
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import os
import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from cleanclf.categories import EXPLICIT_TEXT, SOLICITATION, TEXT_CATEGORIES
from cleanclf.errors import InputError

#: Sources held out whole, one group per fold: their rows are scored by a model that never
#: saw the source. Chosen among the benign-heavy sources that stand for other platforms
#: (tg-spam and backpage carry most positives and stay in every fold's training data).
HOLDOUT_SOURCES: tuple[tuple[str, ...], ...] = (
    ("qq-group-chat", "cold-comments"),
    ("medical-search-queries", "bilibili-comments"),
    ("literature", "personal-sms-zh"),
    ("sms800k", "toutiao-news-titles"),
)
SYNTHETIC_SOURCES = ("synthetic-comments", "cleanclf-synthetic")
_ROMANCE = re.compile(r"想你|爱你|亲爱|宝贝|老公|老婆|男朋友|女朋友|喜欢你|约会|分手|表白|结婚|恋爱|对象")
_CONTACT_AD = re.compile(r"加我|私聊|加群|进群|qq|QQ|扣扣|微信|vx|VX|联系|代练|出售|收")


def split_half(text: str) -> int:
    """0 or 1: a stable half of a post, by a digit- and punctuation-free prefix of its text.

    Near-duplicate spam (same ad, other number) lands in the same half, so calibration
    (half 0) and the benchmark (half 1) do not share an ad.

    >>> split_half("加薇 abc123 包夜") == split_half("加薇 abc999 包夜!")
    True
    """
    key = re.sub(r"[\W\d_]+", "", text.lower())[:24]
    return hashlib.blake2b(key.encode("utf-8", "replace"), digest_size=2).digest()[0] & 1


def split_bucket(text: str, salt: str) -> int:
    """0 or 1 like :func:`split_half`, but an independent split for each ``salt`` (near-duplicates
    stay together); calibration splits its half in two with it to see how much a rule's
    false-positive rate moves when the benign rows change.

    >>> split_bucket("加薇 abc123 包夜", "a") == split_bucket("加薇 abc999 包夜!", "a")
    True
    """
    key = re.sub(r"[\W\d_]+", "", text.lower())[:24]
    return hashlib.blake2b(key.encode("utf-8", "replace"), digest_size=2, salt=salt.encode()[:16]).digest()[0] & 1


def source_of(row: dict) -> str:
    """The row's source without its ``:subsource`` suffix.

    >>> source_of({"source": "literature:jpm"})
    'literature'
    """
    return str(row.get("source") or "").split(":")[0]


def _persona_filters() -> dict[str, Callable[[dict], bool]]:
    def src(*names):
        return lambda r: source_of(r) in names

    return {
        "contact-ads": lambda r: source_of(r) == "qq-group-chat",
        "spam-sms": lambda r: source_of(r) == "sms800k" and r.get("label_origin") == "manual-rubric",
        "sms": lambda r: (source_of(r) == "sms800k" and r.get("label_origin") == "source-ham")
        or source_of(r) == "personal-sms-zh",
        "insults": src("cold-comments"),
        "romance": lambda r: source_of(r) in ("personal-sms-zh", "bilibili-comments", "cold-comments",
                                              "tg-spam") and bool(_ROMANCE.search(r["text"])),
        "medical": src("medical-search-queries"),
        "literature": src("literature"),
        "live-chat": lambda r: source_of(r) == "tg-spam",
        "reviews": src("waimai-reviews", "online-shopping-reviews"),
        "news": src("toutiao-news-titles"),
        "video-comments": src("bilibili-comments"),
        "english-sms": src("uci-sms-spam"),
    }


#: Benign personas: name -> which benign rows its posts are drawn from.
BENIGN_PERSONAS: tuple[str, ...] = tuple(_persona_filters())


def is_benign(row: dict) -> bool:
    """Labelled 0 for every text category (a null label is not benign).

    >>> is_benign({"explicit_text": 0, "solicitation": 0}), is_benign({"explicit_text": 0, "solicitation": None})
    (True, False)
    """
    return all(row.get(c) == 0 for c in TEXT_CATEGORIES)


# ----------------------------------------------------------------------------- held-out scores
def fold_ids(rows: Sequence[dict], *, k: int = len(HOLDOUT_SOURCES), seed: int = 0) -> list[int]:
    """Fold of each row: its source's fold if the source is in :data:`HOLDOUT_SOURCES`, else a
    fold drawn per near-duplicate group (``cleanclf.training.near_duplicate_groups``), so copies of
    one spam never straddle a fold.

    >>> rows = [{"text": "加薇 abc1 包夜", "source": "tg-spam"}, {"text": "加薇 xyz9 包夜", "source": "tg-spam"},
    ...         {"text": "头疼吃什么药", "source": "medical-search-queries"}]
    >>> f = fold_ids(rows)
    >>> f[0] == f[1], f[2]
    (True, 1)
    """
    from cleanclf.text.normalize import normalize
    from cleanclf.training import near_duplicate_groups

    if k < len(HOLDOUT_SOURCES):
        raise InputError(f"k: expected at least {len(HOLDOUT_SOURCES)} folds (one per held-out source group), got {k!r}")
    by_source = {s: f for f, group in enumerate(HOLDOUT_SOURCES) for s in group}
    groups = near_duplicate_groups([normalize(r["text"][:10_000]) for r in rows])
    order = sorted(set(groups.tolist()))
    rng = random.Random(seed)
    gfold = {g: rng.randrange(k) for g in order}
    return [by_source.get(source_of(r), gfold[int(g)]) for r, g in zip(rows, groups)]


def _text_params(text_component: dict) -> dict:
    """The fit parameters of a bundle's text component that ``fit_text_model`` accepts."""
    import inspect

    from cleanclf.training import fit_text_model

    accepted = set(inspect.signature(fit_text_model).parameters) - {"rows", "dev_rows", "lexicons", "verbose"}
    p = dict(text_component.get("params") or {})
    out = {k: v for k, v in p.items() if k in accepted}
    if "char_ngram_range" in out:
        out["char_ngram_range"] = tuple(out["char_ngram_range"])
    return out


def _result_record(key: str, fold: int, unseen: bool, res: dict, text: str | None = None) -> dict:
    rec = {"key": key, "fold": fold, "unseen_source": unseen}
    if "error" in res:
        rec["error"] = res["error"].get("type", "error")
        return rec
    rec["explicit_text"] = round(float(res[EXPLICIT_TEXT]), 6)
    rec["solicitation"] = round(float(res[SOLICITATION]), 6)
    rec["contacts"] = [list(x) for x in sorted({(str(e.get("type", "")), str(e.get("value", e.get("text", ""))))
                                                for e in res.get("evidence", ()) if e.get("kind") == "contact"})]
    rec["escalate"] = bool(res.get("escalate"))
    if text is not None:
        rec["text"] = text
    return rec


def heldout_scores(train_rows: Sequence[dict], eval_rows: Sequence[dict], *, lexicons=None,
                   text_component: dict | None = None, cache_dir: str | os.PathLike | None = None,
                   disguise: Callable[[str, random.Random], str] | None = None, disguise_benign: int = 4000,
                   seed: int = 0, verbose: bool = False) -> dict[str, dict]:
    """Out-of-fold post scores for ``eval_rows``: ``{row id (or id + "~d" for a disguised copy): record}``.

    ``train_rows`` are what the bundle's text model trains on (``default_training_rows()[0]``);
    ``eval_rows`` the real labelled rows to score (train + dev, without synthetic rows). For each
    fold of :func:`fold_ids` over ``eval_rows`` the model is refitted on ``train_rows`` minus
    that fold's rows (synthetic rows stay in every fold: they are training-only data) with the
    text component's ``params``, and scores that fold's rows, plus a ``disguise``-d copy of every
    positive row and of ``disguise_benign`` benign rows (sampled with ``seed``). A record holds
    both category scores, the contact handles found (``[type, value]``), ``escalate``, ``fold``
    and ``unseen_source`` (the row's whole source was held out of that fold's training).

    With ``cache_dir`` the table is read from / written to
    ``cache_dir/heldout-<fingerprint>.json.gz``, keyed by the training rows, the eval rows and
    the text parameters, so a re-run with the same data costs nothing.

    >>> from cleanclf.training import default_training_rows                           # doctest: +SKIP
    >>> train, dev, lex = default_training_rows()                                   # doctest: +SKIP
    >>> real = [r for r in train + dev if source_of(r) not in SYNTHETIC_SOURCES]    # doctest: +SKIP
    >>> scores = heldout_scores(train, real, lexicons=lex, cache_dir="out/heldout")  # doctest: +SKIP
    >>> scores[real[0]["id"]]["fold"] in range(4)                                   # doctest: +SKIP
    True
    """
    from cleanclf.training import fingerprint, fit_text_model

    params = _text_params(text_component or {})
    eval_rows = list(eval_rows)
    ids = [str(r.get("id")) for r in eval_rows]
    if len(set(ids)) != len(ids):
        raise InputError("eval_rows: every row needs a distinct 'id'")
    key = hashlib.sha256(json.dumps([fingerprint(train_rows), fingerprint(eval_rows), params,
                                     disguise is not None, disguise_benign, seed, HOLDOUT_SOURCES],
                                    sort_keys=True, default=str).encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"heldout-{key}.json.gz" if cache_dir else None
    if path is not None and path.is_file():
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            data = json.load(fh)
        if verbose:
            print(f"held-out scores: cached {path} ({len(data['scores'])} records)", flush=True)
        return {r["key"]: r for r in data["scores"]}

    folds = fold_ids(eval_rows, seed=seed)
    fold_of_id = dict(zip(ids, folds))
    rng = random.Random(seed)
    benign_idx = [i for i, r in enumerate(eval_rows) if is_benign(r)]
    disguise_set = set(rng.sample(benign_idx, min(disguise_benign, len(benign_idx)))) if disguise else set()
    out: dict[str, dict] = {}
    for f in range(max(folds) + 1):
        t0 = time.perf_counter()
        held_sources = set(HOLDOUT_SOURCES[f]) if f < len(HOLDOUT_SOURCES) else set()
        fit_rows = [r for r in train_rows
                    if source_of(r) in SYNTHETIC_SOURCES or fold_of_id.get(str(r.get("id")), -1) != f]
        fit_rows = [r for r in fit_rows if source_of(r) not in held_sources]
        model = fit_text_model(fit_rows, lexicons=lexicons, **params)
        idx = [i for i, fi in enumerate(folds) if fi == f]
        texts = [eval_rows[i]["text"] for i in idx]
        res = model.score_texts(texts)
        for i, r in zip(idx, res):
            out[ids[i]] = _result_record(ids[i], f, source_of(eval_rows[i]) in held_sources, r)
        if disguise is not None:
            didx = [i for i in idx if any(eval_rows[i].get(c) == 1 for c in TEXT_CATEGORIES) or i in disguise_set]
            dtexts = [disguise(eval_rows[i]["text"], random.Random(f"{seed}:{ids[i]}")) for i in didx]
            for i, t, r in zip(didx, dtexts, model.score_texts(dtexts)):
                out[ids[i] + "~d"] = _result_record(ids[i] + "~d", f, source_of(eval_rows[i]) in held_sources, r, t)
        if verbose:
            print(f"fold {f}: fitted on {len(fit_rows)} rows (held out sources {sorted(held_sources)}), "
                  f"scored {len(idx)} rows in {time.perf_counter() - t0:.0f}s", flush=True)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with gzip.open(tmp, "wt", encoding="utf-8") as fh:
            json.dump({"key": key, "params": params, "train_fingerprint": fingerprint(train_rows),
                       "holdout_sources": HOLDOUT_SOURCES, "scores": list(out.values())}, fh, ensure_ascii=False)
        os.replace(tmp, path)
        path.with_name(path.name.replace(".json.gz", ".meta.json")).write_text(json.dumps(
            {"key": key, "params": params, "train_fingerprint": fingerprint(train_rows), "records": len(out)}))
    return out


def text_result(rec: dict, thresholds: dict[str, float]) -> dict:
    """A ``score_texts``-shaped result from a held-out score record (contacts as evidence).

    >>> r = text_result({"explicit_text": 0.1, "solicitation": 0.9, "contacts": [["wechat", "abc123"]]},
    ...                 {"explicit_text": 0.5, "solicitation": 0.8})
    >>> r["labels"], r["evidence"][0]["value"]
    (['solicitation'], 'abc123')
    """
    if "error" in rec:
        return {"error": {"type": rec["error"], "message": "held-out scoring error"}}
    return {EXPLICIT_TEXT: rec[EXPLICIT_TEXT], SOLICITATION: rec[SOLICITATION],
            "labels": [c for c in TEXT_CATEGORIES if rec[c] >= thresholds[c]],
            "evidence": [{"kind": "contact", "category": SOLICITATION, "type": t, "value": v}
                         for t, v in rec.get("contacts", ())],
            "escalate": bool(rec.get("escalate")), "escalate_reasons": [], "truncated": False}


# ----------------------------------------------------------------------------- accounts
@dataclass
class SimAccount:
    """One simulated account: the :class:`~cleanclf.schema.Account`, the score key of each post
    and of the bio (``None`` = no bio), and what it is (``kind``: ``"benign"`` or a category;
    ``persona``; ``k`` offending posts; ``truth``: per category, posts labelled 1;
    ``unseen_source``: benign: every post and the bio from a source the scoring model never saw;
    offending: some offending post from such a source;
    ``disguise``: the share of offending posts meant to be disguised; ``unjudged``: per category,
    posts whose label is null, e.g. the explicitness of escort ads, which DATA.md leaves unjudged)."""

    account: Any
    post_keys: list[str]
    bio_key: str | None
    kind: str
    persona: str
    k: int
    truth: dict[str, int] = field(default_factory=dict)
    unseen_source: bool = False
    disguise: float = 0.0
    unjudged: dict[str, int] = field(default_factory=dict)


def _weighted_choice(rng: random.Random, weights: dict[str, float]) -> str:
    names = sorted(weights)
    return rng.choices(names, [weights[n] for n in names])[0]


def simulate_accounts(rows: Sequence[dict], scores: dict[str, dict], *, n_benign: int, n_offending: int,
                      seed: int = 0, offending_posts: tuple[int, int] = (1, 30),
                      max_benign_posts: int = 60, prolific: float = 0.1) -> list[SimAccount]:
    """Accounts assembled from labelled ``rows`` whose ids have a score record in ``scores``.

    Benign: 70 % single-persona accounts (every post from one of :data:`BENIGN_PERSONAS`), 30 %
    mixed accounts (posts from any benign persona); 1-``max_benign_posts`` posts (geometric, mean
    ~10), or 100-300 posts for a ``prolific`` share of them; a bio from the same pool half of the time. Offending accounts of category *c*
    (alternating): *k* posts positive for *c* (k uniform in ``offending_posts``) from 1-3
    positive sources, half of the accounts repeating a repertoire of 1-3 ads (as spam accounts
    do, which also repeats their contact), a disguise rate of 0, 30 % or 100 % (disguised copies
    from ``scores``), mixed with 0-2k posts of a benign persona; a positive bio 30 % of the time.

    >>> rows = [{"id": f"b{i}", "text": f"t{i}", "source": "waimai-reviews", "explicit_text": 0,
    ...          "solicitation": 0} for i in range(5)]
    >>> rows += [{"id": "s1", "text": "包夜", "source": "tg-spam", "explicit_text": 0, "solicitation": 1}]
    >>> sc = {r["id"]: {"explicit_text": 0.0, "solicitation": 0.0} for r in rows}
    >>> sims = simulate_accounts(rows, sc, n_benign=2, n_offending=1, seed=1, offending_posts=(4, 4))
    >>> [s.kind for s in sims], sims[2].k, sims[2].truth["solicitation"]
    (['benign', 'benign', 'solicitation'], 4, 4)
    """
    from cleanclf.schema import Account, Post

    rng = random.Random(seed)
    rows = [r for r in rows if str(r.get("id")) in scores and "error" not in scores[str(r.get("id"))]]
    filters = _persona_filters()
    pools = {name: [r for r in rows if is_benign(r) and flt(r)] for name, flt in filters.items()}
    pools = {k: v for k, v in pools.items() if v}
    all_benign = [r for r in rows if is_benign(r)]
    if not pools or not all_benign:
        raise InputError("rows: no benign rows with held-out scores to build benign accounts from")
    pos: dict[str, dict[str, list[dict]]] = {}
    for c in TEXT_CATEGORIES:
        for r in rows:
            if r.get(c) == 1:
                pos.setdefault(c, {}).setdefault(source_of(r), []).append(r)
    cats = [c for c in TEXT_CATEGORIES if pos.get(c)]
    # sources weighted by the square root of their size: big sources dominate less
    src_w = {c: {s: math.sqrt(len(v)) for s, v in pos[c].items()} for c in cats}
    unseen = {str(r.get("id")): bool(scores[str(r.get("id"))].get("unseen_source")) for r in rows}

    def key_of(r: dict, disguised: bool) -> tuple[str, str]:
        rid = str(r["id"])
        d = scores.get(rid + "~d")
        if disguised and d is not None and "error" not in d:
            return rid + "~d", d.get("text", r["text"])
        return rid, r["text"]

    out: list[SimAccount] = []
    for i in range(n_benign):
        persona = rng.choice(sorted(pools)) if rng.random() < 0.7 else "mixed"
        pool = pools[persona] if persona != "mixed" else all_benign
        n = min(max_benign_posts, 1 + int(rng.expovariate(1 / 9)))
        if rng.random() < prolific:  # long histories: where a per-post false-positive rate adds up
            n = rng.randint(100, 300)
        picked = [rng.choice(pool) for _ in range(n)]
        bio_row = rng.choice(pool) if rng.random() < 0.5 else None
        posts = [Post(f"p{j}", r["text"]) for j, r in enumerate(picked)]
        bio = bio_row["text"][:120] if bio_row else ""
        acc = Account(f"benign-{i}", {"nickname": "", "bio": bio}, posts)
        all_unseen = all(unseen[str(r["id"])] for r in picked + ([bio_row] if bio_row else []))
        out.append(SimAccount(acc, [str(r["id"]) for r in picked], str(bio_row["id"]) if bio_row else None,
                              "benign", persona, 0, {c: 0 for c in TEXT_CATEGORIES}, all_unseen))
    for i in range(n_offending):
        c = cats[i % len(cats)]
        k = rng.randint(*offending_posts)
        srcs = sorted({_weighted_choice(rng, src_w[c]) for _ in range(rng.randint(1, 3))})
        cand = [r for s in srcs for r in pos[c][s]]
        if rng.random() < 0.5:
            repertoire = [rng.choice(cand) for _ in range(rng.randint(1, 3))]
            bad = [rng.choice(repertoire) for _ in range(k)]
        else:
            bad = [rng.choice(cand) for _ in range(k)]
        rate = rng.choice((0.0, 0.3, 1.0))
        filler_persona = rng.choice(sorted(pools))
        filler = [rng.choice(pools[filler_persona]) for _ in range(rng.randint(0, 2 * k))]
        items = [(r, rng.random() < rate) for r in bad] + [(r, False) for r in filler]
        rng.shuffle(items)
        keyed = [key_of(r, d) for r, d in items]
        if rng.random() < 0.3:
            bio_row = rng.choice(cand)
        else:
            bio_row = rng.choice(pools[filler_persona]) if rng.random() < 0.5 else None
        posts = [Post(f"p{j}", t) for j, (_, t) in enumerate(keyed)]
        acc = Account(f"{c}-{i}", {"nickname": "", "bio": bio_row["text"][:120] if bio_row else ""}, posts)
        truth = {cc: sum(1 for r, _ in items if r.get(cc) == 1) for cc in TEXT_CATEGORIES}
        unjudged = {cc: sum(1 for r, _ in items if r.get(cc) is None) for cc in TEXT_CATEGORIES}
        out.append(SimAccount(acc, [kk for kk, _ in keyed], str(bio_row["id"]) if bio_row else None,
                              c, "+".join(srcs), k, truth, any(unseen[str(r["id"])] for r in bad), rate, unjudged))
    return out


def account_results(sim: SimAccount, scores: dict[str, dict], thresholds: dict[str, float]):
    """``(text_results, profile_result)`` for :meth:`cleanclf.accounts.AccountModel.verdict` from held-out scores.

    >>> from cleanclf.schema import Account, Post
    >>> sim = SimAccount(Account("u", posts=[Post("p0", "x")]), ["r1"], None, "benign", "reviews", 0)
    >>> tr, prof = account_results(sim, {"r1": {"explicit_text": 0.1, "solicitation": 0.2}},
    ...                            {"explicit_text": 0.5, "solicitation": 0.5})
    >>> tr[0]["labels"], prof
    ([], None)
    """
    tr = [text_result(scores[k], thresholds) for k in sim.post_keys]
    prof = text_result(scores[sim.bio_key], thresholds) if sim.bio_key else None
    return tr, prof


def external_accounts(rows: Sequence[dict], *, n_benign: int, n_offending: int, seed: int = 0,
                      offending_posts: tuple[int, int] = (5, 20)) -> list[tuple[Any, dict]]:
    """Report-only accounts from evaluation rows (e.g. external_dev.jsonl): ``[(Account, meta)]``.

    Benign accounts draw 3-30 posts from one negative class (``source`` suffix: gambling,
    fraud, abuse; no suffix: posts of the sexual class the rubric judged negative); offending accounts *k* positive posts of one category plus
    0-k negatives. Never used to fit or choose anything.

    >>> rows = [{"text": "a", "source": "x:赌博", "explicit_text": 0, "solicitation": 0},
    ...         {"text": "b", "source": "x:色情", "explicit_text": 1, "solicitation": 0}]
    >>> [m["kind"] for _, m in external_accounts(rows, n_benign=1, n_offending=1)]
    ['benign', 'explicit_text']
    """
    from cleanclf.schema import Account, Post

    rng = random.Random(seed)
    neg: dict[str, list[dict]] = {}
    for r in rows:
        if is_benign(r):
            src = str(r.get("source", ""))
            neg.setdefault(src.split(":", 1)[1] if ":" in src else "sexual-class, judged negative", []).append(r)
    pos = {c: [r for r in rows if r.get(c) == 1] for c in TEXT_CATEGORIES}
    cats = [c for c in TEXT_CATEGORIES if pos[c]]
    all_neg = [r for v in neg.values() for r in v]
    out: list[tuple[Any, dict]] = []
    for i in range(n_benign):
        cls = rng.choice(sorted(neg))
        picked = [rng.choice(neg[cls]) for _ in range(rng.randint(3, 30))]
        out.append((Account(f"ext-benign-{i}", {"nickname": "", "bio": ""},
                            [Post(f"p{j}", r["text"]) for j, r in enumerate(picked)]),
                    {"kind": "benign", "persona": cls, "k": 0,
                     "truth": {c: 0 for c in TEXT_CATEGORIES}}))
    for i in range(n_offending):
        c = cats[i % len(cats)]
        k = rng.randint(*offending_posts)
        items = [rng.choice(pos[c]) for _ in range(k)] + [rng.choice(all_neg) for _ in range(rng.randint(0, k))]
        rng.shuffle(items)
        out.append((Account(f"ext-{c}-{i}", {"nickname": "", "bio": ""},
                            [Post(f"p{j}", r["text"]) for j, r in enumerate(items)]),
                    {"kind": c, "persona": "external", "k": k,
                     "truth": {cc: sum(1 for r in items if r.get(cc) == 1) for cc in TEXT_CATEGORIES}}))
    return out


# ----------------------------------------------------------------------------- measuring a rule
def rule_inputs_table(sims: Sequence[SimAccount], scores: dict[str, dict], thresholds: dict[str, float]) -> list[dict]:
    """:meth:`~cleanclf.accounts.AccountModel.rule_inputs` of every simulated account (text categories);
    see :func:`account_metrics` for an example."""
    from cleanclf.accounts import AccountModel

    m = AccountModel(None, thresholds)
    return [m.rule_inputs(s.account, *account_results(s, scores, thresholds), None) for s in sims]


def count_rule(n: int, share: float = 0.0, support: bool = False) -> dict:
    """Account parameters for a plain rule: ``n`` flagged posts (and ``share``), supports on or off.

    >>> count_rule(3)["min_posts"]["solicitation"], count_rule(3)["support"]["solicitation"]
    (3, [])
    """
    from cleanclf.accounts import DEFAULT_PARAMS, LEWD_IMAGES

    cats = (*TEXT_CATEGORIES, LEWD_IMAGES)
    return {"min_posts": {c: n for c in cats}, "min_share": {c: share for c in cats}, "own_posts": False,
            "support": {c: list(DEFAULT_PARAMS["support"][c]) if support else [] for c in cats}}


def decisions_table(params: dict, table: Sequence[dict], thresholds: dict[str, float]) -> list[dict]:
    """``[{category: AccountModel.decide(...)}]`` for every row of :func:`rule_inputs_table`; see
    :func:`account_metrics` for an example."""
    from cleanclf.accounts import AccountModel

    m = AccountModel(params, thresholds)
    return [{c: m.decide(c, inp[c]) for c in TEXT_CATEGORIES if inp.get(c) is not None} for inp in table]


def is_category(sim: SimAccount, category: str) -> bool:
    """Ground truth at account level: at least two of its posts are labelled ``category`` (one
    post never makes an account, so a label on fewer is wrong)."""
    return sim.truth.get(category, 0) >= 2


def is_unjudged(sim: SimAccount, category: str) -> bool:
    """Not a ``category`` account by its labels, but two or more of its posts were never judged
    for ``category`` (null labels, e.g. whether an escort ad is also explicit): a label there is
    neither right nor wrong, and is left out of precision, as DATA.md asks for nulls."""
    return not is_category(sim, category) and sim.unjudged.get(category, 0) >= 2


def account_metrics(sims: Sequence[SimAccount], decisions: Sequence[dict], table: Sequence[dict]) -> dict:
    """What ``bench_accounts_quality.py`` reports for one rule (see its docstring).

    >>> rows = [{"id": f"b{i}", "text": f"b{i}", "source": "waimai-reviews", "explicit_text": 0,
    ...          "solicitation": 0} for i in range(20)]
    >>> rows += [{"id": f"s{i}", "text": f"s{i}", "source": "tg-spam", "explicit_text": 0,
    ...           "solicitation": 1} for i in range(20)]
    >>> sc = {r["id"]: {"explicit_text": 0.01, "solicitation": 0.9 * r["solicitation"]} for r in rows}
    >>> th = {"explicit_text": 0.5, "solicitation": 0.5}
    >>> sims = simulate_accounts(rows, sc, n_benign=10, n_offending=10, seed=0, offending_posts=(5, 9))
    >>> table = rule_inputs_table(sims, sc, th)
    >>> m = account_metrics(sims, decisions_table({}, table, th), table)
    >>> m["per_category"]["solicitation"]["recall_ge5"], m["benign_any_label"], m["one_post_labels"]
    (1.0, 0.0, 0)
    """
    out: dict[str, Any] = {"per_category": {}}
    benign = [i for i, s in enumerate(sims) if s.kind == "benign"]
    unseen = [i for i in benign if sims[i].unseen_source]

    def labelled(i, c):
        d = decisions[i].get(c)
        return bool(d and d["label"])

    def any_label(i):
        return any(d["label"] for d in decisions[i].values())

    for c in TEXT_CATEGORIES:
        ge5 = [i for i, s in enumerate(sims) if s.kind == c and s.k >= 5]
        dis = [i for i in ge5 if sims[i].disguise >= 1.0]
        seen = [i for i in ge5 if not sims[i].unseen_source]
        lab_all = [i for i in range(len(sims)) if labelled(i, c)]
        lab = [i for i in lab_all if not is_unjudged(sims[i], c)]
        tp = sum(1 for i in lab if is_category(sims[i], c))
        border = {}
        for k in (1, 2, 3, 4):
            ks = [i for i, s in enumerate(sims) if s.kind == c and s.k == k]
            if ks:
                bands = [decisions[i][c]["band"] for i in ks]
                border[k] = {"n": len(ks), **{b: round(bands.count(b) / len(ks), 4) for b in ("label", "review", "clear")}}
        out["per_category"][c] = {
            "n_ge5": len(ge5), "recall_ge5": _ratio(sum(labelled(i, c) for i in ge5), len(ge5)),
            "n_seen_ge5": len(seen), "recall_ge5_seen": _ratio(sum(labelled(i, c) for i in seen), len(seen)),
            "n_disguised_ge5": len(dis), "recall_ge5_disguised": _ratio(sum(labelled(i, c) for i in dis), len(dis)),
            "labelled": len(lab_all), "unjudged_labels": len(lab_all) - len(lab),
            "precision": _ratio(tp, len(lab)) if lab else 1.0,
            "precision_unjudged_as_wrong": _ratio(tp, len(lab_all)) if lab_all else 1.0,
            "precision_vs_benign": (_ratio(sum(1 for i in lab_all if sims[i].kind != "benign"), len(lab_all))
                                    if lab_all else 1.0),
            "benign_fpr": _ratio(sum(labelled(i, c) for i in benign), len(benign)),
            "borderline": border,
        }
    out["benign"] = len(benign)
    out["benign_any_label"] = _ratio(sum(any_label(i) for i in benign), len(benign))
    out["benign_any_label_n"] = sum(any_label(i) for i in benign)
    out["unseen_benign"] = len(unseen)
    out["unseen_any_label"] = _ratio(sum(any_label(i) for i in unseen), len(unseen))
    out["unseen_any_label_n"] = sum(any_label(i) for i in unseen)
    out["benign_review"] = _ratio(sum(any(d["band"] == "review" for d in decisions[i].values()) for i in benign),
                                  len(benign))
    personas: dict[str, list[int]] = {}
    for i in benign:
        personas.setdefault(sims[i].persona, []).append(i)
    out["by_persona"] = {p: {"n": len(ix), "any_label": sum(any_label(i) for i in ix),
                             "review": sum(any(d["band"] == "review" for d in decisions[i].values()) for i in ix),
                             "unseen_source": all(sims[i].unseen_source for i in ix)}
                         for p, ix in sorted(personas.items())}
    out["one_post_labels"] = sum(1 for i in range(len(sims)) for c in TEXT_CATEGORIES
                                 if labelled(i, c) and table[i][c]["flagged"] <= 1)
    caught = [i for i, s in enumerate(sims) if s.kind != "benign" and labelled(i, s.kind)]
    wrong = [i for i in caught if any(labelled(i, c) and not is_category(sims[i], c) and not is_unjudged(sims[i], c)
                                      for c in TEXT_CATEGORIES if c != sims[i].kind)]
    unjudged = [i for i in caught if i not in set(wrong) and any(labelled(i, c) and is_unjudged(sims[i], c)
                                                                  for c in TEXT_CATEGORIES if c != sims[i].kind)]
    out["caught"] = len(caught)
    out["wrong_extra"] = len(wrong)
    out["wrong_extra_rate"] = _ratio(len(wrong), len(caught))
    out["unjudged_extra"] = len(unjudged)
    return out


def _ratio(a: int, b: int) -> float:
    return round(a / b, 5) if b else float("nan")


def _read_cache(path: Path) -> dict[str, dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return {r["key"]: r for r in json.load(fh)["scores"]}


def _cache_meta(cache_dir: Path) -> list[tuple[Path, dict]]:
    out = []
    for meta in Path(cache_dir).glob("heldout-*.meta.json"):
        data = meta.with_name(meta.name.replace(".meta.json", ".json.gz"))
        if data.is_file():
            out.append((data, json.loads(meta.read_text())))
    return sorted(out, key=lambda pm: pm[0].stat().st_mtime)


def default_heldout(text_component: dict, *, cache_dir: str | os.PathLike | None, disguise=None,
                    reuse_latest: bool = False, verbose: bool = False) -> tuple[list[dict], dict[str, dict], dict]:
    """``(eval_rows, scores, info)`` for the shared data: :func:`heldout_scores` over the real rows of
    ``text/train.jsonl`` + ``text/dev.jsonl`` (never ``external_dev``, never synthetic rows), the model
    refitted on ``cleanclf.training.default_training_rows()`` with ``text_component``'s parameters.

    A cached table is used when one was made with the bundle's ``training_fingerprint`` and
    parameters (so a checkout whose training rows moved on since the bundle was built does not
    refit); otherwise the table for the current rows is read from the cache or computed.
    ``reuse_latest``: when neither exists, use the newest cached table instead of refitting
    (``info["stale"]`` says so). Post *flags* come from the bundle's thresholds at use time, so a
    rule on flag counts carries over to a new text model.

    >>> import cleanclf                                                              # doctest: +SKIP
    >>> text = cleanclf.load().manifest["components"]["text"]                        # doctest: +SKIP
    >>> rows, scores, info = default_heldout(text, cache_dir="benchmarks/out/heldout")  # doctest: +SKIP
    >>> info["cached_fingerprint"] == text["training_fingerprint"]                    # doctest: +SKIP
    True
    """
    from cleanclf.training import default_training_rows, find_data_dir, fingerprint

    # benchmark code may look beside the checkout; the library only reads $CLEANCLF_DATA or an argument
    data = find_data_dir() or Path(__file__).resolve().parents[2] / "shared" / "data"
    train, dev, lex = default_training_rows(data)
    eval_rows = [r for r in list(train) + list(dev) if source_of(r) not in SYNTHETIC_SOURCES]
    params = json.loads(json.dumps(_text_params(text_component)))
    info: dict[str, Any] = {"train_fingerprint": fingerprint(train), "stale": False,
                            "bundle_fingerprint": text_component.get("training_fingerprint")}
    if cache_dir is not None:
        metas = _cache_meta(Path(cache_dir))
        for want in (info["bundle_fingerprint"], info["train_fingerprint"]):
            hits = [p for p, m in metas if m.get("train_fingerprint") == want and m.get("params") == params]
            if want and hits:
                info.update(cache=str(hits[-1]), cached_fingerprint=want)
                if verbose:
                    print(f"held-out scores: {hits[-1]} (training fingerprint {want})", flush=True)
                return eval_rows, _read_cache(hits[-1]), info
        if reuse_latest and metas:
            path, meta = metas[-1]
            info.update(stale=True, cache=str(path), cached_fingerprint=meta.get("train_fingerprint"))
            return eval_rows, _read_cache(path), info
    scores = heldout_scores(train, eval_rows, lexicons=lex if lex.is_dir() else None, text_component=text_component,
                            cache_dir=cache_dir, disguise=disguise, verbose=verbose)
    info.update(cached_fingerprint=info["train_fingerprint"])
    return eval_rows, scores, info


__all__ = ["rule_inputs_table", "count_rule", "decisions_table", "is_category", "is_unjudged", "account_metrics",
           "default_heldout", "HOLDOUT_SOURCES", "BENIGN_PERSONAS", "SimAccount", "split_half", "split_bucket", "fold_ids", "heldout_scores",
           "text_result", "simulate_accounts", "account_results", "external_accounts", "source_of", "is_benign"]
