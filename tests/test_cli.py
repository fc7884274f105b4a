"""The ``cleanclf`` command: exit codes, summary, resume (incl. SIGKILL mid-run), text/info."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cleanclf.cli import main
from test_batch import FakeClassifier, mixed

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "accounts.jsonl"


def write_dump(path: Path, n: int) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for rec in mixed(n):
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return path


def ids(path: Path) -> list[str]:
    return [json.loads(line)["account_id"] for line in path.read_bytes().splitlines()]


def test_score_writes_one_line_per_record_and_summary(tmp_path, capsys):
    out = tmp_path / "v.jsonl"
    rc = main(["score", str(EXAMPLES), "-o", str(out), "--no-progress"], model=FakeClassifier())
    assert rc == 0
    lines = out.read_bytes().splitlines()
    n_in = sum(1 for line in EXAMPLES.read_bytes().splitlines() if line.strip())
    assert len(lines) == n_in
    recs = [json.loads(line) for line in lines]
    assert [r["line"] for r in recs if r["error"]] == [10]
    err = capsys.readouterr().err
    assert f"{n_in} accounts scored" in err and "error rows 1" in err and "solicitation" in err


@pytest.mark.parametrize("argv,needle", [
    (["score", "nope.jsonl", "-o", "out.jsonl"], "does not exist"),
    (["score", "in.txt", "-o", "out.jsonl"], "unknown extension"),
    (["score", "in.jsonl", "-o", "out.txt"], "-o/--output"),
    (["score", "in.jsonl", "-o", "-", "--resume"], "--resume"),
    (["score", "in.jsonl", "-o", "out.jsonl", "--jobs", "0"], "--jobs"),
])
def test_unusable_arguments_exit_2_with_a_clear_message(tmp_path, monkeypatch, capsys, argv, needle):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.jsonl").write_text('{"account_id": "a"}\n', encoding="utf-8")
    (tmp_path / "in.txt").write_text("x", encoding="utf-8")
    assert main(argv, model=FakeClassifier()) == 2
    assert needle in capsys.readouterr().err


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["score", "x.jsonl", "-o", "y.jsonl", "--posts", "some"])
    assert exc.value.code == 2


def test_stdout_output(tmp_path, capsysbinary):
    dump = write_dump(tmp_path / "d.jsonl", 7)
    assert main(["score", str(dump), "-o", "-", "--no-progress"], model=FakeClassifier()) == 0
    assert len(capsysbinary.readouterr().out.splitlines()) == 7


def _torn_output(tmp_path, n: int, share: float) -> tuple[Path, bytes, Path]:
    """A finished run's output, and a copy of it cut mid-line (as a run killed mid-write leaves
    it): ``(dump, full bytes, torn copy)``."""
    dump = write_dump(tmp_path / "d.jsonl", n)
    full = tmp_path / "full.jsonl"
    assert main(["score", str(dump), "-o", str(full), "--no-progress", "--chunk-size", "16"], model=FakeClassifier()) == 0
    data = full.read_bytes()
    cut = int(len(data) * share)
    assert data[cut - 1:cut] != b"\n"
    part = tmp_path / "part.jsonl"
    part.write_bytes(data[:cut])
    return dump, data, part


@pytest.mark.parametrize("jobs", [1, 2])
def test_resume_after_torn_line_is_exactly_once(tmp_path, jobs):
    dump, data, part = _torn_output(tmp_path, 250, 0.4)
    # a killed run leaves its run record (written before the first verdict) next to the torn output
    record = json.loads((tmp_path / "full.jsonl.run.json").read_text(encoding="utf-8"))
    record.update(status="running", exit_code=None)
    (tmp_path / "part.jsonl.run.json").write_text(json.dumps(record), encoding="utf-8")
    argv = ["score", str(dump), "-o", str(part), "--no-progress", "--resume", "--jobs", str(jobs), "--chunk-size", "16"]
    assert main(argv, model=FakeClassifier()) == 0
    assert part.read_bytes() == data
    assert json.loads((tmp_path / "part.jsonl.run.json").read_text(encoding="utf-8"))["resumed_after"] > 0
    # resuming a finished run changes nothing
    assert main(argv, model=FakeClassifier()) == 0
    assert part.read_bytes() == data


def test_resume_of_a_torn_output_without_run_record_needs_force_and_stays_exactly_once(tmp_path, capsys):
    dump, data, part = _torn_output(tmp_path, 120, 0.6)
    torn = part.read_bytes()
    argv = ["score", str(dump), "-o", str(part), "--no-progress", "--resume", "--chunk-size", "16"]
    # nothing says which input and options wrote it: refused, output untouched
    assert main(argv, model=FakeClassifier()) == 2
    assert "no readable run record" in capsys.readouterr().err
    assert part.read_bytes() == torn
    # the user vouches for it: resumed, every account exactly once
    assert main(argv + ["--force"], model=FakeClassifier()) == 0
    assert part.read_bytes() == data


def test_text_and_info_commands(capsys, tmp_path):
    assert main(["text", "加薇 abc123 包夜"], model=FakeClassifier()) == 0
    r = json.loads(capsys.readouterr().out)
    assert "solicitation" in r["labels"]
    # info on a bundle that does not exist: exit 1 with the name in the message
    assert main(["info", "--model", "no-such-bundle"]) == 1
    assert "no-such-bundle" in capsys.readouterr().err


DRIVER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from test_batch import FakeClassifier
    from cleanclf.cli import main
    sys.exit(main(sys.argv[1:], model=FakeClassifier(delay={delay})))
""")


