"""Frozen adversarial disguise suite: cleanclf (black box) against benchmarks/adversary.py.

    PYTHONPATH=src CLEANCLF_MODELS=models .venv/bin/python benchmarks/bench_adversary.py
    ... benchmarks/bench_adversary.py --limit 300      # quick: 300 positives + 300 hard negatives

Rows (``--split dev``: ../shared/data/text/dev.jsonl minus the frozen test split; ``--split test``: the
frozen test split of train + dev): every row positive for explicit_text or solicitation,
plus the hard negatives (rows of cleanclf.metrics.HARD_NEGATIVE_SOURCES labelled 0 for a category
and 1 for none: medical questions, sms800k incl. legitimate 上门 repair ads and 小姐 = Ms.,
reviews, qq-group 加我 ads, bilibili euphemism look-alikes). external_dev is never read.

For every family of adversary.py (and ``mixed``) each row gets one disguised copy, seeded by
(--seed, family, row id). Clean and disguised texts are scored with ``cleanclf.load().score_texts``
and the model's own ``labels`` decide. Reported per category and family: recall kept (of the
positives caught clean, the share still caught disguised; also among those the family changed),
F1 clean vs disguised on these rows and the drop, and false positives on disguised hard
negatives. "all" pools every family's copies. Writes benchmarks/out/adversary[-limitN].json and
prints Markdown. The generator's hash must equal GENERATOR_SHA256 (frozen; exit 2 otherwise).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import adversary  # noqa: E402

#: sha256 of benchmarks/adversary.py as frozen. Change only together with adversary.VERSION, with a reason.
GENERATOR_SHA256 = "ce02eeb65f11c0c0ff7ed3c201744801643d571d6871a0c725ffea3c4aee7145"
GENERATOR_PATH = HERE / "adversary.py"
CATS = ("explicit_text", "solicitation")
FAMILY_NAMES = list(adversary.ALL)  # ten families + mixed
TARGET_DROP_OVERALL, TARGET_DROP_FAMILY, TARGET_HN_FPR = 0.03, 0.05, 0.005
DEFAULT_DATA = HERE.parents[1] / "shared" / "data" / "text"


def generator_sha256() -> str:
    return hashlib.sha256(GENERATOR_PATH.read_bytes()).hexdigest()


def load_rows(data_dir: Path, limit: int | None, seed: int, split: str = "dev") -> tuple[list[dict], list[bool]]:
    """(rows, is_hard_negative): positives in either category, then hard negatives.

    ``split``: ``"dev"`` = dev.jsonl minus the frozen test split (where normaliser work is measured);
    ``"test"`` = the frozen test split (whole near-duplicate groups of train + dev that no fit,
    threshold or model choice sees: the held-out figure); ``"dev-all"`` = all of dev.jsonl (the
    first recorded runs)."""
    from cleanclf.metrics import hard_negative_group
    from cleanclf.training.data import in_frozen_test, iter_rows

    if split == "test":
        paths = [data_dir / "train.jsonl", data_dir / "dev.jsonl"]
    else:
        paths = [data_dir / "dev.jsonl"]
    pos, hn = [], []
    for path in paths:
        for r in iter_rows(path):
            if split != "dev-all" and in_frozen_test(r) != (split == "test"):
                continue
            labels = [r.get(c) for c in CATS]
            if any(v == 1 for v in labels):
                pos.append(r)
            elif hard_negative_group(r.get("source")) and any(v == 0 for v in labels):
                hn.append(r)
    if limit:
        rng = random.Random(f"{seed}:limit")
        pos = sorted(rng.sample(pos, min(limit, len(pos))), key=lambda r: r["id"])
        hn = sorted(rng.sample(hn, min(limit, len(hn))), key=lambda r: r["id"])
    return pos + hn, [False] * len(pos) + [True] * len(hn)


def prf(y: list[int], fired: list[bool]) -> dict:
    tp = sum(1 for a, b in zip(y, fired) if a == 1 and b)
    fp = sum(1 for a, b in zip(y, fired) if a == 0 and b)
    fn = sum(1 for a, b in zip(y, fired) if a == 1 and not b)
    p = tp / (tp + fp) if tp + fp else 0.0
    rc = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * rc / (p + rc) if p + rc else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": round(p, 4), "recall": round(rc, 4), "f1": round(f1, 4)}


def fired_sets(clf, texts: list[str], batch: int = 2000) -> list[set]:
    out: list[set] = []
    for i in range(0, len(texts), batch):
        for d in clf.score_texts(texts[i:i + batch]):
            out.append(set(d.get("labels", [])) if "error" not in d else set())
    return out


def evaluate(rows, is_hn, clean_f, disg_f, changed) -> dict:
    """Metrics of one disguised copy set against the clean predictions (lists may be pooled copies)."""
    res: dict = {"changed_rows": sum(changed), "n_rows": len(rows)}
    for c in CATS:
        idx = [i for i, r in enumerate(rows) if r.get(c) is not None]
        y = [rows[i][c] for i in idx]
        clean = prf(y, [c in clean_f[i] for i in idx])
        disg = prf(y, [c in disg_f[i] for i in idx])
        caught = [i for i in idx if rows[i][c] == 1 and c in clean_f[i]]
        kept = sum(1 for i in caught if c in disg_f[i])
        caught_ch = [i for i in caught if changed[i]]
        kept_ch = sum(1 for i in caught_ch if c in disg_f[i])
        res[c] = {"clean": clean, "disguised": disg, "f1_drop": round(clean["f1"] - disg["f1"], 4),
                  "caught_clean": len(caught), "kept": kept,
                  "recall_kept": round(kept / len(caught), 4) if caught else None,
                  "caught_clean_changed": len(caught_ch), "kept_changed": kept_ch,
                  "recall_kept_changed": round(kept_ch / len(caught_ch), 4) if caught_ch else None}
    hn = [i for i in range(len(rows)) if is_hn[i]]
    fp_d = [i for i in hn if disg_f[i] & {c for c in CATS if rows[i].get(c) == 0}]
    fp_c = [i for i in hn if clean_f[i] & {c for c in CATS if rows[i].get(c) == 0}]
    res["hard_negatives"] = {"n": len(hn), "changed": sum(1 for i in hn if changed[i]),
                             "fp_clean": len(fp_c), "fp": len(fp_d),
                             "fpr": round(len(fp_d) / len(hn), 5) if hn else None,
                             "new_fp_ids": sorted({rows[i]["id"] for i in fp_d} - {rows[i]["id"] for i in fp_c})[:50]}
    return res


def verdict(fam: str, r: dict) -> str:
    lim = TARGET_DROP_OVERALL if fam == "all" else TARGET_DROP_FAMILY
    ok = all(r[c]["f1_drop"] <= lim for c in CATS) and (r["hard_negatives"]["fpr"] or 0) <= TARGET_HN_FPR
    return "pass" if ok else "MISS"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--limit", type=int, default=None, help="at most N positives and N hard negatives")
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--split", choices=("dev", "test", "dev-all"), default="dev",
                    help="dev minus the frozen test split (default), the frozen test split, or all of dev")
    ap.add_argument("--model", default="default")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--allow-unfrozen", action="store_true", help="run even if adversary.py changed (figures not comparable)")
    a = ap.parse_args(argv)

    sha = generator_sha256()
    frozen = sha == GENERATOR_SHA256
    if not frozen:
        print(f"adversary.py sha256 {sha} != frozen {GENERATOR_SHA256}: the generator was edited", file=sys.stderr)
        if not a.allow_unfrozen:
            return 2
    if not (a.data / "dev.jsonl").exists():
        print(f"no {a.data / 'dev.jsonl'}: see DATA.md", file=sys.stderr)
        return 1

    import cleanclf

    t0 = time.time()
    clf = cleanclf.load(a.model, trust=a.model != "default")
    rows, is_hn = load_rows(a.data, a.limit, a.seed, a.split)
    texts = [r["text"] for r in rows]
    clean_f = fired_sets(clf, texts)
    t_gen = 0.0
    results: dict = {}
    pooled = {"rows": [], "hn": [], "clean": [], "disg": [], "changed": []}
    for fam in FAMILY_NAMES:
        tg = time.time()
        disg = [adversary.disguise(r["text"], fam, a.seed, r["id"]) for r in rows]
        t_gen += time.time() - tg
        changed = [d != t for d, t in zip(disg, texts)]
        disg_f = fired_sets(clf, disg)
        results[fam] = evaluate(rows, is_hn, clean_f, disg_f, changed)
        for k, v in (("rows", rows), ("hn", is_hn), ("clean", clean_f), ("disg", disg_f), ("changed", changed)):
            pooled[k] += v
    results["all"] = evaluate(pooled["rows"], pooled["hn"], pooled["clean"], pooled["disg"], pooled["changed"])
    results["all"]["hard_negatives"]["new_fp_ids"] = []  # ids repeat across copies: see the families
    runtime = time.time() - t0

    model_id = getattr(clf, "model_id", a.model)
    n_pos = {c: sum(1 for r in rows if r.get(c) == 1) for c in CATS}
    out = {
        "suite": "adversary", "generated": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "generator": {"version": adversary.VERSION, "sha256": sha, "frozen_sha256": GENERATOR_SHA256,
                      "frozen": frozen},
        "model": model_id, "seed": a.seed, "limit": a.limit, "split": a.split,
        "n_rows": len(rows), "n_positive": n_pos, "n_hard_negative": sum(is_hn),
        "targets": {"f1_drop_overall": TARGET_DROP_OVERALL, "f1_drop_family": TARGET_DROP_FAMILY,
                    "hard_negative_fpr": TARGET_HN_FPR},
        "results": results, "runtime_s": round(runtime, 1), "generation_s": round(t_gen, 1),
        "command": "python benchmarks/bench_adversary.py" + (f" --limit {a.limit}" if a.limit else "")
        + (f" --seed {a.seed}" if a.seed != 21 else ""),
    }
    suffix = ("" if a.split == "dev" else f"-{a.split}") + (f"-limit{a.limit}" if a.limit else "")
    path = a.out or HERE / "out" / f"adversary{suffix}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")

    print(f"model {model_id}; generator v{adversary.VERSION} sha256 {sha[:16]} ({'frozen' if frozen else 'NOT FROZEN'}); "
          f"seed {a.seed}; rows {len(rows)} (positives explicit {n_pos['explicit_text']}, solicitation "
          f"{n_pos['solicitation']}; hard negatives {sum(is_hn)}); {runtime:.0f} s\n")
    c0 = results["separator"]
    print("clean F1: " + ", ".join(f"{c} {c0[c]['clean']['f1']:.3f} (P {c0[c]['clean']['precision']:.3f}, "
                                   f"R {c0[c]['clean']['recall']:.3f})" for c in CATS)
          + f"; hard-negative FP clean {c0['hard_negatives']['fp_clean']}/{c0['hard_negatives']['n']}\n")
    print("| family | rows changed | explicit: kept (changed) | explicit F1 (drop) | solicitation: kept (changed) "
          "| solicitation F1 (drop) | hard-neg FP disguised | target |")
    print("|---|---|---|---|---|---|---|---|")
    for fam in FAMILY_NAMES + ["all"]:
        r = results[fam]
        cells = []
        for c in CATS:
            x = r[c]
            kc = "-" if x["recall_kept_changed"] is None else f"{x['recall_kept_changed']:.3f}"
            cells.append(f"{x['recall_kept']:.3f} ({kc}, n={x['caught_clean_changed']})")
            cells.append(f"{x['disguised']['f1']:.3f} ({x['f1_drop']:+.3f})")
        hn = r["hard_negatives"]
        print(f"| {fam} | {r['changed_rows']}/{r['n_rows']} | " + " | ".join(cells)
              + f" | {hn['fp']}/{hn['n']} = {100 * hn['fpr']:.2f} % | {verdict(fam, r)} |")
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
