"""Aggregation from post scores to an account verdict: "large amounts", as a count rule.

Platforms remove *accounts* that post large amounts of lewd images, explicit sexual text or
prostitution solicitation. The account layer therefore asks, per category, **how many posts**
the text (or image) model flagged, never how confident one post is: a single post, however
confident, does not make an account, because post scores on text unlike the training data are
overconfident (issue 16: a fitted model on ``max`` / ``topk_mean`` features condemned 8.9 % of
benign accounts from unseen platforms, most of them on exactly one post).

The rule, per text category *c* (``explicit_text``, ``solicitation``), with a post *flagged*
for *c* when its post score reaches the classifier's post threshold:

* ``flagged`` = posts flagged for *c*; ``share`` = flagged / posts with a scored text;
* *support* (at most one step, never below ``floor_posts`` = 2): the profile (nickname + bio)
  is flagged for *c*; for solicitation also a contact handle (WeChat / QQ / phone...) repeated
  in at least two flagged posts (or a flagged post and the profile). Support alone never labels;
* ``needed`` = ``min_posts[c]``, or ``max(floor_posts, min_posts[c] - 1)`` with support;
* *own posts* (``own_posts``, on by default): when the other text category has more flagged
  posts, posts flagged for both count for that one only, so *c* needs posts of its own (hook-up
  ads that also read as crude do not make an escort account a porn account too);
* **label** when ``flagged >= needed`` and ``share >= min_share[c]`` (counting own posts as above);
* **review** when not labelled but the profile is flagged, or the count is met and only the share
  is not, or flagged posts are at least ``review_min_share`` (10 %) of the account's posts: the
  category is not decided (``verdict["bands"][c] == "review"``), and an account with no label
  but a category in review has ``verdict["review"]`` true: route it to people.
  (One stray flagged post among forty ordinary ones stays ``"clear"``: every benign account with a
  long history has one, and routing them all to people would bury the real borderline cases.)

``lewd_images`` has its own rule: flagged images (image score >= the image threshold) ``>=
min_posts["lewd_images"]``, spread over at least ``floor_posts`` posts, and ``>= min_share
["lewd_images"]`` of the scored images; review as for text (counted in images).

``scores[c]`` is the post score of the account's ``needed``-th most confident post for *c*
(for images: of its ``needed``-th image, capped by its second-best *post*), so it reaches the
post threshold exactly when the count part of the rule holds, and one post never lifts it.
Every category with a flagged post gets an evidence entry ``{"kind": "rule", "category",
"decision", "reason", ...}`` that says in words which rule fired or why it did not.
Parameters live in the bundle's ``account`` component (``scripts/calibrate_accounts.py`` picks
``min_posts`` / ``min_share`` on held-out post scores, see ``models/default/CARD-account.md``);
:data:`DEFAULT_PARAMS` are the fallback.

>>> from cleanclf.accounts import AccountModel
>>> from cleanclf.schema import Account, Post
>>> m = AccountModel()
>>> acc = Account("u1", {"nickname": "", "bio": ""}, [Post(str(i), "ad") for i in range(6)])
>>> ad = {"explicit_text": 0.01, "solicitation": 0.99, "labels": ["solicitation"], "evidence": [],
...       "escalate": False, "escalate_reasons": [], "truncated": False}
>>> ok = {**ad, "solicitation": 0.01, "labels": []}
>>> v = m.verdict(acc, [ad] * 6, None, None, model_id="x@1")
>>> v["labels"], v["counts"]["flagged"]["solicitation"], v["review"]
(['solicitation'], 6, False)
>>> v = m.verdict(acc, [ad] + [ok] * 5, None, None, model_id="x@1")    # one post: review, never a label
>>> v["labels"], v["review"], v["bands"]["solicitation"]
([], True, 'review')
"""

from __future__ import annotations

from typing import Any, Sequence

from .categories import CATEGORIES, EXPLICIT_TEXT, LEWD_IMAGES, SOLICITATION, TEXT_CATEGORIES
from .errors import InputError, describe

POSTS_MODES = ("flagged", "all", "none")
RULE = "counts"
#: Bands of ``verdict["bands"][category]``: ``None`` when the category was not computed.
BANDS = ("clear", "review", "label")

