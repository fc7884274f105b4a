"""Process-tree sampling from /proc, shared by the benchmarks that measure worker processes."""

from __future__ import annotations

import os
from pathlib import Path


def tree(root: int) -> list[int]:
    """``root`` and every descendant process alive now."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(d))
    out, stack = [], [root]
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack.extend(children.get(pid, []))
    return out


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process, 0 when it is gone."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError):
        return 0.0


def schedstat(pid: int) -> tuple[float, float] | None:
    """(seconds on a CPU, seconds runnable but waiting for a CPU) of one process; None when gone.

    Summed over the threads alive now (``/proc/PID/task/*/schedstat``): the file of the
    process itself covers its main thread only, which for a JVM is idle. Threads that have
    already exited are not counted. A process's lifetime minus these two is the time it slept;
    unlike wall clock this does not depend on how loaded the machine is, and the run-queue
    wait is what other processes cost it.
    """
    run = wait = 0.0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for tid in tids:
        try:
            f = Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()
            run += int(f[0]) / 1e9
            wait += int(f[1]) / 1e9
        except (OSError, IndexError, ValueError):
            continue  # the thread exited between listdir and read
    return run, wait


def age_seconds(pid: int) -> float | None:
    """Seconds since the process started; None when it is gone."""
    try:
        start = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
        return float(Path("/proc/uptime").read_text().split()[0]) - start
    except (OSError, IndexError, ValueError):
        return None