def _run_driver(tmp_path, argv, delay=0.0):
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER.format(tests=str(ROOT / "tests"), delay=delay), encoding="utf-8")
    log = open(tmp_path / "stderr.txt", "ab")
    return subprocess.Popen([sys.executable, str(driver), *argv], stdout=subprocess.DEVNULL, stderr=log,
                            start_new_session=True)


def _live_in_session(sid: int) -> list[str]:
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == sid and fields[0] != "Z":  # fields: state, ppid, pgrp, session
            out.append(f"{pid}:{fields[0]}")
    return out


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_every_account_exactly_once(tmp_path):
    n = 3000
    dump = write_dump(tmp_path / "d.jsonl", n)
    out = tmp_path / "v.jsonl"
    argv = ["score", str(dump), "-o", str(out), "--jobs", "2", "--chunk-size", "20", "--no-progress"]
    proc = _run_driver(tmp_path, argv, delay=0.0005)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 200_000):
        time.sleep(0.02)
    assert proc.poll() is None, "run finished before it could be killed; make the fake slower"
    os.kill(proc.pid, signal.SIGKILL)  # the parent only: its workers must notice and die
    proc.wait(timeout=10)
    size_killed = out.stat().st_size
    assert 0 < size_killed
    # workers die with their parent (no orphan keeps the output open or burns CPU)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (leftover := _live_in_session(proc.pid)):
        time.sleep(0.1)
    assert not leftover, f"worker processes outlived the killed parent: {leftover}"
    proc2 = _run_driver(tmp_path, argv + ["--resume"])
    assert proc2.wait(timeout=120) == 0
    raw = out.read_bytes()
    assert raw.endswith(b"\n")
    lines = raw.split(b"\n")[:-1]
    recs = [json.loads(line) for line in lines]  # no torn line anywhere
    assert [r["account_id"] for r in recs] == [f"u{i}" for i in range(n)]
    assert len(lines) == n


