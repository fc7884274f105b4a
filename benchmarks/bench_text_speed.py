"""Text scoring speed: posts/s of ``clf.score_texts`` against ``jieba.lcut`` alone, same posts, one run.

    .venv/bin/python benchmarks/bench_text_speed.py                 # cleanclf vs jieba (target >= 1.0x)
    .venv/bin/python benchmarks/bench_text_speed.py --model tfidf-lr # a baseline instead of cleanclf

Posts: the first 30k texts of train.jsonl plus all of dev.jsonl (real posts, their real length mix).
"Cold" means fresh state for both sides: jieba's dictionary is loaded (jieba.initialize()) before any
timing, and cleanclf's result cache is cleared if the model exposes clear_cache(); nothing scored
before. "Warm" scores the very same texts again, so a result cache hits: it is labelled as such and
is not the figure to quote for fresh traffic. The cold figures interleave the two sides batch by
batch (jieba on batch i, then score_texts on batch i) so that load from other processes falls on
both. Writes benchmarks/out/text_speed.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import baselines  # noqa: E402


def clear_caches(model) -> bool:
    """Call clear_cache() on the model or its text component when there is one."""
    cleared = False
    for obj in (model, getattr(model, "text_model", None)):
        fn = getattr(obj, "clear_cache", None)
        if callable(fn):
            fn()
            cleared = True
    return cleared


def time_batches(fn, texts, batch: int) -> float:
    t0 = time.perf_counter()
    for i in range(0, len(texts), batch):
        fn(texts[i:i + batch])
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="cleanclf", choices=("cleanclf", "tfidf-lr", "keyword"))
    ap.add_argument("--cleanclf", default="default",
                    help="bundle name or directory for cleanclf.load, or a .pkl of a fitted TextModel")
    ap.add_argument("--n-train", type=int, default=30_000, help="first N train texts (default 30000)")
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--out", default=None, help="default benchmarks/out/text_speed[-MODEL].json")
    args = ap.parse_args(argv)
    baselines.require_shared_data()
    if args.out is None:
        suffix = "" if args.model == "cleanclf" else f"-{args.model}"
        args.out = str(HERE / "out" / f"text_speed{suffix}.json")

    import jieba

    texts = [r["text"] for r in baselines.read_jsonl(baselines.TRAIN)[: args.n_train]]
    texts += [r["text"] for r in baselines.read_jsonl(baselines.DEV)]
    n_chars = sum(map(len, texts))

    if args.model == "cleanclf":
        from bench_text_quality import load_cleanclf

        model = load_cleanclf(args.cleanclf)
        if model is None:
            raise SystemExit("cleanclf text model not available (see the message above)")
        model_id = getattr(model, "model_id", f"TextModel from {args.cleanclf}")
    elif args.model == "tfidf-lr":
        model = baselines.fit_tfidf(baselines.read_jsonl(baselines.TRAIN), baselines.read_jsonl(baselines.DEV),
                                    cache=HERE / "out" / "tfidf-lr.pkl")
        model_id = "tfidf-lr baseline"
    else:
        model = baselines.KeywordBaseline.from_lexicons()
        model_id = "keyword baseline"

    # Dictionary loads are start-up costs, not per-post costs: pay them before any clock runs.
    jieba.initialize()
    model.score_texts(["预热"])  # lazy model state (e.g. the lexicon automaton) is built here, untimed
    cleared = clear_caches(model)

    # Interleave the two sides batch by batch, so load from other processes on a shared box
    # falls on both alike and the ratio stays meaningful even when absolute figures drift.
    t_jieba = t_cold = 0.0
    for i in range(0, len(texts), args.batch):
        b = texts[i:i + args.batch]
        t0 = time.perf_counter()
        for t in b:
            jieba.lcut(t)
        t1 = time.perf_counter()
        model.score_texts(b)  # first time these texts are seen: cold
        t2 = time.perf_counter()
        t_jieba += t1 - t0
        t_cold += t2 - t1
    t_warm = time_batches(model.score_texts, texts, args.batch)  # same texts again: caches hit

    n = len(texts)
    res = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name] + (argv if argv is not None else sys.argv[1:])),
        "model": model_id, "posts": n, "chars": n_chars, "batch": args.batch, "cache_cleared": cleared,
        "machine": f"{platform.machine()} {platform.python_version()}",
        "load_average_at_end": os.getloadavg()[0],
        "jieba_lcut_posts_per_s": n / t_jieba,
        "cold_posts_per_s": n / t_cold,
        "warm_repeated_texts_posts_per_s": n / t_warm,
        "cold_ratio_vs_jieba": t_jieba / t_cold,
        "warm_ratio_vs_jieba": t_jieba / t_warm,
        "target_ratio": 1.0,
    }
    print(f"{n} posts ({n_chars / n:.0f} chars on average), batches of {args.batch}, model {model_id}")
    print(f"jieba.lcut alone         {res['jieba_lcut_posts_per_s']:10.0f} posts/s")
    print(f"score_texts cold         {res['cold_posts_per_s']:10.0f} posts/s   ratio {res['cold_ratio_vs_jieba']:.2f}x "
          f"({'pass' if res['cold_ratio_vs_jieba'] >= 1.0 else 'MISS'} target >= 1.0x; cache cleared: {cleared})")
    print(f"score_texts warm (repeated texts, cache hits) {res['warm_repeated_texts_posts_per_s']:10.0f} posts/s   "
          f"ratio {res['warm_ratio_vs_jieba']:.2f}x")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1), encoding="utf-8")
    print(f"load average at the end {res['load_average_at_end']:.1f} (absolute posts/s depend on it; "
          "the ratio is interleaved batch by batch)")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
