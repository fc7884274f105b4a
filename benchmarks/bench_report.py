"""How the review report scales: build time, file size per account, and in headless Chromium the
time to first render and to filter the queue, for 1 000 and 10 000 flagged accounts.

Synthetic verdicts (the shape ``cleanclf score --posts all`` writes: rule, post and contact
evidence with spans, six posts) and the matching dump, so that texts come from the dump as in
real use. Needs jinja2, playwright and Debian's chromium (``/usr/bin/chromium``).

    python benchmarks/bench_report.py --sizes 1000,10000 [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

from cleanclf.report import build_report

CATS = ("lewd_images", "explicit_text", "solicitation")
PHRASES = ["同城上门 包夜 加薇 vx_test{n:05d}", "全套服务 看主页 555-01{m:02d}", "新到学妹 楼凤 qq 10{n:05d}",
           "今天天气不错 出去走走", "outcall available tonight, text 555-01{m:02d}", "卖片 资源群 加 vx_test{n:05d}"]


def synth(n: int, d: Path) -> tuple[Path, Path]:
    """``n`` flagged accounts (every 50th escalated, every 7th explicit_text, every 5th only in review)."""
    vs, dump = d / f"verdicts-{n}.jsonl", d / f"dump-{n}.jsonl"
    with open(vs, "w", encoding="utf-8") as fv, open(dump, "w", encoding="utf-8") as fd:
        for i in range(n):
            aid = f"acct-{i:06d}"
            cat = "explicit_text" if i % 7 == 0 else "solicitation"
            band = "review" if i % 5 == 0 else "label"
            posts = [{"id": f"{aid}-p{j}", "text": PHRASES[j % len(PHRASES)].format(n=i, m=i % 100)} for j in range(6)]
            fd.write(json.dumps({"account_id": aid, "profile": {"nickname": f"同城{i}", "bio": "看名字"},
                                 "posts": posts}, ensure_ascii=False) + "\n")
            ev = [{"kind": "rule", "category": cat, "decision": band, "reason": f"{band}: 4 of 6 posts flagged"}]
            for p in posts[:3]:
                ev.append({"kind": "post", "category": cat, "post_id": p["id"], "score": 0.95, "categories": {cat: 0.95},
                           "terms": [{"kind": "term", "term": p["text"][:2], "text": p["text"][:2], "span": [0, 2]},
                                     {"kind": "ngram", "ngram": p["text"][3:5], "text": p["text"][3:5], "span": [3, 5],
                                      "category": cat, "weight": 1.2}],
                           "excerpt": p["text"], "excerpt_offset": 0})
            ev.append({"kind": "contact", "type": "wechat", "value": f"vx_test{i:05d}", "in_profile": False, "count": 2,
                       "post_ids": [posts[0]["id"], posts[5]["id"]], "in_flagged_post": True})
            score = round(0.5 + 0.5 * ((i * 7919) % 1000) / 1000, 6)
            fv.write(json.dumps({
                "account_id": aid, "labels": [cat] if band == "label" else [],
                "scores": {c: (score if c == cat else 0.01) for c in CATS},
                "counts": {"posts": 6, "posts_with_text": 6, "images": 0, "flagged": {c: 4 * (c == cat) for c in CATS},
                           "flagged_images": 0, "repeated_contact_posts": 2, "escalated_posts": int(i % 50 == 0), "errors": 0},
                "escalate": i % 50 == 0, "review": band == "review",
                "bands": {c: (band if c == cat else "clear") for c in CATS}, "evidence": ev,
                "posts": [{"id": p["id"], "scores": {c: (0.9 if j < 4 and c == cat else 0.02) for c in CATS},
                           "labels": [cat] if j < 4 else [], "escalate": False, "truncated": False, "errors": []}
                          for j, p in enumerate(posts)],
                "model": "default@0.6.0", "error": None}, ensure_ascii=False) + "\n")
    return vs, dump


def measure_browser(html: Path, repeat: int) -> dict:
    from playwright.sync_api import sync_playwright

    out: dict = {"first_render_ms": [], "filter_ms": [], "search_ms": [], "account_ms": []}
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for _ in range(repeat):
            ctx = b.new_context()
            page = ctx.new_page()
            page.goto(html.resolve().as_uri() + "#queue")
            page.wait_for_selector("html[data-ready='1']")
            nav = page.evaluate("performance.getEntriesByType('navigation')[0].toJSON()")
            out["first_render_ms"].append(nav["domContentLoadedEventEnd"])
            out["filter_ms"].append(page.evaluate("""() => { const t = performance.now();
                const s = document.getElementById('f-cat'); s.value = 'explicit_text'; s.dispatchEvent(new Event('change'));
                return performance.now() - t; }"""))
            out["search_ms"].append(page.evaluate("""() => { const t = performance.now();
                const q = document.getElementById('f-q'); q.value = 'vx_test00042'; q.dispatchEvent(new Event('input'));
                return performance.now() - t; }"""))
            out["account_ms"].append(page.evaluate("""() => new Promise(r => { const t = performance.now();
                window.addEventListener('hashchange', () => r(performance.now() - t), {once: true});
                location.hash = '#account/' + (JSON.parse(document.getElementById('meta').textContent).queued - 1); })"""))
            ctx.close()
        b.close()
    return {k: statistics.median(v) for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for n in map(int, args.sizes.split(",")):
            vs, dump = synth(n, d)
            html = d / f"report-{n}.html"
            t = time.perf_counter()
            res = build_report(vs, html, dump=dump, thresholds={"explicit_text": 0.54, "solicitation": 0.49})
            build_s = time.perf_counter() - t
            m = measure_browser(html, args.repeat)
            rows.append({"accounts": n, "build_s": build_s, "mb": res["bytes"] / 1e6,
                         "kb_per_account": res["bytes"] / 1e3 / n, **m})
    print(f"# {time.strftime('%Y-%m-%d')}, {platform.python_version()}, median of {args.repeat} page loads")
    print("| accounts | build (s) | file (MB) | kB / account | first render (ms) | filter by category (ms) | "
          "search (ms) | open account (ms) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['accounts']:,} | {r['build_s']:.2f} | {r['mb']:.1f} | {r['kb_per_account']:.2f} | "
              f"{r['first_render_ms']:.0f} | {r['filter_ms']:.1f} | {r['search_ms']:.1f} | {r['account_ms']:.1f} |")


if __name__ == "__main__":
    main()
