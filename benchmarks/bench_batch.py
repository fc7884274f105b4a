"""Batch throughput (jobs=1 vs jobs=2) and peak memory of the whole process tree vs dump size.

    python benchmarks/bench_batch.py                       # 20k speed; 20k/100k/300k memory
    python benchmarks/bench_batch.py --speed-size 5000 --sizes 5000,20000 --model default

Runs the real command, ``cleanclf score DUMP -o OUT --jobs J --no-progress``, as a
subprocess (dumps from make_dump.py, text only, deterministic) and samples /proc every
0.1 s: RSS and PSS summed over the parent and all its workers (PSS counts pages shared
after fork once; RSS double-counts them). Prints a markdown table; the figures go into
benchmarks/RESULTS-batch.md. Accounts/s is wall-clock, model loading included.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

from _proc import cpu_seconds, schedstat, tree  # benchmarks/ is sys.path[0] when run as a script

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def _mem(pid: int) -> tuple[int, int]:
    """(rss_kb, pss_kb) of one process, 0 when it is gone."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def run(cmd: list[str]) -> dict:
    peak = {"rss": 0, "pss": 0, "procs": 0, "parent_cpu": 0.0}
    sched: dict[int, list] = {}  # pid -> [first seen s, last seen s, on-CPU s, run-queue wait s]
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample():
        while not done.is_set():
            pids = tree(proc.pid)
            mem = [_mem(p) for p in pids]
            peak["rss"] = max(peak["rss"], sum(m[0] for m in mem))
            peak["pss"] = max(peak["pss"], sum(m[1] for m in mem))
            peak["procs"] = max(peak["procs"], len(pids))
            peak["parent_cpu"] = max(peak["parent_cpu"], cpu_seconds(proc.pid))
            now = time.monotonic() - t0
            for pid in pids:
                st = schedstat(pid)
                if st is not None:
                    rec = sched.setdefault(pid, [now, now, 0.0, 0.0])
                    rec[1:] = [now, *st]
            if len(pids) > 1 and "parent_cpu_at_fork" not in peak and proc.pid in sched:
                peak["parent_cpu_at_fork"] = sched[proc.pid][2]
            time.sleep(0.1)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    _, err = proc.communicate()
    done.set()
    th.join()
    wall = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    tree_cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)  # parent + reaped workers
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-2000:]}")
    workers = [v for pid, v in sched.items() if pid != proc.pid]
    par = sched.get(proc.pid, [0.0, wall, 0.0, 0.0])
    diag = {
        # when the first worker appeared: the serial start-up (imports, model load) before scoring
        "startup": min((v[0] for v in workers), default=0.0),
        # worker seconds spent asleep, i.e. waiting for the parent to hand them a chunk
        "worker_idle": sum(max(0.0, (v[1] - v[0]) - v[2] - v[3]) for v in workers),
        "worker_cpu": sum(v[2] for v in workers),
        # worker seconds runnable but not running: other processes (the parent, other jobs) held the cores
        "worker_wait": sum(v[3] for v in workers),
        # the parent's CPU once the workers exist, against the workers' CPU
        "parent_cpu_run": max(0.0, par[2] - peak.get("parent_cpu_at_fork", par[2])),
        # wall clock the scoring lost to other processes holding the cores: the parent's
        # run-queue wait with no workers, else the most-delayed worker's (an estimate)
        "lost_to_load": max((v[3] for v in workers), default=par[3]),
    }
    return {"wall": wall, "cpu": tree_cpu, "parent_cpu": peak["parent_cpu"], "rss_mb": peak["rss"] / 1024,
            "pss_mb": peak["pss"] / 1024, "procs": peak["procs"], "summary": err.strip().splitlines()[-1], **diag}


