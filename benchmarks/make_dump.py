"""Build a synthetic account dump of N accounts from the shared posts (text only), deterministically.

    python benchmarks/make_dump.py 100000 -o benchmarks/out/dump-100k.jsonl [--seed 0] [--split train,dev,synthetic]

Each account gets 1-40 posts (geometric, mean ~8) drawn from the shared corpus; ~8% of
accounts are "offending" (most posts drawn from the explicit_text or solicitation
positives), the rest draw from everything. Nicknames/bios are short benign or positive
texts. Output is JSONL (``.jsonl.gz`` compresses), written as it is generated: memory holds
the post pool only. For speed and memory benchmarks, not for quality (see
bench_accounts_quality.py, which uses the dev split only).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "text"


def load_pools(splits: list[str]) -> dict[str, list[str]]:
    pools: dict[str, list[str]] = {"all": [], "explicit_text": [], "solicitation": []}
    for split in splits:
        path = DATA / f"{split}.jsonl"
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                text = row["text"]
                pools["all"].append(text)
                for c in ("explicit_text", "solicitation"):
                    if row.get(c) == 1:
                        pools[c].append(text)
    return pools


def accounts(n: int, pools: dict[str, list[str]], seed: int = 0):
    rng = random.Random(seed)
    for i in range(n):
        k = min(40, 1 + int(rng.expovariate(1 / 7)))
        bad = rng.random() < 0.08
        cat = rng.choice(("explicit_text", "solicitation"))
        posts = []
        for j in range(k):
            pool = pools[cat] if bad and rng.random() < 0.7 else pools["all"]
            posts.append({"id": f"a{i}-p{j}", "text": rng.choice(pool), "images": [],
                          "created_at": f"2024-01-{1 + j % 28:02d}T00:00:00Z"})
        bio = rng.choice(pools[cat])[:60] if bad and rng.random() < 0.3 else rng.choice(pools["all"])[:40]
        yield {"account_id": f"acct-{i:08d}", "profile": {"nickname": f"user{i}", "bio": bio}, "posts": posts}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("n", type=int, help="number of accounts")
    p.add_argument("-o", "--output", required=True, help=".jsonl or .jsonl.gz")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", default="train,dev,synthetic", help="comma-separated shared splits to draw posts from")
    a = p.parse_args(argv)
    pools = load_pools(a.split.split(","))
    out = Path(a.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if out.name.endswith(".gz") else open
    with opener(out, "wt", encoding="utf-8") as fh:
        for rec in accounts(a.n, pools, a.seed):
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"wrote {a.n} accounts to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
