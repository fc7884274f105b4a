"""Fuzz run: many hostile account records through ``cleanclf.score_accounts``.

    python benchmarks/bench_fuzz.py                          # 100k records, jobs 1 and 2
    python benchmarks/bench_fuzz.py --n 20000 --jobs 2 --seed 3

Generates (seeded, deterministic) a JSONL dump mixing valid accounts with hostile lines:
malformed JSON, non-object JSON, missing / non-string / surrogate account ids, posts that
are not a list, texts that are not strings, 2 MB texts, lone surrogates (``\\ud800``
escapes), invalid UTF-8, 100k nested ``[``, duplicate ids, huge numbers, NaN / Infinity,
BOMs, CRLF, blank lines, NUL bytes, hostile image paths (``..``, absolute, symlinks out of
the root, FIFOs, URLs, broken files) and one line over ``MAX_RECORD_BYTES``. Each line
carries what must come out (a verdict or an error record, or nothing for a blank line).

It then streams ``iter_records(dump)`` through ``score_accounts`` and checks, per line:
no exception escapes, outputs == non-blank input lines, order, line numbers of error
records, and that every line expected to be an error is one (and vice versa). Prints a
markdown table (records, crashes, outputs, errors by type, records/s, peak RSS of the
process tree); the figures go into benchmarks/RESULTS-fuzz.md. Sockets are patched to
refuse connections for the whole run, so a fetch attempt would count as a crash.

The model is ``cleanclf.load()`` when the bundled default has a text component; until it
does, a small text model trained on tests/_texts.py joins the default image component.
tests/test_hostile_records.py runs the same generator on ~2k records.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import resource
import socket
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

BLANK, OK, ERROR = "blank", "ok", "error"

_SOLICIT = ["同城上门服务 包夜 加薇 abc123", "楼凤 全套 看名字", "约炮 私聊我 扣扣 1234 5678", "一三八 零零零零 零零零零"]
_EXPLICIT = ["卖片 资源 网址私聊", "福利视频 看片 加群", "麦-P 合集 d9623点com"]
_BENIGN = ["外卖很好吃 送餐很快", "今天天气很好", "空调上门维修 师傅很专业", "game night", "手冲咖啡很香"]
_WEIRD_TEXT = ["\u200b加\u200b薇\u200b", "ＡＢＣ１２３ 加薇", "a点" * 300 + "com", "dot" * 500, "加微信" * 300,
               "\U0001f9cc" * 50, "\u202e反转\u202c", "\x00\x01\x07", "İẞﬀ" * 20, "\r\n\t", " " * 100]


# ---------------------------------------------------------------------------- image fixtures
def make_image_root(root: Path) -> dict[str, list[str]]:
    """Write a few images (good, odd, broken) and hostile paths into ``root``."""
    from PIL import Image

    root.mkdir(parents=True, exist_ok=True)
    (root / "sub").mkdir(exist_ok=True)
    Image.new("RGB", (64, 48), (200, 150, 120)).save(root / "ok.jpg")
    Image.new("RGB", (40, 40), (20, 40, 60)).save(root / "sub" / "png_named.jpg", "PNG")
    Image.new("CMYK", (32, 32), (0, 50, 100, 0)).save(root / "cmyk.jpg")
    (root / "empty.png").write_bytes(b"")
    (root / "text.png").write_text("not an image", encoding="utf-8")
    outside = root.parent / "outside.png"
    Image.new("RGB", (8, 8)).save(outside)
    for name, target in (("link_out.png", outside), ("zero.png", Path("/dev/zero"))):
        if not (root / name).is_symlink():
            os.symlink(target, root / name)
    if not (root / "pipe.png").exists():
        os.mkfifo(root / "pipe.png")
    return {
        "good": ["ok.jpg", "sub/png_named.jpg", "cmyk.jpg"],
        "bad": ["empty.png", "text.png", "missing.jpg", "../outside.png", str(outside), "link_out.png", "zero.png",
                "pipe.png", "http://127.0.0.1:9/x.jpg", "https://example.com/a.png", "file:///etc/passwd",
                "sub/../../outside.png", "/etc/passwd", "a\u0000b.png", "\ud800.png", ""],
    }


# ---------------------------------------------------------------------------- generator
def _dump(obj) -> bytes:
    try:
        return json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: write it as a \ud800 escape, as JSON allows
        return _dump_ascii(obj)


def _dump_ascii(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=True).encode("ascii")  # lone surrogates become \ud800 escapes


def generate(n: int, seed: int = 0, images: dict | None = None, big_every: int = 1000,
             oversized: bool = False):
    """Yield ``(line_bytes_without_newline, expectation, kind, account_id_or_None)``.

    ``expectation`` is OK (a verdict), ERROR (an error record) or BLANK (no output).
    About 60% of lines are valid accounts; the rest cycle through the hostile kinds.
    """
    rng = random.Random(seed)
    imgs = images or {"good": [], "bad": []}

    def text():
        r = rng.random()
        pool = _SOLICIT if r < 0.25 else _EXPLICIT if r < 0.4 else _WEIRD_TEXT if r < 0.5 else _BENIGN
        return rng.choice(pool)

    def posts(k=None):
        out = []
        for j in range(rng.randint(0, 6) if k is None else k):
            p = {"id": f"p{j}", "text": text()}
            if imgs["good"] and rng.random() < 0.1:
                p["images"] = [rng.choice(imgs["good"] + imgs["bad"])]
            if rng.random() < 0.3:
                p["created_at"] = rng.choice(["2024-01-01T00:00:00Z", 1700000000, None, 1.5])
            out.append(p)
        return out

    def valid(aid):
        return {"account_id": aid, "profile": {"nickname": rng.choice(["", "小王", "看名字 加薇 abc123"]),
                                               "bio": rng.choice(["", None, "主页有"])}, "posts": posts()}

    hostile = [
        # (kind, maker) ; maker(i) -> (bytes, expectation, account_id)
        ("malformed_json", lambda i: (rng.choice([b'{"account_id": "x"', b"{oops", b'{"a": 1}}', b"'single'",
                                                  b'{"account_id": "x",}', b"\x00{}"]), ERROR, None)),
        ("non_object_json", lambda i: (rng.choice([b"[]", b'"str"', b"42", b"null", b"true", b"[{}]", b"-0.0"]),
                                       ERROR, None)),
        ("missing_id", lambda i: (_dump({"posts": posts(1)}), ERROR, None)),
        ("bad_id_type", lambda i: (_dump({"account_id": rng.choice([None, "", [1], {"a": 1}, 1.5, True, False]),
                                          "posts": []}), ERROR, None)),
        ("surrogate_id", lambda i: (_dump_ascii({"account_id": f"u{i}\ud800"}), ERROR, None)),
        ("posts_not_list", lambda i: (_dump({"account_id": f"h{i}", "posts": rng.choice(["abc", 5, {"id": 1}, True])}),
                                      ERROR, f"h{i}")),
        ("post_not_object", lambda i: (_dump({"account_id": f"h{i}", "posts": [rng.choice(["t", 1, None, []])]}),
                                       ERROR, f"h{i}")),
        ("text_not_string", lambda i: (_dump({"account_id": f"h{i}", "posts": [{"text": rng.choice([5, [], {}, True,
                                                                                                  1.5])}]}),
                                       ERROR, f"h{i}")),
        ("images_not_strings", lambda i: (_dump({"account_id": f"h{i}", "posts": [{"images": [1, None]}]}), ERROR,
                                          f"h{i}")),
        ("surrogate_text", lambda i: (_dump_ascii({"account_id": f"h{i}", "profile": {"nickname": "\udfff加薇"},
                                                   "posts": [{"id": "p", "text": "包夜\ud800 abc123"}]}), OK, f"h{i}")),
        ("invalid_utf8", lambda i: (b'{"account_id": "h' + str(i).encode() + b'", "posts": [{"text": "\xff\xfe\xc0"}]}',
                                    ERROR, None)),
        ("deep_nesting", lambda i: (rng.choice([b"[" * 100_000, b'{"account_id": "x", "posts": ' + b"[" * 100_000,
                                                b'{"a":' * 50_000]), ERROR, None)),
        ("duplicate_id", lambda i: (_dump(valid("dup")), OK, "dup")),
        ("huge_number_id", lambda i: (rng.choice([b'{"account_id": 1e999}', b'{"account_id": -1e999}',
                                                  b'{"account_id": ' + b"9" * 5000 + b"}"]), ERROR, None)),
        ("big_int_id", lambda i: (b'{"account_id": ' + b"7" * 300 + b"}", OK, "7" * 300)),
        ("nan_inf", lambda i: (rng.choice([(b'{"account_id": NaN}', ERROR, None),
                                           (b'{"account_id": "h%d", "posts": [{"text": Infinity}]}' % i, ERROR, f"h{i}"),
                                           (b'{"account_id": "h%d", "posts": [{"created_at": NaN}]}' % i, OK, f"h{i}")]))),
        ("bom", lambda i: (b"\xef\xbb\xbf" + _dump(valid(f"h{i}")), OK, f"h{i}")),
        ("crlf", lambda i: (_dump(valid(f"h{i}")) + b"\r", OK, f"h{i}")),
        ("blank", lambda i: (rng.choice([b"", b"   ", b"\t", b"\r"]), BLANK, None)),
        ("nul_escape", lambda i: (_dump({"account_id": f"h{i}", "posts": [{"text": "a\u0000b 包夜"}]}), OK, f"h{i}")),
        ("many_posts", lambda i: (_dump({"account_id": f"h{i}", "posts": [{"text": ""}] * 1000}), OK, f"h{i}")),
        ("duplicate_keys", lambda i: (b'{"account_id": "h%d", "account_id": [1]}' % i, ERROR, None)),
        ("hostile_images", lambda i: (_dump_ascii({"account_id": f"h{i}", "posts": [{"id": "p", "images": imgs["bad"]}]}),
                                      OK, f"h{i}")),
    ]
    for i in range(n):
        if big_every and i % big_every == big_every // 2:
            which = rng.random()
            big = "包夜 加薇 abc123 " + rng.choice("好a点 1") * 2_000_000
            rec = ({"account_id": f"big{i}", "posts": [{"text": big}]} if which < 0.7
                   else {"account_id": f"big{i}", "profile": {"nickname": big}})
            yield _dump(rec), OK, f"big{i}", "2mb_text"
            continue
        if rng.random() < 0.6:
            yield _dump(valid(f"v{i}")), OK, f"v{i}", "valid"
            continue
        kind, maker = hostile[rng.randrange(len(hostile))]
        line, expect, aid = maker(i)
        yield line, expect, aid, kind
    if oversized:  # one line over MAX_RECORD_BYTES (64 MiB): rejected unparsed, reading goes on
        from cleanclf.schema import MAX_RECORD_BYTES

        yield b'{"account_id": "over", "x": "' + b"a" * (MAX_RECORD_BYTES + 10) + b'"}', ERROR, None, "oversized_line"
        yield _dump(valid("after-over")), OK, "after-over", "valid"


def write_dump(path: Path, n: int, seed: int = 0, images: dict | None = None, **kw) -> list[tuple]:
    """Write the dump; return per *physical line* ``(line_no, expectation, kind, account_id)``."""
    meta = []
    with open(path, "wb") as fh:
        for k, (line, expect, aid, kind) in enumerate(generate(n, seed, images, **kw), 1):
            fh.write(line + b"\n")
            meta.append((k, expect, kind, aid))
    return meta


# ---------------------------------------------------------------------------- checking
def check(outputs: list[dict], meta: list[tuple]) -> dict:
    """Compare outputs to the per-line expectations; return counts and the list of problems."""
    expected = [m for m in meta if m[1] != BLANK]
    problems = []
    if len(outputs) != len(expected):
        problems.append(f"{len(outputs)} outputs for {len(expected)} non-blank lines")
    errors = collections.Counter()
    for o, (line, expect, kind, aid) in zip(outputs, expected):
        err = o.get("error")
        if err is not None:
            errors[err["type"]] += 1
            if o.get("line") != line:
                problems.append(f"line {line} ({kind}): error record says line {o.get('line')}")
        if expect == ERROR and err is None:
            problems.append(f"line {line} ({kind}): expected an error record, got a verdict")
        if expect == OK and err is not None:
            problems.append(f"line {line} ({kind}): expected a verdict, got {err}")
        if expect == OK and aid is not None and o.get("account_id") != aid:
            problems.append(f"line {line} ({kind}): account_id {o.get('account_id')!r}, expected {aid!r}")
    return {"outputs": len(outputs), "expected": len(expected), "errors": dict(errors), "problems": problems}


class NoNetwork:
    """Context manager: any connect / name lookup raises (and is counted)."""

    def __enter__(self):
        self.attempts = []
        self.saved = (socket.socket.connect, socket.socket.connect_ex, socket.create_connection, socket.getaddrinfo)

        def refuse(*a, **k):
            self.attempts.append(repr(a)[:200])
            raise OSError("cleanclf fuzz: network access attempted")

        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        return self

    def __exit__(self, *exc):
        (socket.socket.connect, socket.socket.connect_ex, socket.create_connection, socket.getaddrinfo) = self.saved


def fuzz_model():
    """The bundled default if it scores text; else a tiny text model + the default image component."""
    import cleanclf
    from cleanclf.classify import Classifier

    clf = cleanclf.load()
    if clf.text_model is not None:
        return clf, clf.model_id
    sys.path.insert(0, str(ROOT / "tests"))
    from _texts import TINY_LEXICONS  # noqa: E402
    from conftest import tiny_rows  # noqa: E402
    from cleanclf.training import fit_text_model

    tm = fit_text_model(tiny_rows(), lexicons=TINY_LEXICONS, cv=2, C=4.0)
    man = dict(clf.manifest, name="fuzz-tiny-text+default-image")
    return Classifier(text_model=tm, image_model=clf.image_model, manifest=man), man["name"]


def _tree_rss_kb(root: int) -> int:
    total = 0
    pids = [root]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if int(Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[1]) == root:
                    pids.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def run(dump: Path, meta: list[tuple], model, *, jobs: int = 1, images_root=None, chunk_size: int = 64) -> dict:
    """Score the dump; return check() results plus crash count, records/s and peak RSS."""
    from cleanclf.batch import score_accounts
    from cleanclf.schema import iter_records

    peak = [0]
    stop = threading.Event()

    def sample():
        while not stop.wait(0.2):
            peak[0] = max(peak[0], _tree_rss_kb(os.getpid()))

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    outputs, crash = [], None
    t0 = time.perf_counter()
    with NoNetwork() as net:
        try:
            for v in score_accounts(iter_records(dump), model=model, jobs=jobs, images_root=images_root,
                                    chunk_size=chunk_size, posts="flagged"):
                # keep what check() needs, not whole verdicts (memory)
                outputs.append({"account_id": v["account_id"], "error": v["error"], "line": v.get("line")})
        except Exception as exc:  # noqa: BLE001 - the figure we report: must stay 0
            crash = f"{type(exc).__name__}: {exc}"
    dt = time.perf_counter() - t0
    stop.set()
    t.join()
    res = check(outputs, meta)
    res.update(crashes=0 if crash is None else 1, crash=crash, seconds=dt, per_s=len(outputs) / dt if dt else 0.0,
               peak_rss_mb=max(peak[0], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024,
               network_attempts=len(net.attempts), jobs=jobs)
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="generated lines (default 100000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", default="1,2", help="comma-separated job counts (default 1,2)")
    ap.add_argument("--no-oversized", action="store_true", help="skip the 64 MiB line")
    ap.add_argument("--workdir", default=str(HERE / "out" / "fuzz"))
    args = ap.parse_args(argv)
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    images = make_image_root(work / "images")
    dump = work / "images" / f"fuzz-{args.n}.jsonl"
    meta = write_dump(dump, args.n, args.seed, images, oversized=not args.no_oversized)
    kinds = collections.Counter(m[2] for m in meta)
    model, model_id = fuzz_model()
    print(f"dump: {dump} ({dump.stat().st_size / 1e6:.0f} MB, {len(meta)} lines, "
          f"{sum(1 for m in meta if m[1] != BLANK)} non-blank); model {model_id}", file=sys.stderr)
    print("line kinds:", dict(sorted(kinds.items())), file=sys.stderr)
    rows = []
    for jobs in [int(j) for j in args.jobs.split(",")]:
        res = run(dump, meta, model, jobs=jobs, images_root=dump.parent)
        rows.append(res)
        print(json.dumps({k: v for k, v in res.items() if k != "problems"} | {"problems": res["problems"][:10]},
                         ensure_ascii=False), file=sys.stderr)
    print(f"\n| jobs | lines | records (non-blank) | crashes | outputs == inputs | verdicts | error records by type "
          f"| mismatches | net attempts | records/s | peak RSS (MB, tree) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        errs = ", ".join(f"{k} {v}" for k, v in sorted(r["errors"].items()))
        print(f"| {r['jobs']} | {len(meta)} | {r['expected']} | {r['crashes']} | {r['outputs'] == r['expected']} "
              f"| {r['outputs'] - sum(r['errors'].values())} | {errs} | {len(r['problems'])} | {r['network_attempts']} "
              f"| {r['per_s']:.0f} | {r['peak_rss_mb']:.0f} |")
    ok = all(r["crashes"] == 0 and not r["problems"] and r["network_attempts"] == 0 for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
