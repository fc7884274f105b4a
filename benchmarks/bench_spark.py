"""Spark throughput: local[1] vs local[2], and the per-core overhead against the batch scorer.

    python benchmarks/bench_spark.py                                  # 20k text-only accounts
    python benchmarks/bench_spark.py --n 20000 --model /path/to/bundle --partitions 8

Each configuration runs in its own subprocess (a SparkSession's master is fixed for its
life): ``batch`` = :func:`cleanclf.batch.score_accounts` with ``jobs=1`` writing the JSONL
lines (what ``cleanclf score --jobs 1`` does), ``spark local[N]`` =
:func:`cleanclf.spark.score_file` on a session created beforehand, so JVM start-up is
measured separately and excluded from accounts/s. Spark's figure is end to end: line
numbering, scoring, the sorted single-file JSONL write; model loading is included on both
sides (batch: once; Spark: once per Python worker). The whole process tree is sampled for
CPU seconds and for the peak RSS of each Spark Python worker (what one executor core needs
for the model). The outputs are compared byte for byte. Prints a markdown table for
benchmarks/RESULTS-spark.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from _proc import age_seconds, cpu_seconds, schedstat, tree  # benchmarks/ is sys.path[0] when run as a script

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def dump(n: int) -> Path:
    path = OUT / f"dump-{n}.jsonl"
    if not path.exists():
        subprocess.run([sys.executable, str(HERE / "make_dump.py"), str(n), "-o", str(path)], check=True)
    return path


# ---------------------------------------------------------------------------- child runs
def _model_arg(model: str):
    return Path(model) if "/" in model else model


def child_batch(a) -> dict:
    from cleanclf.batch import score_accounts
    from cleanclf.classify import Classifier
    from cleanclf.schema import iter_records

    t0 = time.monotonic()
    clf = Classifier.load(_model_arg(a.model), trust=True)
    load = time.monotonic() - t0
    n = 0
    with open(a.out, "wb") as fh:
        for line, *_ in score_accounts(iter_records(a.dump), model=clf, jobs=1, _serialize=True,
                                       images_root=str(Path(a.dump).parent)):
            fh.write(line)
            n += 1
    return {"accounts": n, "seconds": time.monotonic() - t0, "load_seconds": load}


def _kind(pid: int, me: int) -> str:
    if pid == me:
        return "driver"
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "other"
    if b"java" in cmd.split(b"\0", 1)[0]:
        return "jvm"
    return "python_workers" if b"pyspark" in cmd else "other"


def _sched(pid: int) -> tuple[float, float, float] | None:
    """(on-CPU s, run-queue wait s, age s) of one process; None when it is gone."""
    st, age = schedstat(pid), age_seconds(pid)
    return None if st is None or age is None else (*st, age)


def _snapshot() -> dict[int, tuple[str, tuple]]:
    me = os.getpid()
    return {p: (_kind(p, me), st) for p in tree(me) if (st := _sched(p)) is not None}


def _split_cpu(before: dict, after: dict, seconds: float) -> dict:
    """CPU seconds of score_file alone per process kind, and the Python workers' sleep.

    A Python worker's sleep (its time alive during the run minus CPU and run-queue wait) is
    time it waited for the JVM to hand it rows (or sat idle between tasks); the run-queue
    wait is time it was ready but the cores were busy (the JVM, the other worker, other jobs).
    """
    out = {"cpu_driver": 0.0, "cpu_jvm": 0.0, "cpu_python_workers": 0.0, "cpu_other": 0.0,
           "worker_sleep": 0.0, "worker_wait": 0.0}
    pids = set(after) | set(before)
    for p in pids:
        kind, st1 = after.get(p, before.get(p))
        st0 = before.get(p, (kind, (0.0, 0.0, 0.0)))[1]
        out[f"cpu_{kind}"] += st1[0] - st0[0]
        if kind == "python_workers":
            alive = min(st1[2], seconds) - (st0[2] if p in before else 0.0)
            out["worker_sleep"] += max(0.0, alive - (st1[0] - st0[0]) - (st1[1] - st0[1]))
            out["worker_wait"] += st1[1] - st0[1]
    return out


def child_spark(a) -> dict:
    from cleanclf.spark import _session, score_file

    t0 = time.monotonic()
    conf = {"spark.driver.host": "127.0.0.1", **dict(kv.split("=", 1) for kv in (a.conf or []))}
    spark = _session(a.master, conf)
    spark.sparkContext.setLogLevel("ERROR")
    spark.range(1).count()  # the JVM is up and has run a job
    startup = time.monotonic() - t0
    before = _snapshot()
    t1 = time.monotonic()
    try:
        s = score_file(a.dump, a.out, spark=spark, model=_model_arg(a.model), trust_model=True,
                       partitions=a.partitions)
        # Python workers that exited before the end are missed (Spark keeps reused idle
        # workers for a minute, so within one run they normally are all still there).
        s.update(_split_cpu(before, _snapshot(), time.monotonic() - t1))
    finally:
        spark.stop()
    s["startup_seconds"] = startup
    return s


# ---------------------------------------------------------------------------- sampling
def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _is_worker(pid: int) -> bool:
    try:
        return b"pyspark.daemon" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def run(args: list[str]) -> dict:
    # CPU seconds per process, last seen: the JVM and its Python workers are not reaped by
    # this process, so getrusage(RUSAGE_CHILDREN) would miss them.
    peak = {"tree_rss": 0, "worker_rss": 0, "workers": set(), "cpu": {}}
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, __file__, "_child", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample():
        while not done.is_set():
            pids = tree(proc.pid)
            rss = {p: _rss_kb(p) for p in pids}
            for p in pids:
                peak["cpu"][p] = max(peak["cpu"].get(p, 0.0), cpu_seconds(p))
            peak["tree_rss"] = max(peak["tree_rss"], sum(rss.values()))
            for p in pids:
                if _is_worker(p):
                    peak["workers"].add(p)
                    peak["worker_rss"] = max(peak["worker_rss"], rss[p])
            time.sleep(0.2)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out, err = proc.communicate()
    done.set()
    th.join()
    if proc.returncode != 0:
        raise SystemExit(f"{args} failed ({proc.returncode}):\n{err[-3000:]}")
    res = json.loads(out.strip().splitlines()[-1])
    res.update(wall=time.monotonic() - t0, cpu=sum(peak["cpu"].values()),
               tree_rss_mb=peak["tree_rss"] / 1024, worker_rss_mb=peak["worker_rss"] / 1024,
               worker_procs=len(peak["workers"]))
    return res


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_child"]:
        p = argparse.ArgumentParser()
        p.add_argument("kind")
        p.add_argument("--dump")
        p.add_argument("--out")
        p.add_argument("--model")
        p.add_argument("--master")
        p.add_argument("--partitions", type=int)
        p.add_argument("--conf", action="append")
        a = p.parse_args(argv[1:])
        res = child_batch(a) if a.kind == "batch" else child_spark(a)
        print(json.dumps(res))
        return 0
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=20000, help="accounts in the generated dump (make_dump.py)")
    p.add_argument("--model", default="default", help="bundle name, or a directory (loaded with trust)")
    p.add_argument("--masters", default="local[1],local[2]")
    p.add_argument("--partitions", type=int, default=None,
                   help="scoring tasks, the same for every master (default: score_file's own choice per master)")
    p.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE", help="extra Spark setting (repeatable)")
    p.add_argument("--skip-batch", action="store_true", help="reuse the batch reference output of an earlier run")
    a = p.parse_args(argv)
    d = dump(a.n)
    common = ["--dump", str(d), "--model", a.model]
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} n={a.n} model={a.model} partitions={a.partitions} "
          f"cpus={os.cpu_count()} load-avg-before={os.getloadavg()[0]:.1f}", flush=True)
    results = {}
    ref = OUT / f"v-spark-bench-{a.n}-batch.jsonl"
    if not (a.skip_batch and ref.exists()):
        results["batch jobs=1"] = r = run(["batch", *common, "--out", str(ref)])
        print(f"batch jobs=1: {a.n / r['seconds']:.0f} acc/s ({r['seconds']:.1f}s, load {r['load_seconds']:.1f}s), "
              f"CPU {r['cpu']:.1f}s, load avg {os.getloadavg()[0]:.1f}", flush=True)
    extra = [x for kv in a.conf for x in ("--conf", kv)]
    for m in a.masters.split(","):
        out = OUT / f"v-spark-bench-{a.n}-{m.replace('[', '').replace(']', '')}.jsonl"
        r = run(["spark", *common, "--out", str(out), "--master", m, *extra,
                 *(["--partitions", str(a.partitions)] if a.partitions else [])])
        same = out.read_bytes() == ref.read_bytes()
        r["identical"] = same
        results[f"spark {m}"] = r
        print(f"spark {m}: {a.n / r['seconds']:.0f} acc/s ({r['seconds']:.1f}s; JVM start {r['startup_seconds']:.1f}s "
              f"excluded), CPU {r['cpu']:.1f}s, worker peak RSS {r['worker_rss_mb']:.0f} MB x {r['worker_procs']}, "
              f"tree peak RSS {r['tree_rss_mb']:.0f} MB, identical to batch: {same}, "
              f"load avg {os.getloadavg()[0]:.1f}", flush=True)
        print(f"  score_file only: CPU JVM {r['cpu_jvm']:.1f}s, Python workers {r['cpu_python_workers']:.1f}s, "
              f"driver {r['cpu_driver']:.1f}s, other processes of the tree {r['cpu_other']:.1f}s; workers asleep {r['worker_sleep']:.1f}s, runnable but not running "
              f"{r['worker_wait']:.1f}s; {r['partitions']} partitions; stages "
              + ", ".join(f"{k} {v:.1f}s" for k, v in r["stages"].items()), flush=True)
    b = results.get("batch jobs=1")
    s1, s2 = results.get("spark local[1]"), results.get("spark local[2]")
    print("\n| run | accounts/s | seconds | CPU s | identical |\n|---|---:|---:|---:|---|")
    for k, r in results.items():
        print(f"| {k} | {a.n / r['seconds']:.0f} | {r['seconds']:.1f} | {r['cpu']:.1f} | {r.get('identical', 'ref')} |")
    if s1 and b:
        print(f"\nper-core overhead (batch jobs=1 acc/s / spark local[1] acc/s): {s1['seconds'] / b['seconds']:.2f}x "
              f"(target <= 1.5x); CPU-seconds ratio {s1['cpu'] / b['cpu']:.2f}x")
    if s1 and s2:
        print(f"scaling local[2] / local[1] (wall): {s1['seconds'] / s2['seconds']:.2f}x (target >= 1.7x); "
              f"CPU-bound ceiling (2 x local[1] CPU / local[2] CPU): {2 * s1['cpu'] / s2['cpu']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
