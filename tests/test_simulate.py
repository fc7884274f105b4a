"""benchmarks/simulate.py: held-out post scores, simulated accounts, and the account metrics the benchmark reports."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
from _texts import BENIGN, EXPLICIT, SOLICIT, TINY_LEXICONS

from cleanclf.accounts import AccountModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from simulate import (HOLDOUT_SOURCES, account_metrics, count_rule, decisions_table, fold_ids,  # noqa: E402
                      heldout_scores, is_category, rule_inputs_table, simulate_accounts, split_half, text_result)


def rows_with_ids():
    rows = []
    held = HOLDOUT_SOURCES[0][0]  # a source held out whole in fold 0
    for rep in range(3):
        for i, t in enumerate(SOLICIT):
            rows.append({"id": f"s{rep}-{i}", "text": f"{t} {rep}", "source": "demo-spam", "explicit_text": 0,
                         "solicitation": 1})
        for i, t in enumerate(EXPLICIT):
            rows.append({"id": f"e{rep}-{i}", "text": f"{t} {rep}", "source": "demo-spam", "explicit_text": 1,
                         "solicitation": 0})
        for i, t in enumerate(BENIGN):
            rows.append({"id": f"b{rep}-{i}", "text": f"{t} {rep}", "source": held if i % 3 == 0 else "waimai-reviews",
                         "explicit_text": 0, "solicitation": 0})
    return rows


def test_fold_ids_keep_near_duplicates_together_and_hold_out_sources():
    rows = [{"text": "加薇 abc1 包夜", "source": "tg-spam"}, {"text": "加薇 xyz9 包夜", "source": "tg-spam"}]
    rows += [{"text": f"问题{i}", "source": src} for i, group in enumerate(HOLDOUT_SOURCES) for src in group]
    folds = fold_ids(rows)
    assert folds[0] == folds[1]
    assert folds[2:] == [f for f, group in enumerate(HOLDOUT_SOURCES) for _ in group]
    with pytest.raises(ValueError, match="k: expected at least"):
        fold_ids(rows, k=2)


def test_heldout_scores_score_every_row_out_of_fold_and_cache(tmp_path):
    rows = rows_with_ids()
    comp = {"params": {"cv": 2, "C": 4.0, "char_ngram_range": [1, 3], "calibration": "ignored: not a fit argument"}}

    def disguise(text, rng):
        return " ".join(text)

    scores = heldout_scores(rows, rows, lexicons=TINY_LEXICONS, text_component=comp, cache_dir=tmp_path,
                            disguise=disguise, disguise_benign=2)
    folds = fold_ids(rows)
    assert {r["id"] for r in rows} <= set(scores)
    for r, f in zip(rows, folds):
        rec = scores[r["id"]]
        assert rec["fold"] == f and 0.0 <= rec["solicitation"] <= 1.0
        assert rec["unseen_source"] == (r["source"] in HOLDOUT_SOURCES[f])
    positives = [r for r in rows if r["solicitation"] == 1 or r["explicit_text"] == 1]
    assert all(scores[r["id"] + "~d"]["text"] == " ".join(r["text"]) for r in positives)
    assert sum(1 for k in scores if k.endswith("~d")) == len(positives) + 2
    # a second call with the same data and parameters reads the cache (no refit: fitting would fail)
    import functools

    import cleanclf.training

    orig = cleanclf.training.fit_text_model

    @functools.wraps(orig)  # same signature: the parameters in the cache key stay the same
    def no_fit(*a, **k):
        raise AssertionError("refitted although the cache matched")

    cleanclf.training.fit_text_model = no_fit
    try:
        again = heldout_scores(rows, rows, lexicons=TINY_LEXICONS, text_component=comp, cache_dir=tmp_path,
                               disguise=disguise, disguise_benign=2)
    finally:
        cleanclf.training.fit_text_model = orig
    assert again == scores
    with pytest.raises(ValueError, match="eval_rows: every row needs a distinct 'id'"):
        heldout_scores(rows, rows + rows[:1], text_component=comp)


def _scored_rows(n=40, seed=0):
    """Rows with made-up held-out scores: positives flagged 80 % of the time, benign 1 %."""
    rng = random.Random(seed)
    rows, scores = [], {}
    for i in range(n):
        for kind, e, s in (("b", 0, 0), ("s", 0, 1), ("e", 1, 0)):
            rid = f"{kind}{i}"
            rows.append({"id": rid, "text": f"{kind} text {i}", "source": "qq-group-chat" if kind == "b" else "tg-spam",
                         "explicit_text": e, "solicitation": s})
            hit = rng.random() < (0.8 if kind != "b" else 0.01)
            scores[rid] = {"explicit_text": 0.9 if (e and hit) else 0.01, "solicitation": 0.9 if (s and hit) else 0.01,
                           "contacts": [["wechat", f"fake-wx-{i % 3}"]] if s else [],
                           "unseen_source": kind == "b"}
    return rows, scores


def test_simulated_accounts_have_the_declared_shape():
    rows, scores = _scored_rows()
    sims = simulate_accounts(rows, scores, n_benign=30, n_offending=20, seed=3)
    assert [s.kind for s in sims].count("benign") == 30
    for s in sims:
        assert len(s.post_keys) == len(s.account.posts) >= 1
        if s.kind == "benign":
            assert s.k == 0 and s.truth == {"explicit_text": 0, "solicitation": 0} and s.unseen_source
        else:
            assert s.truth[s.kind] == s.k >= 1 and s.persona == "tg-spam" and not s.unseen_source
    assert split_half("加薇 abc123 包夜") in (0, 1)


def test_account_metrics_count_one_post_labels_and_wrong_extra_categories():
    rows, scores = _scored_rows()
    th = {"explicit_text": 0.5, "solicitation": 0.5}
    sims = simulate_accounts(rows, scores, n_benign=60, n_offending=60, seed=5)
    table = rule_inputs_table(sims, scores, th)
    shipped = decisions_table({}, table, th)
    m = account_metrics(sims, shipped, table)
    assert m["one_post_labels"] == 0
    # the caught offending accounts are labelled with their own category and nothing else
    assert m["caught"] > 0 and m["wrong_extra"] == 0
    assert 0.0 <= m["benign_any_label"] <= 1.0 and m["benign"] == 60
    # a rule that labels everything with any flag shows up as wrong extras and benign labels
    loose = {"min_posts": {"explicit_text": 2, "solicitation": 2}, "min_share": {"explicit_text": 0.0,
                                                                                  "solicitation": 0.0}}
    everything = [{c: {**d, "label": True} for c, d in dec.items()} for dec in decisions_table(loose, table, th)]
    m2 = account_metrics(sims, everything, table)
    assert m2["benign_any_label"] == 1.0 and m2["wrong_extra"] == m2["caught"]
    assert m2["one_post_labels"] > 0  # and they are counted: what the benchmark must show as 0
    assert all(is_category(s, s.kind) == (s.k >= 2) for s in sims if s.kind != "benign")
    assert count_rule(5)["own_posts"] is False


def test_text_result_feeds_the_account_model():
    rec = {"explicit_text": 0.2, "solicitation": 0.95, "contacts": [["wechat", "fake-wx-1"]], "escalate": False}
    th = {"explicit_text": 0.5, "solicitation": 0.8}
    tr = text_result(rec, th)
    assert tr["labels"] == ["solicitation"] and tr["evidence"][0]["value"] == "fake-wx-1"
    assert text_result({"error": "InputError"}, th)["error"]["type"] == "InputError"
    from cleanclf.schema import Account, Post

    acc = Account("u", posts=[Post(f"p{i}", "x") for i in range(4)])
    v = AccountModel(None, th).verdict(acc, [tr] * 2 + [text_result({**rec, "solicitation": 0.1}, th)] * 2, None,
                                       None, model_id="m")
    # two flagged posts sharing one handle (the unflagged posts repeat it too): support lowers 3 to 2
    assert v["labels"] == ["solicitation"] and v["counts"]["repeated_contact_posts"] == 4
    rule = next(e for e in v["evidence"] if e["kind"] == "rule" and e["category"] == "solicitation")
    assert rule["support"] == ["repeated_contact"] and rule["needed"] == 2


def test_doctests():
    import doctest

    import simulate

    res = doctest.testmod(simulate)
    assert res.attempted > 10 and res.failed == 0
