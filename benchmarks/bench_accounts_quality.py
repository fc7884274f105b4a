"""Account-level quality on simulated accounts from the dev split (half 1; never train, never the calibration half).

    python benchmarks/bench_accounts_quality.py [--n-benign 6000 --n-offending 4000 --jobs 2]

Accounts come from ``cleanclf.accounts.simulate_accounts`` over half 1 of
../shared/data/text/dev.jsonl (``split_half``; calibrate_accounts.py fits on half 0) and
are scored end to end by ``cleanclf.score_accounts`` with the bundled model. Reports per
text category: recall and precision at the bundle's account threshold for accounts with
>= 5 offending posts (precision against benign accounts, at the simulated mix), the best
recall at precision >= 0.98 over all thresholds, benign-account false-positive rate, and
recall for accounts with 1-4 offending posts separately. Targets: recall >= 0.95 at
precision >= 0.98; benign FPR <= 0.5 %.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cleanclf
from cleanclf.accounts import simulate_accounts, split_half

DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "text" / "dev.jsonl"


def recall_at_precision(pos: list[float], neg: list[float], min_precision: float) -> tuple[float, float]:
    """Best recall (and its threshold) with precision >= min_precision."""
    best = (0.0, 1.0)
    for t in sorted(set(pos) | set(neg)):
        tp = sum(s >= t for s in pos)
        fp = sum(s >= t for s in neg)
        if tp and tp / (tp + fp) >= min_precision:
            best = max(best, (tp / len(pos), -t))
    return best[0], -best[1]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-benign", type=int, default=6000)
    p.add_argument("--n-offending", type=int, default=4000)
    p.add_argument("--seed", type=int, default=2)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--model", default="default", help="bundle name, or a directory (trusted: your own)")
    a = p.parse_args(argv)
    with open(DEV, encoding="utf-8") as fh:
        rows = [r for r in map(json.loads, fh) if split_half(r["text"]) == 1]
    sims = simulate_accounts(rows, n_benign=a.n_benign, n_offending=a.n_offending, seed=a.seed)
    clf = cleanclf.load(Path(a.model), trust=True) if "/" in a.model else cleanclf.load(a.model)
    t0 = time.monotonic()
    verdicts = list(cleanclf.score_accounts([acc for acc, _ in sims], model=clf, jobs=a.jobs, posts="none"))
    dt = time.monotonic() - t0
    metas = [m for _, m in sims]
    benign = [v for v, m in zip(verdicts, metas) if m["kind"] == "benign"]
    errors = sum(v["error"] is not None for v in verdicts)
    fpr_any = sum(bool(v["labels"]) for v in benign) / len(benign)
    print(f"model {clf.model_id}; {len(verdicts)} simulated accounts scored in {dt:.0f}s ({errors} errors); "
          f"{len(benign)} benign, offending {a.n_offending} (1-30 offending posts each)\n")
    print("| category | accounts >=5 | recall@thr | precision@thr | best recall @P>=0.98 (thr) | benign FPR | "
          "recall k=1 | k=2 | k=3 | k=4 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in ("explicit_text", "solicitation"):
        ge5 = [v for v, m in zip(verdicts, metas) if m["kind"] == c and m["k"] >= 5]
        tp = sum(c in v["labels"] for v in ge5)
        fp = sum(c in v["labels"] for v in benign)
        rec = tp / len(ge5)
        prec = tp / (tp + fp) if tp + fp else 1.0
        best, thr = recall_at_precision([v["scores"][c] for v in ge5], [v["scores"][c] for v in benign], 0.98)
        small = []
        for k in (1, 2, 3, 4):
            vs = [v for v, m in zip(verdicts, metas) if m["kind"] == c and m["k"] == k]
            small.append(f"{sum(c in v['labels'] for v in vs) / len(vs):.2f} (n={len(vs)})" if vs else "-")
        print(f"| {c} | {len(ge5)} | {rec:.3f} | {prec:.4f} | {best:.3f} ({thr:.3f}) | {fp / len(benign):.4f} | "
              + " | ".join(small) + " |")
    print(f"\nbenign accounts with any label: {fpr_any:.4%} (target <= 0.5 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