#: Fallback used when a bundle has no (or an old, weights-based) ``account`` component, e.g. a
#: bundle of your own from ``cleanclf train``: the values default@0.4.0 and 0.5.0 were calibrated
#: to (2026-12-07). ``scripts/calibrate_accounts.py`` writes calibrated values into a bundle.
DEFAULT_PARAMS: dict[str, Any] = {
    "format": 2,
    "rule": RULE,
    "min_posts": {EXPLICIT_TEXT: 3, SOLICITATION: 3, LEWD_IMAGES: 3},
    "min_share": {EXPLICIT_TEXT: 0.1, SOLICITATION: 0.05, LEWD_IMAGES: 0.05},
    "floor_posts": 2,
    "own_posts": True,
    "review_min_share": 0.1,
    "support": {EXPLICIT_TEXT: ["profile"], SOLICITATION: ["profile", "repeated_contact"], LEWD_IMAGES: []},
    "evidence": {"top_posts": 3, "terms_per_post": 5, "contacts": 5, "contact_posts": 10, "images": 5,
                 "profile_terms": 5, "escalations": 5, "excerpt_chars": 160, "post_errors": 3},
}
SUPPORTS = ("profile", "repeated_contact")
MIN_FLOOR = 2  # not a parameter: one post never makes an account, whatever a bundle says


def _merge(params: dict | None) -> dict:
    params = dict(params or {})
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in DEFAULT_PARAMS.items()}
    if params.get("format", 2) < 2 or "weights" in params and "min_posts" not in params:
        # a format-1 bundle (fitted logistic weights): only its evidence limits carry over
        params = {"evidence": params.get("evidence", {})}
    for k, v in params.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


def _check(params: dict) -> None:
    floor = params["floor_posts"]
    if not isinstance(floor, int) or isinstance(floor, bool) or floor < MIN_FLOOR:
        raise InputError(f"params['floor_posts']: expected an int >= {MIN_FLOOR} (one post never makes an "
                         f"account), got {describe(floor)}")
    r = params["review_min_share"]
    if not isinstance(r, (int, float)) or isinstance(r, bool) or not 0.0 <= r <= 1.0:
        raise InputError(f"params['review_min_share']: expected a number in [0, 1], got {describe(r)}")
    if not isinstance(params["own_posts"], bool):
        raise InputError(f"params['own_posts']: expected true or false, got {describe(params['own_posts'])}")
    for c in CATEGORIES:
        n = params["min_posts"].get(c)
        if not isinstance(n, int) or isinstance(n, bool) or n < floor:
            raise InputError(f"params['min_posts'][{c!r}]: expected an int >= floor_posts ({floor}), got {describe(n)}")
        s = params["min_share"].get(c)
        if not isinstance(s, (int, float)) or isinstance(s, bool) or not 0.0 <= s <= 1.0:
            raise InputError(f"params['min_share'][{c!r}]: expected a number in [0, 1], got {describe(s)}")
        bad = [x for x in params["support"].get(c, []) if x not in SUPPORTS]
        if bad:
            raise InputError(f"params['support'][{c!r}]: expected names from {list(SUPPORTS)}, got {bad!r}")


#: (substring of a lower-cased image error message, reason) pairs, first match wins.
_IMAGE_REASONS = (("no such file", "not_found"), ("does not exist", "not_found"),
                  ("outside images_root", "outside_images_root"), ("not a directory", "bad_images_root"),
                  ("permission denied", "permission_denied"), ("is a directory", "not_a_file"),
                  ("not a regular file", "not_a_file"), ("too large", "too_large"), ("pixels is over", "too_large"),
                  ("cannot decode", "undecodable"), ("is empty", "undecodable"), ("urls are not fetched", "url"),
                  ("path:", "bad_path"))


def image_failure_reason(error: dict | None) -> str:
    """A short reason for a failed image: what verdicts (``image_status``) and run records count
    failures under; the error's type when no known reason matches.

    >>> image_failure_reason({"type": "ImageError", "message": "a.jpg: no such file; expected an existing image file"})
    'not_found'
    >>> image_failure_reason({"type": "OSError", "message": "boom"})
    'OSError'
    """
    err = error if isinstance(error, dict) else {}
    msg = str(err.get("message", "")).lower()
    for needle, reason in _IMAGE_REASONS:
        if needle in msg:
            return reason
    return str(err.get("type") or "unknown")


