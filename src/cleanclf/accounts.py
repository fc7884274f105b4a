"""Aggregation from post scores to an account verdict ("large amounts / volumes").

Platforms remove *accounts*, so one borderline post must not condemn an account while
an account that posts the same escort ad forty times must not escape because each ad
is short. Per category the account is described by six interpretable features:

======================  =====================================================================
``log1p_flagged``       log(1 + number of posts whose post score reaches the post threshold)
``share_flagged``       flagged posts / scored posts (posts with text, or with images)
``topk_mean``           mean of the ``topk`` highest post scores, zero-padded (volume *and* strength)
``max``                 the highest post score
``profile``             the score of nickname + bio (solicitation often lives in the profile)
``log1p_contact``       solicitation only: log(1 + posts sharing a contact handle that also
                        appears in a flagged post or profile), so a repeated WeChat/QQ/phone
                        strengthens solicitation while a repair shop's repeated number (never in
                        a flagged post) does not
======================  =====================================================================

and scored with a logistic model ``p = 1 / (1 + exp(-(bias + w·x)))``; the account gets
the label when ``p >= thresholds[category]``. Weights and thresholds live in the model
bundle's ``account`` component (fitted by ``scripts/calibrate_accounts.py`` on simulated
accounts, see ``models/default/CARD-account.md``); :data:`DEFAULT_PARAMS` are hand-set
fallbacks used when a bundle has none.

>>> from cleanclf.accounts import AccountModel
>>> from cleanclf.schema import Account, Post
>>> m = AccountModel()
>>> acc = Account("u1", {"nickname": "", "bio": ""}, [Post(str(i), "ad") for i in range(6)])
>>> res = [{"explicit_text": 0.01, "solicitation": 0.99, "labels": ["solicitation"], "evidence": [],
...         "escalate": False, "escalate_reasons": [], "truncated": False}] * 6
>>> v = m.verdict(acc, res, None, None, model_id="x@1")
>>> v["labels"], v["counts"]["flagged"]["solicitation"]
(['solicitation'], 6)
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from .categories import CATEGORIES, EXPLICIT_TEXT, LEWD_IMAGES, SOLICITATION, TEXT_CATEGORIES

FEATURES: tuple[str, ...] = ("log1p_flagged", "share_flagged", "topk_mean", "max", "profile", "log1p_contact")

POSTS_MODES = ("flagged", "all", "none")

#: Fallback used when a bundle has no ``account`` component: weights and thresholds from
#: ``scripts/calibrate_accounts.py`` run against a text model trained with
#: ``cleanclf.train.fit_text_model`` defaults (provisional, 2026-11-28). The bundle's own
#: calibrated section replaces them; rerun the script after retraining the text model.
#: lewd_images reuses the explicit_text volume weights (no account-level image data).
_EXPLICIT_W = {"bias": -3.83, "log1p_flagged": 0.23, "share_flagged": 0.0, "topk_mean": 10.54, "max": 0.33,
               "profile": 4.55, "log1p_contact": 0.0}
DEFAULT_PARAMS: dict[str, Any] = {
    "format": 1,
    "fitted": False,
    "features": list(FEATURES),
    "topk": 5,
    "weights": {
        EXPLICIT_TEXT: _EXPLICIT_W,
        SOLICITATION: {"bias": -4.78, "log1p_flagged": 1.33, "share_flagged": 0.0, "topk_mean": 7.43, "max": 0.63,
                       "profile": 1.75, "log1p_contact": 0.31},
        LEWD_IMAGES: {**_EXPLICIT_W, "profile": 0.0},
    },
    "thresholds": {EXPLICIT_TEXT: 0.325, SOLICITATION: 0.133, LEWD_IMAGES: 0.325},
    "evidence": {"top_posts": 3, "terms_per_post": 5, "contacts": 5, "contact_posts": 10, "images": 3,
                 "profile_terms": 5, "escalations": 5, "excerpt_chars": 160, "post_errors": 3},
}


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _merge(params: dict | None) -> dict:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in DEFAULT_PARAMS.items()}
    for k, v in (params or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


def empty_scores() -> dict[str, None]:
    """``{"lewd_images": None, "explicit_text": None, "solicitation": None}``."""
    return {c: None for c in CATEGORIES}


def error_verdict(account_id: str | None, error: dict, *, line: int | None, model_id: str,
                  posts: str = "flagged") -> dict:
    """The verdict record for an input that could not be scored (same keys, plus ``line``).

    >>> error_verdict(None, {"type": "RecordError", "message": "bad"}, line=4, model_id="m@1")["line"]
    4
    """
    out = {"account_id": account_id, "labels": [], "scores": empty_scores(), "counts": {},
           "escalate": False, "evidence": []}
    if posts != "none":
        out["posts"] = []
    out["model"] = model_id
    out["error"] = error
    out["line"] = line
    return out


class AccountModel:
    """Turns post-level results of one account into its verdict record.

    ``params`` is the bundle's ``account`` component (missing keys fall back to
    :data:`DEFAULT_PARAMS`); ``post_thresholds`` are the classifier's post thresholds
    (a post is *flagged* for a category when its score reaches them).

    >>> AccountModel().score_features("solicitation", dict.fromkeys(FEATURES, 0.0)) < 0.01
    True
    """

    def __init__(self, params: dict | None = None, post_thresholds: dict[str, float] | None = None):
        self.params = _merge(params)
        self.topk = int(self.params["topk"])
        self.post_thresholds = {c: 0.5 for c in CATEGORIES}
        self.post_thresholds.update(post_thresholds or {})
        self.ev = self.params["evidence"]

    # ------------------------------------------------------------------ features
    def _features(self, scores, profile, contact, threshold) -> dict[str, float]:
        n = len(scores)
        flagged = sum(1 for s in scores if s >= threshold)
        top = sorted(scores, reverse=True)[: self.topk]
        return {
            "log1p_flagged": math.log1p(flagged),
            "share_flagged": flagged / n if n else 0.0,
            "topk_mean": sum(top) / self.topk,
            "max": top[0] if top else 0.0,
            "profile": float(profile or 0.0),
            "log1p_contact": math.log1p(contact),
        }

    def score_features(self, category: str, feats: dict[str, float]) -> float:
        """Account probability for ``category`` from its feature dict."""
        w = self.params["weights"][category]
        z = w.get("bias", 0.0) + sum(w.get(f, 0.0) * feats.get(f, 0.0) for f in FEATURES)
        return _sigmoid(z)

    def features(self, account, text_results, profile_result, image_results) -> dict[str, dict[str, float] | None]:
        """Feature dicts per category (``None`` when the category was not computed).

        Same inputs as :meth:`verdict`; used by ``scripts/calibrate_accounts.py`` to fit weights.
        """
        return self._analyse(account, text_results, profile_result, image_results)["features"]

    # ------------------------------------------------------------------ analysis
    def _analyse(self, account, text_results, profile_result, image_results) -> dict:
        posts = account.posts
        has_text = text_results is not None
        has_image = image_results is not None
        post_scores: list[dict[str, float | None]] = []
        post_labels: list[list[str]] = []
        post_errors: list[list[dict]] = []
        cat_scores: dict[str, list[float]] = {c: [] for c in CATEGORIES}
        for i, _post in enumerate(posts):
            sc: dict[str, float | None] = dict.fromkeys(CATEGORIES)
            labels: list[str] = []
            errs: list[dict] = []
            tr = text_results[i] if has_text else None
            if tr is not None:
                if "error" in tr:
                    errs.append({"source": "text", **tr["error"]})
                else:
                    for c in TEXT_CATEGORIES:
                        sc[c] = float(tr[c])
                        cat_scores[c].append(sc[c])
                    labels.extend(lab for lab in tr.get("labels", ()) if lab in TEXT_CATEGORIES)
            imgs = image_results[i] if has_image else None
            if imgs:
                best = None
                for j, ir in enumerate(imgs):
                    if "error" in ir:
                        errs.append({"source": "image", "image": posts[i].images[j], **ir["error"]})
                    else:
                        s = float(ir[LEWD_IMAGES])
                        best = s if best is None else max(best, s)
                if best is not None:
                    sc[LEWD_IMAGES] = best
                    cat_scores[LEWD_IMAGES].append(best)
                    if best >= self.post_thresholds[LEWD_IMAGES]:
                        labels.append(LEWD_IMAGES)
            post_scores.append(sc)
            post_labels.append(labels)
            post_errors.append(errs)

        profile_ok = profile_result is not None and "error" not in profile_result
        # contacts: value -> [post indices] (-1 = profile); implicated when in a flagged post/profile
        t_sol = self.post_thresholds[SOLICITATION]
        contacts: dict[tuple[str, str], dict] = {}
        sources = [(i, text_results[i]) for i in range(len(posts))] if has_text else []
        if profile_ok:
            sources.append((-1, profile_result))
        for i, tr in sources:
            if tr is None or "error" in tr:
                continue
            flagged = float(tr.get(SOLICITATION, 0.0)) >= t_sol
            for ev in tr.get("evidence", ()):
                if ev.get("kind") != "contact":
                    continue
                key = (str(ev.get("type", "")), str(ev.get("value", ev.get("text", ""))))
                entry = contacts.setdefault(key, {"where": [], "implicated": False})
                if not entry["where"] or entry["where"][-1] != i:
                    entry["where"].append(i)
                entry["implicated"] |= flagged
        repeated = max((len(e["where"]) for e in contacts.values() if e["implicated"] and len(e["where"]) > 1),
                       default=0)

        feats: dict[str, dict[str, float] | None] = {}
        for c in CATEGORIES:
            computed = has_image if c == LEWD_IMAGES else has_text
            if not computed:
                feats[c] = None
                continue
            prof = float(profile_result[c]) if (profile_ok and c in TEXT_CATEGORIES) else 0.0
            feats[c] = self._features(cat_scores[c], prof, repeated if c == SOLICITATION else 0,
                                      self.post_thresholds[c])
        return {"features": feats, "post_scores": post_scores, "post_labels": post_labels,
                "post_errors": post_errors, "contacts": contacts, "repeated": repeated,
                "profile_ok": profile_ok, "cat_scores": cat_scores}

    # ------------------------------------------------------------------ verdict
    def verdict(self, account, text_results: Sequence[dict | None] | None, profile_result: dict | None,
                image_results: Sequence[Sequence[dict]] | None, *, model_id: str, posts: str = "flagged") -> dict:
        """The verdict record of one account.

        ``text_results[i]`` is the ``score_texts`` result of post *i* (``None`` for a post
        without text), or ``text_results=None`` when there is no text model; likewise
        ``image_results[i]`` lists the ``score_images`` results of post *i*'s images.
        ``profile_result`` scores nickname + bio (``None`` when the profile is empty).
        """
        a = self._analyse(account, text_results, profile_result, image_results)
        feats = a["features"]
        scores: dict[str, float | None] = {}
        labels: list[str] = []
        for c in CATEGORIES:
            if feats[c] is None:
                scores[c] = None
                continue
            p = self.score_features(c, feats[c])
            scores[c] = round(p, 6)
            if p >= self.params["thresholds"][c]:
                labels.append(c)

        # escalation (minors signals) from any post or the profile, with reasons
        esc_entries = []
        if text_results is not None:
            for i, tr in enumerate(text_results):
                if tr is not None and tr.get("escalate"):
                    esc_entries.append({"kind": "escalation", "post_id": account.posts[i].id,
                                        "reasons": list(tr.get("escalate_reasons", []))})
        if a["profile_ok"] and profile_result.get("escalate"):
            esc_entries.insert(0, {"kind": "escalation", "post_id": None, "field": "profile",
                                   "reasons": list(profile_result.get("escalate_reasons", []))})
        escalate = bool(esc_entries)
        esc_posts = {e["post_id"] for e in esc_entries}

        n_errors = sum(len(e) for e in a["post_errors"])
        counts = {
            "posts": len(account.posts),
            "posts_with_text": sum(1 for p in account.posts if p.text),
            "images": sum(len(p.images) for p in account.posts),
            "flagged": {c: sum(1 for labs in a["post_labels"] if c in labs) for c in CATEGORIES},
            "repeated_contact_posts": a["repeated"],
            "escalated_posts": len(esc_entries),
            "errors": n_errors + (1 if profile_result is not None and "error" in profile_result else 0),
        }
        evidence = self._evidence(account, text_results, profile_result, image_results, a, esc_entries)
        out = {"account_id": account.account_id, "labels": labels, "scores": scores, "counts": counts,
               "escalate": escalate, "evidence": evidence}
        if posts != "none":
            plist = []
            for i, p in enumerate(account.posts):
                flagged = bool(a["post_labels"][i]) or p.id in esc_posts
                if posts == "all" or flagged:
                    tr = text_results[i] if text_results is not None else None
                    plist.append({
                        "id": p.id,
                        "scores": {c: (None if v is None else round(v, 6)) for c, v in a["post_scores"][i].items()},
                        "labels": a["post_labels"][i],
                        "escalate": p.id in esc_posts,
                        "truncated": bool(tr and tr.get("truncated")),
                        "errors": a["post_errors"][i][: self.ev["post_errors"]],
                    })
            out["posts"] = plist
        out["model"] = model_id
        out["error"] = None
        return out

    def _excerpt(self, text: str, spans: list) -> tuple[str, int]:
        n = self.ev["excerpt_chars"]
        if len(text) <= n:
            return text, 0
        start = max(0, (spans[0][0] if spans else 0) - n // 4)
        return text[start: start + n], start

    def _evidence(self, account, text_results, profile_result, image_results, a, esc_entries) -> list[dict]:
        ev = self.ev
        out: list[dict] = []
        # profile hits first: a reviewer reads the profile before the posts
        if a["profile_ok"]:
            offs = account.profile_offsets()
            nick_len = len(account.profile.get("nickname") or "")
            hits = []
            for e in profile_result.get("evidence", ()):
                span = e.get("span")
                if not span:
                    continue
                field_ = "nickname" if (nick_len and span[0] < nick_len) else "bio"
                off = offs[field_]
                hits.append({k: v for k, v in e.items() if k != "span"} | {"field": field_, "span": [span[0] - off, span[1] - off]})
            if hits or any(float(profile_result.get(c, 0)) >= self.post_thresholds[c] for c in TEXT_CATEGORIES):
                out.append({"kind": "profile",
                            "scores": {c: round(float(profile_result[c]), 6) for c in TEXT_CATEGORIES},
                            "labels": list(profile_result.get("labels", [])),
                            "hits": hits[: ev["profile_terms"]]})
        # top posts per text category, with their term spans
        if text_results is not None:
            for c in TEXT_CATEGORIES:
                ranked = sorted(((s[c], i) for i, s in enumerate(a["post_scores"]) if s[c] is not None
                                 and s[c] >= self.post_thresholds[c]), reverse=True)[: ev["top_posts"]]
                for score, i in ranked:
                    post = account.posts[i]
                    # terms, minor signals, top n-grams: everything but contacts (listed per account below)
                    terms = [e for e in text_results[i].get("evidence", ())
                             if e.get("kind") != "contact"][: ev["terms_per_post"]]
                    excerpt, ex_off = self._excerpt(post.text, [t["span"] for t in terms if t.get("span")])
                    out.append({"kind": "post", "category": c, "post_id": post.id, "score": round(score, 6),
                                "terms": terms, "excerpt": excerpt, "excerpt_offset": ex_off})
        # contacts: repeated or in flagged posts, most repeated first
        cands = sorted(a["contacts"].items(), key=lambda kv: (-kv[1]["implicated"], -len(kv[1]["where"]), kv[0]))
        for (ctype, value), e in cands[: ev["contacts"]]:
            if not e["implicated"] and len(e["where"]) < 2:
                continue
            where = e["where"]
            out.append({"kind": "contact", "type": ctype, "value": value,
                        "in_profile": -1 in where, "count": len(where),
                        "post_ids": [account.posts[i].id for i in where if i >= 0][: ev["contact_posts"]],
                        "in_flagged_post": e["implicated"]})
        # top images
        if image_results is not None:
            imgs = []
            for i, irs in enumerate(image_results):
                for j, ir in enumerate(irs or ()):
                    if "error" not in ir:
                        imgs.append((float(ir[LEWD_IMAGES]), i, j))
            imgs.sort(reverse=True)
            for s, i, j in imgs[: ev["images"]]:  # even low scores: the reviewer sees the maximum
                out.append({"kind": "image", "post_id": account.posts[i].id, "path": account.posts[i].images[j],
                            "score": round(s, 6)})
        out.extend(esc_entries[: ev["escalations"]])
        return out


__all__ = ["AccountModel", "FEATURES", "DEFAULT_PARAMS", "POSTS_MODES", "error_verdict", "empty_scores",
           "EXPLICIT_TEXT", "SOLICITATION", "LEWD_IMAGES"]


# ---------------------------------------------------------------------------- simulation
#: Sources whose benign rows are look-alikes of positives (used to stress benign accounts).
HARD_NEGATIVE_SOURCES = ("medical-search-queries", "sms800k", "bilibili-comments", "cold-comments", "qq-group-chat")
_HARD_WORDS = ("按摩", "上门", "足疗", "小姐", "同城", "加我", "私聊", "微信", "约")


def split_half(text: str) -> int:
    """0 or 1: a stable half of a post, by a digit- and punctuation-free prefix of its text.

    Near-duplicate spam (same ad, other number) lands in the same half, so calibration
    (half 0) and evaluation (half 1) do not share an ad.

    >>> split_half("加薇 abc123 包夜") == split_half("加薇 abc999 包夜!")
    True
    """
    import hashlib
    import re

    key = re.sub(r"[\W\d_]+", "", text.lower())[:24]
    return hashlib.blake2b(key.encode("utf-8", "replace"), digest_size=2).digest()[0] & 1


def simulate_accounts(rows: Sequence[dict], *, n_benign: int, n_offending: int, seed: int = 0,
                      offending_posts: tuple[int, int] = (1, 30)) -> list[tuple[Any, dict]]:
    """Simulated accounts from labelled posts: ``[(Account, meta), ...]``.

    ``rows`` are labelled posts (``text``, ``source``, ``explicit_text``, ``solicitation``
    with 1/0/None). Benign accounts hold 1-60 benign posts, 40 % of them drawn from hard
    negatives (medical queries, legitimate 上门 SMS, 按摩 reviews, game chat ads...), and a
    benign bio half of the time. An offending account of category *c* holds *k* posts
    positive for *c* (k uniform in ``offending_posts``; half of the accounts repeat a
    repertoire of 1-3 ads, the way spam accounts do, which also repeats their contact)
    mixed with 0-2k benign posts, and puts a positive text in its bio 30 % of the time.
    ``meta`` = ``{"kind": "benign" | category, "k": offending post count}``.

    >>> rows = [{"text": f"t{i}", "source": "x", "explicit_text": 0, "solicitation": 0} for i in range(5)]
    >>> rows += [{"text": "包夜", "source": "x", "explicit_text": None, "solicitation": 1}]
    >>> sims = simulate_accounts(rows, n_benign=2, n_offending=1, seed=1)
    >>> [m["kind"] for _, m in sims]
    ['benign', 'benign', 'solicitation']
    """
    import random

    from .schema import Account, Post

    rng = random.Random(seed)
    benign = [r["text"] for r in rows if r.get("explicit_text") == 0 and r.get("solicitation") == 0]
    hard = [r["text"] for r in rows if r.get("explicit_text") == 0 and r.get("solicitation") == 0
            and (r.get("source") in HARD_NEGATIVE_SOURCES or any(w in r["text"] for w in _HARD_WORDS))] or benign
    pos = {c: [r["text"] for r in rows if r.get(c) == 1] for c in TEXT_CATEGORIES}
    cats = [c for c in TEXT_CATEGORIES if pos[c]]
    short_benign = [t for t in benign if len(t) <= 60] or benign
    out: list[tuple[Any, dict]] = []

    def benign_post():
        return rng.choice(hard) if rng.random() < 0.4 else rng.choice(benign)

    for i in range(n_benign):
        n = min(60, 1 + int(rng.expovariate(1 / 9)))
        posts = [Post(f"p{j}", benign_post()) for j in range(n)]
        bio = rng.choice(short_benign) if rng.random() < 0.5 else ""
        out.append((Account(f"benign-{i}", {"nickname": f"user{i}", "bio": bio}, posts), {"kind": "benign", "k": 0}))
    for i in range(n_offending):
        c = cats[i % len(cats)]
        k = rng.randint(*offending_posts)
        if rng.random() < 0.5:
            repertoire = [rng.choice(pos[c]) for _ in range(rng.randint(1, 3))]
            bad = [rng.choice(repertoire) for _ in range(k)]
        else:
            bad = [rng.choice(pos[c]) for _ in range(k)]
        texts = bad + [benign_post() for _ in range(rng.randint(0, 2 * k))]
        rng.shuffle(texts)
        bio = rng.choice(pos[c])[:80] if rng.random() < 0.3 else (rng.choice(short_benign) if rng.random() < 0.5 else "")
        posts = [Post(f"p{j}", t) for j, t in enumerate(texts)]
        out.append((Account(f"{c}-{i}", {"nickname": f"user-{c}-{i}", "bio": bio}, posts), {"kind": c, "k": k}))
    return out
