"""What the repository's own synthetic rows (training/synthetic.jsonl) buy, measured on real data only.

    .venv/bin/python benchmarks/bench_synthetic_coverage.py [--sources backpage-escort-ads,uci-sms-spam,sms800k]

The rows cover two patterns the shared data lacks: short English escort / hook-up ads in a social-media
voice, and legitimate door-to-door service ads (the "上门服务" repair sense) with a phone number. They are
never evaluation data. So, for each real source below, the text model is fitted twice on train.jsonl +
the shared synthetic.jsonl *without that source* (thresholds from dev without it): once without and once
with the repository rows, and both are tested on every row of the held-out source (train + dev):

* backpage-escort-ads: real English escort ads (solicitation recall);
* uci-sms-spam: real English SMS, a few premium sex-chat / hook-up spam (solicitation and explicit F1);
* sms800k: real Chinese SMS incl. legitimate 上门服务 / 维修 ads (false positives on its benign rows, and on
  the benign rows that mention a door-to-door service).

Plus the full fit (nothing held out) with and without them: dev F1 and hard-negative FPR, so that a gain
in coverage is not paid for on the main benchmark. Writes benchmarks/out/synthetic_coverage.json.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from cleanclf.metrics import evaluate_rows
from cleanclf.training import OWN_ROWS_DIR, find_data_dir, fit_text_model, read_posts

SOURCES = ("backpage-escort-ads", "uci-sms-spam", "sms800k")
#: benign sms800k rows that advertise a door-to-door / repair service: the hard negatives the rows target
SERVICE = re.compile(r"上门|维修|安装|清洗|开锁|疏通|回收")


def fit_pair(train_rows, dev_rows, extra, lexicons):
    out = {}
    for name, rows in (("without", train_rows), ("with", train_rows + extra)):
        t0 = time.perf_counter()
        out[name] = fit_text_model(rows, dev_rows=dev_rows, lexicons=lexicons)  # the shipped recipe
        print(f"  fitted {name} the repository rows ({len(rows)} rows) in {time.perf_counter() - t0:.0f}s", flush=True)
    return out


def summary(ev: dict) -> dict:
    cats = {c: {k: ev["categories"][c][k] for k in ("n", "positives", "precision", "recall", "f1")}
            for c in ev["categories"]}
    return {"categories": cats, "hard_negatives": ev.get("hard_negatives", {}).get("overall")}


def benign_fp(rows, preds, thresholds, mask) -> dict:
    idx = [i for i, r in enumerate(rows) if mask(r) and all(r[c] in (0, None) for c in thresholds)
           and any(r[c] == 0 for c in thresholds)]
    fp = [i for i in idx if any(preds[i].get(c, 0) >= t for c, t in thresholds.items())]
    return {"n": len(idx), "fp": len(fp), "examples": [rows[i]["text"][:60] for i in fp[:5]]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", default=",".join(SOURCES))
    ap.add_argument("--no-full", action="store_true", help="skip the full fit (dev figures)")
    args = ap.parse_args(argv)
    data = find_data_dir() or next((p for p in [Path(__file__).resolve().parents[2] / "shared" / "data"]
                                     if (p / "text" / "train.jsonl").is_file()), None)
    extra_path = OWN_ROWS_DIR / "synthetic.jsonl"
    if data is None:
        print("needs $CLEANCLF_DATA or ../shared/data beside the checkout", file=sys.stderr)
        return 2
    text = data / "text"
    extra = read_posts(extra_path)
    shared = [text / "train.jsonl", text / "synthetic.jsonl"]
    result: dict = {"repo_rows": len(extra), "held_out": {}}
    for held in [s for s in args.sources.split(",") if s]:
        train_rows = read_posts(shared, exclude_sources=(held,))
        dev_rows = read_posts(text / "dev.jsonl", exclude_sources=(held,))
        test = [r for r in read_posts([text / "train.jsonl", text / "dev.jsonl"]) if r["source"].startswith(held)]
        print(f"held out {held}: test on {len(test)} rows", flush=True)
        res = {}
        for name, model in fit_pair(train_rows, dev_rows, extra, data / "lexicons").items():
            preds = model.score_texts([r["text"] for r in test])
            ev = evaluate_rows(test, preds, model.thresholds)
            res[name] = {**summary(ev), "thresholds": model.thresholds,
                         "benign_fp": benign_fp(test, preds, model.thresholds, lambda r: True),
                         "benign_service_fp": benign_fp(test, preds, model.thresholds,
                                                        lambda r: bool(SERVICE.search(r["text"])))}
        result["held_out"][held] = res
        for name, r in res.items():
            cats = " ".join(f"{c}: P {v['precision']:.3f} R {v['recall']:.3f} F1 {v['f1']:.3f} ({v['positives']} pos)"
                            for c, v in r["categories"].items() if v["positives"])
            print(f"  {name:7s} {cats}; benign FP {r['benign_fp']['fp']}/{r['benign_fp']['n']}, "
                  f"service-ad FP {r['benign_service_fp']['fp']}/{r['benign_service_fp']['n']}", flush=True)
    if not args.no_full:
        train_rows, dev_rows = read_posts(shared), read_posts(text / "dev.jsonl")
        print(f"full fit: dev {len(dev_rows)} rows", flush=True)
        result["full"] = {}
        for name, model in fit_pair(train_rows, dev_rows, extra, data / "lexicons").items():
            preds = model.score_texts([r["text"] for r in dev_rows])
            ev = evaluate_rows(dev_rows, preds, model.thresholds)
            result["full"][name] = {**summary(ev), "thresholds": model.thresholds,
                                    "by_source": {s: ev["by_source"][s] for s in ("uci-sms-spam", "backpage-escort-ads")
                                                  if s in ev["by_source"]},
                                    "uci_benign_fp": benign_fp(dev_rows, preds, model.thresholds,
                                                               lambda r: r["source"] == "uci-sms-spam"),
                                    "sms800k_service_fp": benign_fp(dev_rows, preds, model.thresholds,
                                                                    lambda r: r["source"] == "sms800k"
                                                                    and bool(SERVICE.search(r["text"])))}
            c = result["full"][name]["categories"]
            hn = result["full"][name]["hard_negatives"]
            print(f"  {name:7s} dev F1 explicit {c['explicit_text']['f1']:.3f} solicitation {c['solicitation']['f1']:.3f}; "
                  f"hard-negative FP {hn['fp']}/{hn['n']}; uci benign FP {result['full'][name]['uci_benign_fp']['fp']}/"
                  f"{result['full'][name]['uci_benign_fp']['n']}", flush=True)
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    (out / "synthetic_coverage.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