def test_real_cli_on_examples(tmp_path):
    out = tmp_path / "verdicts.jsonl"
    r = subprocess.run([sys.executable, "-m", "cleanclf.cli", "score", str(EXAMPLES), "-o", str(out), "--no-progress"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "accounts scored" in r.stderr
    recs = [json.loads(line) for line in out.read_bytes().splitlines()]
    assert len(recs) == 15 and sum(1 for x in recs if x["error"]) == 1
    info = subprocess.run([sys.executable, "-m", "cleanclf.cli", "info", "--json"], capture_output=True, text=True,
                          timeout=300)
    assert info.returncode == 0 and json.loads(info.stdout)["model"]


@pytest.mark.slow
def test_real_sigkill_resume_with_the_console_script(tmp_path):
    n = 600
    dump = write_dump(tmp_path / "d.jsonl", n)
    out = tmp_path / "v.jsonl"
    argv = [sys.executable, "-m", "cleanclf.cli", "score", str(dump), "-o", str(out), "--jobs", "2",
            "--chunk-size", "8", "--no-progress"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 20_000) and proc.poll() is None:
        time.sleep(0.05)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    r = subprocess.run(argv + ["--resume"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    lines = out.read_bytes().split(b"\n")
    assert lines[-1] == b""
    assert [json.loads(x)["account_id"] for x in lines[:-1]] == [f"u{i}" for i in range(n)]


def test_image_command_prints_one_line_per_image(capsys):
    # one image could not be scored: every line is still printed, and the exit code says so (3)
    assert main(["image", "lewd.png", "missing.png"], model=FakeClassifier()) == 3
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["path"] for x in lines] == ["lewd.png", "missing.png"]
    assert lines[0]["lewd_images"] > 0.5 and lines[1]["error"]["type"] == "ImageError"


def test_info_on_the_bundled_model(capsys):
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["model"].startswith("default@") and info["components"]
    assert info["account_rule"]["floor_posts"] >= 2 and set(info["account_rule"]["min_posts"]) == {
        "lewd_images", "explicit_text", "solicitation"}


def test_train_and_evaluate_are_commands_and_score_never_imports_training():
    import subprocess
    import sys

    from cleanclf.cli import build_parser

    args = build_parser().parse_args(["evaluate", "x.jsonl"])
    assert callable(args.func)
    args = build_parser().parse_args(["train", "--out", "m", "--data", "d"])
    assert callable(args.func) and args.data == "d" and not args.no_frozen_test
    # building the parser (what `cleanclf score` does first) imports neither the training code nor scikit-learn
    code = ("import sys; from cleanclf.cli import build_parser; build_parser(); "
            "print(sorted(m for m in sys.modules if m.startswith(('cleanclf.training', 'sklearn'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_first_ctrl_c_asks_score_to_stop_a_second_interrupts():
    import os
    import signal

    from cleanclf.cli import _StopOnSigint

    before = signal.getsignal(signal.SIGINT)
    with _StopOnSigint() as stop:
        assert not stop.requested
        os.kill(os.getpid(), signal.SIGINT)  # delivered to the main thread before the next bytecode
        for _ in range(100):
            if stop.requested:
                break
        assert stop.requested  # a flag, not an exception a finaliser could swallow
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(100):
                pass
    assert signal.getsignal(signal.SIGINT) is before


def test_image_command_fast_mode_screens_unless_told_not_to(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("cleanclf.image.embed.int8_exact_cpu", lambda: True)  # as on a VNNI CPU
    import numpy as np
    from PIL import Image

    import cleanclf

    rng = np.random.default_rng(5)
    path = tmp_path / "noise.jpg"
    Image.fromarray(rng.integers(0, 256, (900, 1200, 3), dtype=np.uint8)).save(path, quality=85)
    clf = cleanclf.load()
    runs = {}
    for flags in ([], ["--no-screen"]):
        assert main(["image", "--image-mode", "fast", *flags, str(path)], model=clf) == 0
        runs[tuple(flags)] = json.loads(capsys.readouterr().out)["lewd_images"]
    assert runs[()] == round(clf.score_images([path], mode="fast")[0]["lewd_images"], 6)
    assert runs[("--no-screen",)] == round(clf.score_images([path], mode="fast", screen=False)[0]["lewd_images"], 6)
    assert runs[()] != runs[("--no-screen",)]  # far below the threshold: the int8 score stands