def _image_status(account, image_results, image_scores: list) -> dict | None:
    """``{"scored", "failed", "reason", "reasons"}`` when an image of the account could not be
    scored (``"not_scored"`` and reason ``"no_image_component"`` when the model has no image
    component); ``None`` when every image was scored (or there are none): the verdict then has
    no ``image_status``, as before."""
    n_images = sum(len(p.images) for p in account.posts)
    if not n_images:
        return None
    if image_results is None:
        return {"scored": 0, "failed": 0, "not_scored": n_images, "reason": "no_image_component"}
    reasons: dict[str, int] = {}
    for per_post in image_results:
        for r in per_post or ():
            if "error" in r:
                k = image_failure_reason(r["error"])
                reasons[k] = reasons.get(k, 0) + 1
    if not reasons:
        return None
    ordered = dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
    return {"scored": len(image_scores), "failed": sum(reasons.values()), "reason": next(iter(ordered)),
            "reasons": ordered}


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
           "escalate": False, "review": False, "bands": empty_scores(), "evidence": []}
    if posts != "none":
        out["posts"] = []
    out["model"] = model_id
    out["error"] = error
    out["line"] = line
    return out


def _kth(values: list[float], k: int) -> float:
    """The k-th largest value (0.0 when there are fewer than k)."""
    if k <= 0 or len(values) < k:
        return 0.0
    return sorted(values, reverse=True)[k - 1]


def _pct(x: float) -> str:
    return f"{100 * x:.3g}%"


