"""Account-level quality on accounts built from posts the text model did not train on (held-out scores).

    python benchmarks/bench_accounts_quality.py [--n-benign 6000 --n-offending 4000] [--reuse-latest]

Accounts come from ``simulate.simulate_accounts`` (``benchmarks/simulate.py``) over half 1 of the real labelled rows
(``split_half``; scripts/calibrate_accounts.py chooses the rule on half 0), with post scores
from ``simulate.default_heldout``: the text model refitted per fold with the bundle's
parameters, each row scored by the fold that did not train on it, whole sources held out
(qq-group-chat + cold-comments, medical + bilibili, literature + personal SMS, sms800k + news
titles), disguised copies from ``benchmarks/perturb.py``. Cached under benchmarks/out/heldout/.
Post flags use the bundle's post thresholds; the account rule is the bundle's ``account``
component, next to the plain rules ">= 3 flagged posts" and ">= 5 flagged posts".

Reported per rule: per category recall on accounts with >= 5 offending posts (all; those whose
offending posts all come from sources the scoring fold trained on; those with every offending
post disguised); precision (a label is right when >= 2 of the account's posts carry it; a label
resting on posts never judged for the category -- null labels, e.g. whether an escort ad is also
explicit -- is left out, as DATA.md asks for nulls, and the precision counting those as wrong is
shown too); benign accounts with that label; benign accounts with any label, overall and for
personas whose every post comes from a held-out source; accounts labelled on <= 1 flagged post;
wrong extra category (a caught account also labelled with a category fewer than two of its posts
carry, unjudged ones shown apart); benign accounts in the review band. For the shipped rule: the
borderline band (1-4 offending posts: label / review / clear) and benign personas one by one.
Then a report-only section on accounts assembled from external_dev.jsonl (CC BY-NC, evaluation
only; nothing is chosen on it), scored end to end by ``cleanclf.score_accounts`` with the bundle.

Targets (issue 16): recall >= 0.95 and precision >= 0.98 per category on accounts with >= 5
offending posts; benign accounts with any label <= 0.5 %, also on unseen sources; 0 accounts
labelled on one flagged post.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import cleanclf
from cleanclf.accounts import AccountModel
from cleanclf.categories import TEXT_CATEGORIES

ROOT = Path(__file__).resolve().parents[1]
EXTERNAL = ROOT.parent / "shared" / "data" / "text" / "external_dev.jsonl"
sys.path.insert(0, str(ROOT / "benchmarks"))
import perturb  # noqa: E402
from simulate import (account_metrics, count_rule, decisions_table, default_heldout, external_accounts,  # noqa: E402
                      rule_inputs_table, simulate_accounts, split_half)


def _f(x: float, pct: bool = False) -> str:
    if x != x:  # nan
        return "-"
    return f"{100 * x:.2f} %" if pct else f"{x:.3f}"


def _mark(ok: bool) -> str:
    return "" if ok else " **miss**"


def rules_table(title: str, rules: dict[str, dict], sims, table, thresholds) -> dict:
    print(f"\n### {title}\n")
    print("| rule | category | recall >=5 | ... only seen sources | ... all offending posts disguised | precision | "
          "benign with label |")
    print("|---|---|---:|---:|---:|---:|---:|")
    out = {}
    for name, params in rules.items():
        m = account_metrics(sims, decisions_table(params, table, thresholds), table)
        out[name] = m
        for c in TEXT_CATEGORIES:
            pc = m["per_category"][c]
            print(f"| {name} | {c} | {_f(pc['recall_ge5'])} (n={pc['n_ge5']}){_mark(pc['recall_ge5'] >= 0.95)} | "
                  f"{_f(pc['recall_ge5_seen'])} (n={pc['n_seen_ge5']}) | "
                  f"{_f(pc['recall_ge5_disguised'])} (n={pc['n_disguised_ge5']}) | "
                  f"{pc['precision']:.4f} ({pc['labelled']} labelled, {pc['unjudged_labels']} unjudged; "
                  f"{pc['precision_unjudged_as_wrong']:.4f} counting those wrong){_mark(pc['precision'] >= 0.98)} | "
                  f"{_f(pc['benign_fpr'], True)} |")
    print("\n| rule | benign with any label | ... unseen-source personas | labelled on <= 1 flagged post | "
          "wrong extra category | benign in review band |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, m in out.items():
        print(f"| {name} | {_f(m['benign_any_label'], True)} ({m['benign_any_label_n']}/{m['benign']})"
              f"{_mark(m['benign_any_label'] <= 0.005)} | "
              f"{_f(m['unseen_any_label'], True)} ({m['unseen_any_label_n']}/{m['unseen_benign']})"
              f"{_mark(m['unseen_any_label'] <= 0.005)} | {m['one_post_labels']}{_mark(m['one_post_labels'] == 0)} | "
              f"{_f(m['wrong_extra_rate'], True)} ({m['wrong_extra']}/{m['caught']}; +{m['unjudged_extra']} unjudged) | "
              f"{_f(m['benign_review'], True)} |")
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-benign", type=int, default=6000)
    p.add_argument("--n-offending", type=int, default=4000)
    p.add_argument("--seed", type=int, default=2)
    p.add_argument("--model", default="default", help="bundle name, or a directory (trusted: your own)")
    p.add_argument("--reuse-latest", action="store_true",
                   help="use the newest cached held-out scores even if the text model's data/parameters changed")
    p.add_argument("--external", type=int, default=1, help="1: add the report-only external_dev section")
    p.add_argument("--json", default=str(ROOT / "benchmarks" / "out" / "accounts_quality.json"))
    a = p.parse_args(argv)
    clf = cleanclf.load(Path(a.model), trust=True) if "/" in a.model else cleanclf.load(a.model)
    thresholds = clf.thresholds
    shipped = clf.account_params
    t0 = time.monotonic()
    rows, scores, info = default_heldout(clf.manifest["components"]["text"], cache_dir=ROOT / "benchmarks" / "out" / "heldout",
                                         disguise=perturb.perturb, reuse_latest=a.reuse_latest, verbose=True)
    half = [r for r in rows if split_half(r["text"]) == 1]
    sims = simulate_accounts(half, scores, n_benign=a.n_benign, n_offending=a.n_offending, seed=a.seed)
    table = rule_inputs_table(sims, scores, thresholds)
    m = AccountModel(shipped, thresholds)
    rule_txt = ", ".join(f"{c}: >= {m.params['min_posts'][c]} flagged, share >= {m.params['min_share'][c]:.0%}"
                         f"{' (support: ' + '/'.join(m.params['support'][c]) + ')' if m.params['support'][c] else ''}"
                         for c in TEXT_CATEGORIES)
    print(f"{dt.date.today().isoformat()}; model {clf.model_id}; post thresholds "
          f"{ {c: round(thresholds[c], 4) for c in TEXT_CATEGORIES} }; held-out scores: {info.get('cache', 'fresh/cached by key')}"
          f"{' (STALE: fitted for training fingerprint ' + str(info.get('cached_fingerprint')) + ')' if info.get('stale') else ''}")
    print(f"{len(sims)} simulated accounts from half 1 ({a.n_benign} benign, {a.n_offending} offending with 1-30 "
          f"offending posts); shipped rule: {rule_txt}")
    rules = {"shipped": shipped, ">= 3 flagged posts": count_rule(3), ">= 5 flagged posts": count_rule(5)}
    results = {"held_out": rules_table("Held-out post scores (half 1)", rules, sims, table, thresholds)}

    ship = results["held_out"]["shipped"]
    print("\n### Borderline band, shipped rule (offending accounts with 1-4 offending posts)\n")
    print("| category | k | accounts | label | review | clear |")
    print("|---|---:|---:|---:|---:|---:|")
    for c in TEXT_CATEGORIES:
        for k, b in ship["per_category"][c]["borderline"].items():
            print(f"| {c} | {k} | {b['n']} | {b['label']:.2f} | {b['review']:.2f} | {b['clear']:.2f} |")
    print("\n### Benign personas, shipped rule\n")
    print("| persona | accounts | any label | review band | every post from a held-out source |")
    print("|---|---:|---:|---:|---|")
    for name, d in ship["by_persona"].items():
        print(f"| {name} | {d['n']} | {d['any_label']} | {d['review']} | {'yes' if d['unseen_source'] else 'no'} |")

    if a.external and EXTERNAL.is_file():
        with open(EXTERNAL, encoding="utf-8") as fh:
            ext_rows = [json.loads(line) for line in fh]
        ext = external_accounts(ext_rows, n_benign=400, n_offending=400, seed=a.seed)
        verdicts = list(cleanclf.score_accounts([acc for acc, _ in ext], model=clf, jobs=1, posts="none"))
        texts = sorted({p.text for acc, _ in ext for p in acc.posts if p.text})
        res = dict(zip(texts, clf.score_texts(texts)))
        mm = AccountModel(None, thresholds)
        ext_table = [mm.rule_inputs(acc, [res[p.text] if p.text else None for p in acc.posts], None, None)
                     for acc, _ in ext]
        print("\n### Report only: accounts from external_dev.jsonl (ChineseHarm-bench, CC BY-NC; never used to choose)\n")
        print(f"{sum(1 for _, mt in ext if mt['kind'] == 'benign')} benign accounts (3-30 posts of one negative class: "
              "gambling, fraud, abuse, or sexual-class posts the rubric judged negative), "
              f"{sum(1 for _, mt in ext if mt['kind'] != 'benign')} offending (5-20 positive posts + 0-k negatives); "
              f"post scores from the shipped text model (it never saw this platform).\n")
        print("| rule | explicit_text recall | solicitation recall | benign with any label | "
              "benign in review band | wrong extra category |")
        print("|---|---:|---:|---:|---:|---:|")
        ext_out = {}
        for name, params in rules.items():
            dec = decisions_table(params, ext_table, thresholds)
            if name == "shipped":  # the end-to-end verdicts must agree with the rule applied to the same scores
                assert [v["labels"] for v in verdicts] == [[c for c in TEXT_CATEGORIES if d[c]["label"]] for d in dec]
            ben = [i for i, (_, mt) in enumerate(ext) if mt["kind"] == "benign"]
            rec = {}
            for c in TEXT_CATEGORIES:
                ix = [i for i, (_, mt) in enumerate(ext) if mt["kind"] == c]
                rec[c] = sum(dec[i][c]["label"] for i in ix) / len(ix) if ix else float("nan")
            fp = sum(any(d["label"] for d in dec[i].values()) for i in ben)
            rv = sum(any(d["band"] == "review" for d in dec[i].values()) and not any(d["label"] for d in dec[i].values())
                     for i in ben)
            caught = [i for i, (_, mt) in enumerate(ext) if mt["kind"] != "benign" and dec[i][mt["kind"]]["label"]]
            wrong = [i for i in caught if any(dec[i][c]["label"] and ext[i][1]["truth"][c] < 2
                                              for c in TEXT_CATEGORIES if c != ext[i][1]["kind"])]
            ext_out[name] = {"recall": rec, "benign_any_label": fp / len(ben), "benign_review": rv / len(ben),
                             "wrong_extra": len(wrong), "caught": len(caught)}
            print(f"| {name} | {_f(rec['explicit_text'])} | {_f(rec['solicitation'])} | {fp}/{len(ben)} | "
                  f"{rv}/{len(ben)} | {len(wrong)}/{len(caught)} |")
        negs: dict[str, list[int]] = {}
        for i, (_, mt) in enumerate(ext):
            if mt["kind"] == "benign":
                negs.setdefault(mt["persona"], []).append(i)
        dec = decisions_table(shipped, ext_table, thresholds)
        print("\nshipped rule, benign accounts by negative class: " + "; ".join(
            f"{k} {sum(any(d['label'] for d in dec[i].values()) for i in ix)}/{len(ix)} labelled"
            for k, ix in sorted(negs.items())))
        results["external_report_only"] = ext_out
    print(f"\n({time.monotonic() - t0:.0f}s)")
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps({"model": clf.model_id, "date": dt.date.today().isoformat(),
                                        "shipped": shipped, "results": results}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