def dump(n: int) -> Path:
    path = OUT / f"dump-{n}.jsonl"
    if not path.exists():
        subprocess.run([sys.executable, str(HERE / "make_dump.py"), str(n), "-o", str(path)], check=True)
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--speed-size", type=int, default=20000)
    p.add_argument("--sizes", default="20000,100000,300000", help="comma-separated dump sizes for memory (jobs=2)")
    p.add_argument("--jobs", default="1,2")
    p.add_argument("--model", default="default", help="bundle name, or a directory (passed with --trust-model)")
    a = p.parse_args(argv)
    exe = [sys.executable, "-m", "cleanclf.cli"]
    model_args = ["--model", a.model] + (["--trust-model"] if "/" in a.model else [])
    rows = []
    speed = {}
    n = a.speed_size
    for j in [int(x) for x in a.jobs.split(",")]:
        r = run(exe + ["score", str(dump(n)), "-o", str(OUT / f"v-{n}-j{j}.jsonl"), "--jobs", str(j),
                       "--no-progress", *model_args])
        speed[j] = n / r["wall"]
        rows.append((n, j, r))
        print(f"n={n} jobs={j}: {speed[j]:.0f} accounts/s, CPU {r['cpu']:.1f}s (parent {r['parent_cpu']:.1f}s), "
              f"load avg {os.getloadavg()[0]:.1f}, peak RSS {r['rss_mb']:.0f} MB, PSS {r['pss_mb']:.0f} MB "
              f"| {r['summary']}", flush=True)
        if r["worker_cpu"]:
            print(f"  diagnostics: start-up before the first worker {r['startup']:.1f}s; worker CPU {r['worker_cpu']:.1f}s, "
                  f"asleep waiting for work {r['worker_idle']:.1f}s, runnable but not running {r['worker_wait']:.1f}s; "
                  f"parent CPU while workers ran {r['parent_cpu_run']:.1f}s "
                  f"({100 * r['parent_cpu_run'] / max(r['worker_cpu'], 1e-9):.1f} % of the workers')", flush=True)
    if 1 in speed and 2 in speed:
        r1 = next(r for rn, rj, r in rows if rj == 1)
        r2 = next(r for rn, rj, r in rows if rj == 2)
        print(f"scaling jobs=2 / jobs=1 (wall): {speed[2] / speed[1]:.2f}x; CPU-bound ceiling from CPU seconds "
              f"(2 x jobs=1 CPU / jobs=2 CPU, i.e. the speed-up on two idle cores): "
              f"{2 * r1['cpu'] / r2['cpu']:.2f}x", flush=True)
        w1, w2 = r1["wall"] - r1["lost_to_load"], r2["wall"] - r2["lost_to_load"]
        print(f"scaling with each run's run-queue wait taken off its wall clock (an estimate of an idle machine): "
              f"{w1 / w2:.2f}x ({r1['lost_to_load']:.1f}s and {r2['lost_to_load']:.1f}s lost to other processes)",
              flush=True)
    mem = []
    for n in [int(x) for x in a.sizes.split(",")]:
        if any(rn == n and rj == 2 for rn, rj, _ in rows):
            r = next(r for rn, rj, r in rows if rn == n and rj == 2)
        else:
            r = run(exe + ["score", str(dump(n)), "-o", str(OUT / f"v-{n}-j2.jsonl"), "--jobs", "2",
                           "--no-progress", *model_args])
            rows.append((n, 2, r))
        mem.append((n, r["pss_mb"], r["rss_mb"]))
        print(f"n={n} jobs=2: {n / r['wall']:.0f} accounts/s, peak RSS {r['rss_mb']:.0f} MB, PSS {r['pss_mb']:.0f} MB",
              flush=True)
    if len(mem) >= 2:
        (n0, p0, _), (n1, p1, _) = mem[0], mem[-1]
        slope = (p1 - p0) / (n1 - n0)
        print(f"PSS slope {slope * 1e6:.1f} MB per million accounts; extrapolated to 1M accounts: "
              f"{p1 + slope * (1_000_000 - n1):.0f} MB (linear in the measured points)", flush=True)
    print("\n| accounts | jobs | wall s | accounts/s | CPU s (tree) | parent CPU s | peak RSS MB (sum) | "
          "peak PSS MB (sum) | processes |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, j, r in rows:
        print(f"| {n} | {j} | {r['wall']:.1f} | {n / r['wall']:.0f} | {r['cpu']:.1f} | {r['parent_cpu']:.1f} | "
              f"{r['rss_mb']:.0f} | {r['pss_mb']:.0f} | {r['procs']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