class AccountModel:
    """Turns post-level results of one account into its verdict record, by the count rule above.

    ``params`` is the bundle's ``account`` component (missing keys fall back to
    :data:`DEFAULT_PARAMS`; a format-1 component with logistic weights is read as the default
    rule); ``post_thresholds`` are the classifier's post thresholds (a post is *flagged* for a
    category when its score reaches them). Raises ``ValueError`` naming the parameter when a
    rule would let fewer than two posts make an account.

    >>> AccountModel({"min_posts": {"solicitation": 4}}).params["min_posts"]["solicitation"]
    4
    >>> AccountModel({"min_posts": {"solicitation": 1}})
    Traceback (most recent call last):
    ...
    cleanclf.errors.InputError: params['min_posts']['solicitation']: expected an int >= floor_posts (2), got 1 (int)
    """

    def __init__(self, params: dict | None = None, post_thresholds: dict[str, float] | None = None):
        self.params = _merge(params)
        _check(self.params)
        self.post_thresholds = {c: 0.5 for c in CATEGORIES}
        self.post_thresholds.update(post_thresholds or {})
        self.ev = self.params["evidence"]

    # ------------------------------------------------------------------ the rule
    def decide(self, category: str, inputs: dict) -> dict:
        """Apply the rule to one category's inputs (see :meth:`rule_inputs`).

        Returns ``{"label": bool, "band": "clear" | "review" | "label", "needed": int,
        "score": float, "support": [...], "reason": str}``.

        >>> m = AccountModel()
        >>> inp = {"flagged": 2, "scored": 10, "flagged_posts": 2, "scores": [0.9, 0.8] + [0.0] * 8,
        ...        "support": ["repeated_contact"]}
        >>> d = m.decide("solicitation", inp)
        >>> d["label"], d["needed"], d["reason"]
        (True, 2, 'label: 2 of 10 posts flagged (20%); at least the 2 needed (3 minus one for support: repeated_contact); share at least 5%')
        """
        p = self.params
        floor = p["floor_posts"]
        n_min = p["min_posts"][category]
        s_min = p["min_share"][category]
        support = [x for x in inputs.get("support", ()) if x in p["support"].get(category, ())]
        needed = max(floor, n_min - 1) if support else n_min
        flagged, scored = inputs["flagged"], inputs["scored"]
        scores = inputs["scores"]
        counted, co = flagged, inputs.get("co_flagged", 0)
        if p["own_posts"] and co and inputs.get("other_flagged", 0) > flagged:
            # the other text category has more flagged posts: posts flagged for both belong to it,
            # this one needs posts of its own (an escort account's crude ads are not a porn account)
            counted, scores = flagged - co, inputs["own_scores"]
        share = counted / scored if scored else 0.0
        spread_ok = inputs.get("flagged_posts", flagged) >= floor
        label = counted >= needed and share >= s_min and spread_ok
        unit = "images" if category == LEWD_IMAGES else "posts"
        score = _kth(scores, needed)
        if category == LEWD_IMAGES:
            score = min(score, _kth(inputs.get("post_max", []), floor))
        need_txt = f"the {needed} needed" + (f" ({n_min} minus one for support: {', '.join(support)})"
                                              if needed < n_min else "")
        head = f"{flagged} of {scored} {unit} flagged ({_pct(flagged / scored if scored else 0.0)})"
        if counted < flagged:
            other = SOLICITATION if category == EXPLICIT_TEXT else EXPLICIT_TEXT
            head += (f", {counted} counted ({_pct(share)}): {co} also flagged {other}, which has more flagged "
                     "posts and takes them")
        if category == LEWD_IMAGES:
            head += f" in {inputs.get('flagged_posts', 0)} posts"
        if label:
            reason = f"label: {head}; at least {need_txt}; share at least {_pct(s_min)}"
        else:
            why = []
            if counted < needed:
                why.append(f"fewer than {need_txt}")
            if share < s_min:
                why.append(f"share below {_pct(s_min)}")
            if not spread_ok and counted >= needed:
                why.append(f"fewer than {floor} posts")
        raw_share = flagged / scored if scored else 0.0
        review = not label and bool(inputs.get("profile_flagged") or counted >= needed
                                    or (flagged and raw_share >= p["review_min_share"]))
        band = "label" if label else ("review" if review else "clear")
        if not label:
            reason = f"{band}: {head}; " + "; ".join(why)
        return {"label": label, "band": band, "needed": needed, "score": score, "support": support,
                "reason": reason}

    def rule_inputs(self, account, text_results, profile_result, image_results) -> dict[str, dict | None]:
        """Per category, what the rule reads (``None`` when the category was not computed):
        ``flagged``, ``scored``, ``flagged_posts``, ``scores`` (post scores, or image scores),
        ``support``, ``profile_flagged`` (and ``post_max`` for images).

        Same inputs as :meth:`verdict`; ``scripts/calibrate_accounts.py`` chooses the rule's
        parameters from these.

        >>> from cleanclf.schema import Account, Post
        >>> acc = Account("u", posts=[Post("p0", "a"), Post("p1", "b")])
        >>> hit = {"explicit_text": 0.9, "solicitation": 0.1, "evidence": []}
        >>> miss = {"explicit_text": 0.1, "solicitation": 0.1, "evidence": []}
        >>> inp = AccountModel().rule_inputs(acc, [hit, miss], None, None)
        >>> inp["explicit_text"]["flagged"], inp["explicit_text"]["scored"], inp["lewd_images"]
        (1, 2, None)
        """
        return self._analyse(account, text_results, profile_result, image_results)["inputs"]


    # ------------------------------------------------------------------ analysis
    def _analyse(self, account, text_results, profile_result, image_results) -> dict:
        posts = account.posts
        has_text = text_results is not None
        has_image = image_results is not None
        post_scores: list[dict[str, float | None]] = []
        post_labels: list[list[str]] = []
        post_errors: list[list[dict]] = []
        cat_scores: dict[str, list[float]] = {c: [] for c in CATEGORIES}
        image_scores: list[tuple[float, int, int]] = []  # (score, post index, image index)
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
                        if sc[c] >= self.post_thresholds[c]:
                            labels.append(c)
            imgs = image_results[i] if has_image else None
            if imgs:
                best = None
                for j, ir in enumerate(imgs):
                    if "error" in ir:
                        errs.append({"source": "image", "image": posts[i].images[j], **ir["error"]})
                    else:
                        s = float(ir[LEWD_IMAGES])
                        image_scores.append((s, i, j))
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
        # contacts: value -> [post indices] (-1 = profile); implicated when in a flagged post/profile.
        # "where" / "flagged_where" / "implicated" list every contact the evidence shows; the rule
        # (support, counts) reads the "rule_" ones, which leave out contacts found only by the
        # evidence-only phone formats ("extended": the model was not fitted on them, and the
        # account rule was calibrated without them).
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
                entry = contacts.setdefault(key, {"where": [], "flagged_where": [], "implicated": False,
                                                  "rule_where": [], "rule_flagged_where": [],
                                                  "rule_implicated": False})
                places = ("",) if ev.get("extended") else ("", "rule_")
                for pre in places:
                    where = entry[pre + "where"]
                    if not where or where[-1] != i:
                        where.append(i)
                        if flagged:
                            entry[pre + "flagged_where"].append(i)
                    entry[pre + "implicated"] |= flagged
        repeated = max((len(e["rule_where"]) for e in contacts.values()
                        if e["rule_implicated"] and len(e["rule_where"]) > 1), default=0)
        # support: one handle in >= 2 flagged places (posts or profile); a shop's number in
        # unflagged posts, or a handle in one flagged post, is no support
        contact_flagged = max((len(e["rule_flagged_where"]) for e in contacts.values()), default=0)

        inputs: dict[str, dict | None] = {}
        for c in CATEGORIES:
            computed = has_image if c == LEWD_IMAGES else has_text
            if not computed:
                inputs[c] = None
                continue
            if c == LEWD_IMAGES:
                flagged_imgs = [(s, i) for s, i, _ in image_scores if s >= self.post_thresholds[c]]
                per_post: dict[int, float] = {}
                for s, i, _ in image_scores:
                    per_post[i] = max(per_post.get(i, 0.0), s)
                inputs[c] = {"flagged": len(flagged_imgs), "scored": len(image_scores),
                             "flagged_posts": len({i for _, i in flagged_imgs}),
                             "scores": [s for s, _, _ in image_scores], "post_max": list(per_post.values()),
                             "support": [], "profile_flagged": False}
                continue
            prof_flag = profile_ok and float(profile_result.get(c, 0.0)) >= self.post_thresholds[c]
            support = ["profile"] if prof_flag else []
            if c == SOLICITATION and contact_flagged >= 2:
                support.append("repeated_contact")
            o = SOLICITATION if c == EXPLICIT_TEXT else EXPLICIT_TEXT
            mine = [s >= self.post_thresholds[c] for s in cat_scores[c]]
            other = [s >= self.post_thresholds[o] for s in cat_scores[o]]
            flagged = sum(mine)
            inputs[c] = {"flagged": flagged, "scored": len(cat_scores[c]), "flagged_posts": flagged,
                         "scores": cat_scores[c], "support": support, "profile_flagged": bool(prof_flag),
                         "other_flagged": sum(other), "co_flagged": sum(a and b for a, b in zip(mine, other)),
                         "own_scores": [0.0 if b else s for s, b in zip(cat_scores[c], other)]}
        return {"inputs": inputs, "post_scores": post_scores, "post_labels": post_labels,
                "post_errors": post_errors, "contacts": contacts, "repeated": repeated,
                "profile_ok": profile_ok, "image_scores": image_scores}

    # ------------------------------------------------------------------ verdict
    def verdict(self, account, text_results: Sequence[dict | None] | None, profile_result: dict | None,
                image_results: Sequence[Sequence[dict]] | None, *, model_id: str, posts: str = "flagged") -> dict:
        """The verdict record of one account.

        ``text_results[i]`` is the ``score_texts`` result of post *i* (``None`` for a post
        without text), or ``text_results=None`` when there is no text model; likewise
        ``image_results[i]`` lists the ``score_images`` results of post *i*'s images.
        ``profile_result`` scores nickname + bio (``None`` when the profile is empty).

        Besides the fields listed in the README, ``review`` is true when the account has no label
        but some category is in the ``"review"`` band (flagged posts, but below the rule: route it
        to people), ``bands`` gives each category's band, and ``counts["flagged_images"]`` counts
        images over the image threshold.
        """
        a = self._analyse(account, text_results, profile_result, image_results)
        scores: dict[str, float | None] = {}
        bands: dict[str, str | None] = {}
        labels: list[str] = []
        decisions: dict[str, dict] = {}
        image_status = _image_status(account, image_results, a["image_scores"])
        for c in CATEGORIES:
            inp = a["inputs"][c]
            if inp is None or (c == LEWD_IMAGES and image_status is not None and not image_status["scored"]):
                # not computed, or every image failed: no score rather than a number that reads
                # like "no lewd images" (image_status says why)
                scores[c] = bands[c] = None
                continue
            d = self.decide(c, inp)
            decisions[c] = d
            scores[c] = round(d["score"], 6)
            bands[c] = d["band"]
            if d["label"]:
                labels.append(c)
        # the account-level flag is for routing: an account already labelled is decided (its other
        # categories' bands still say "review" where they are borderline)
        review = not labels and any(b == "review" for b in bands.values())

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
            "flagged_images": sum(1 for s, _, _ in a["image_scores"] if s >= self.post_thresholds[LEWD_IMAGES]),
            "repeated_contact_posts": a["repeated"],
            "escalated_posts": len(esc_entries),
            "errors": n_errors + (1 if profile_result is not None and "error" in profile_result else 0),
        }
        evidence = self._evidence(account, text_results, profile_result, image_results, a, esc_entries, decisions)
        out = {"account_id": account.account_id, "labels": labels, "scores": scores, "counts": counts,
               "escalate": escalate, "review": review, "bands": bands, "evidence": evidence}
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
                    omitted = len(a["post_errors"][i]) - self.ev["post_errors"]
                    if omitted > 0:  # the list is cut: say by how much
                        plist[-1]["errors_omitted"] = omitted
            out["posts"] = plist
        out["model"] = model_id
        out["error"] = None
        # added after the keys every verdict has, and only when there is something to say
        if image_status is not None:
            out["image_status"] = image_status
        warns = getattr(account, "warnings", None)
        if warns:  # what the reader could not use in this record ("[code] ..."); absent when none
            out["warnings"] = list(warns)
        return out

    def _excerpt(self, text: str, spans: list) -> tuple[str, int]:
        n = self.ev["excerpt_chars"]
        if len(text) <= n:
            return text, 0
        start = max(0, (spans[0][0] if spans else 0) - n // 4)
        return text[start: start + n], start

    def _evidence(self, account, text_results, profile_result, image_results, a, esc_entries,
                  decisions) -> list[dict]:
        ev = self.ev
        out: list[dict] = []
        # the rule first: why each category was labelled, sent to review, or not
        for c, d in decisions.items():
            inp = a["inputs"][c]
            if d["band"] == "clear" and not inp["flagged"]:
                continue
            out.append({"kind": "rule", "category": c, "decision": d["band"], "reason": d["reason"],
                        "flagged": inp["flagged"], "scored": inp["scored"], "needed": d["needed"],
                        "support": d["support"]})
        # profile hits first: a reviewer reads the profile before the posts
        if a["profile_ok"]:
            offs = account.profile_offsets()
            nick_len = len(account.profile.get("nickname") or "")
            hits = []
            omitted = 0
            for e in profile_result.get("evidence", ()):
                span = e.get("span")
                if not span:
                    omitted += e.get("omitted", 0) if e.get("kind") == "omitted" else 0
                    continue
                field_ = "nickname" if (nick_len and span[0] < nick_len) else "bio"
                off = offs[field_]
                hits.append({k: v for k, v in e.items() if k != "span"} | {"field": field_, "span": [span[0] - off, span[1] - off]})
            if hits or any(float(profile_result.get(c, 0)) >= self.post_thresholds[c] for c in TEXT_CATEGORIES):
                entry = {"kind": "profile",
                         "scores": {c: round(float(profile_result[c]), 6) for c in TEXT_CATEGORIES},
                         "labels": list(profile_result.get("labels", [])),
                         "hits": hits[: ev["profile_terms"]]}
                _count_omitted(entry, max(0, len(hits) - ev["profile_terms"]) + omitted)
                out.append(entry)
        # top posts per text category, with their term spans; a post among the top of both
        # categories is one entry ("category" / "score": where it came first; "categories": all)
        if text_results is not None:
            listed: dict[int, dict] = {}
            for c in TEXT_CATEGORIES:
                flagged = sorted(((s[c], i) for i, s in enumerate(a["post_scores"]) if s[c] is not None
                                  and s[c] >= self.post_thresholds[c]), reverse=True)
                for score, i in flagged[: ev["top_posts"]]:
                    if i in listed:
                        listed[i]["categories"][c] = round(score, 6)
                        continue
                    post = account.posts[i]
                    # terms, minor signals, top n-grams: everything but contacts (listed per account below)
                    terms, omitted = [], 0
                    for e in text_results[i].get("evidence", ()):
                        kind = e.get("kind")
                        if kind == "omitted":
                            omitted += e.get("omitted", 0) if e.get("what") != "contact" else 0
                        elif kind != "contact":
                            terms.append(e)
                    omitted += max(0, len(terms) - ev["terms_per_post"])
                    terms = terms[: ev["terms_per_post"]]
                    excerpt, ex_off = self._excerpt(post.text, [t["span"] for t in terms if t.get("span")])
                    entry = {"kind": "post", "category": c, "post_id": post.id, "score": round(score, 6),
                             "categories": {c: round(score, 6)},
                             "terms": terms, "excerpt": excerpt, "excerpt_offset": ex_off}
                    _count_omitted(entry, omitted)
                    listed[i] = entry
                    out.append(entry)
                if len(flagged) > ev["top_posts"]:
                    out.append(_omitted("post", len(flagged) - ev["top_posts"], category=c))
        # contacts: repeated or in flagged posts, most repeated first, each once with its count
        cands = sorted(a["contacts"].items(), key=lambda kv: (-kv[1]["implicated"], -len(kv[1]["where"]), kv[0]))
        cands = [kv for kv in cands if kv[1]["implicated"] or len(kv[1]["where"]) >= 2]
        for (ctype, value), e in cands[: ev["contacts"]]:
            where = e["where"]
            post_ids = [account.posts[i].id for i in where if i >= 0]
            entry = {"kind": "contact", "type": ctype, "value": value,
                     "in_profile": -1 in where, "count": len(where),
                     "post_ids": post_ids[: ev["contact_posts"]],
                     "in_flagged_post": e["implicated"]}
            if not e["rule_where"]:
                entry["extended"] = True  # evidence-only phone format: not counted by the rule
            _count_omitted(entry, len(post_ids) - ev["contact_posts"])
            out.append(entry)
        if len(cands) > ev["contacts"]:
            out.append(_omitted("contact", len(cands) - ev["contacts"]))
        # images: the flagged ones first (each with its score), then the best of the rest
        if image_results is not None:
            t_img = self.post_thresholds[LEWD_IMAGES]
            for s, i, j in sorted(a["image_scores"], key=lambda x: (-x[0], x[1], x[2]))[: ev["images"]]:
                # even low scores: the reviewer sees the maximum
                out.append({"kind": "image", "post_id": account.posts[i].id, "path": account.posts[i].images[j],
                            "score": round(s, 6), "flagged": s >= t_img})
            if len(a["image_scores"]) > ev["images"]:
                out.append(_omitted("image", len(a["image_scores"]) - ev["images"]))
        out.extend(esc_entries[: ev["escalations"]])
        if len(esc_entries) > ev["escalations"]:
            out.append(_omitted("escalation", len(esc_entries) - ev["escalations"]))
        return out


def _omitted(what: str, n: int, **extra) -> dict:
    """The evidence entry that says ``n`` entries of kind ``what`` were left out of the verdict's evidence."""
    return {"kind": "omitted", "what": what, **extra, "omitted": n}


def _count_omitted(entry: dict, n: int) -> None:
    """``entry["omitted"] = n`` when a list inside ``entry`` (terms, hits, post ids) left ``n`` out."""
    if n > 0:
        entry["omitted"] = n



__all__ = ["AccountModel", "DEFAULT_PARAMS", "POSTS_MODES", "BANDS", "RULE", "error_verdict", "empty_scores",
           "image_failure_reason",
           "EXPLICIT_TEXT", "SOLICITATION", "LEWD_IMAGES"]
