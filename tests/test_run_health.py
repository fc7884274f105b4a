"""Batch runs a job can trust: run health in the summary and the run record, distinct exit codes,
verdicts that say when images failed, outputs never overwritten or resumed by mistake, bundles
that keep their components. Fixtures are built here: Pillow images, short texts, no real handles.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cleanclf.cli import DEFAULT_MAX_ERROR_RATE, main
from test_batch import FakeClassifier, acc, mixed


def _dump(path: Path, records) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write((rec if isinstance(rec, str) else json.dumps(rec, ensure_ascii=False)) + "\n")
    return path


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_bytes().splitlines()]


def _record(out: Path) -> dict:
    return json.loads(Path(f"{out}.run.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def clf():
    import cleanclf

    return cleanclf.load()


@pytest.fixture()
def photos(tmp_path):
    """Two small, plain images in tmp/imgs (nothing lewd about them)."""
    from PIL import Image

    d = tmp_path / "imgs"
    d.mkdir()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(d / "sky.png")
    Image.new("RGB", (40, 40), (200, 180, 60)).save(d / "sand.jpg", quality=90)
    return d


# ---------------------------------------------------------------------------- all images fail
def test_every_image_failing_exits_3_and_the_verdict_says_why_instead_of_a_prior(tmp_path, photos, clf, capsys):
    # the paths are relative to imgs/, but the dump sits one level up: the usual wrong --images-root
    posts = [{"id": f"p{i}", "text": "今天去海边散步", "images": ["sky.png", "sand.jpg"]} for i in range(3)]
    dump = _dump(tmp_path / "d.jsonl", [{"account_id": "pics", "posts": posts},
                                        {"account_id": "no-pics", "posts": [{"id": "q", "text": "晚饭吃面"}]}])
    out = tmp_path / "v.jsonl"
    assert main(["score", str(dump), "-o", str(out), "--no-progress"], model=clf) == 3
    err = capsys.readouterr().err
    assert "6 of 6 images failed" in err and "exit 3" in err and "--images-root" in err
    pics, no_pics = _lines(out)  # every record still has its verdict line
    assert pics["scores"]["lewd_images"] is None and pics["bands"]["lewd_images"] is None
    assert pics["image_status"] == {"scored": 0, "failed": 6, "reason": "not_found", "reasons": {"not_found": 6}}
    # an account without images is not an account whose images failed
    assert isinstance(no_pics["scores"]["lewd_images"], float) and "image_status" not in no_pics
    rec = _record(out)
    assert rec["exit_code"] == 3 and rec["over_max_error_rate"] == ["images"]
    assert rec["images_failed_by_reason"] == {"not_found": 6} and rec["counts"]["images"] == 0

    # the right root: the same dump scores its images and exits 0, without image_status
    assert main(["score", str(dump), "-o", str(out), "--force", "--no-progress", "--images-root", str(photos)],
                model=clf) == 0
    pics = _lines(out)[0]
    assert isinstance(pics["scores"]["lewd_images"], float) and "image_status" not in pics
    assert _record(out)["counts"]["images"] == 6


def test_a_few_failed_images_keep_the_score_and_exit_0(tmp_path):
    images = {0: ["lewd1.jpg", "missing.jpg"], 1: ["ok.jpg"], 2: ["ok2.jpg"]}
    dump = _dump(tmp_path / "d.jsonl", [acc(1, ["你好", "早", "晚安"], images=images)])
    out = tmp_path / "v.jsonl"
    assert main(["score", str(dump), "-o", str(out), "--no-progress"], model=FakeClassifier()) == 0
    v = _lines(out)[0]
    assert v["scores"]["lewd_images"] is not None
    assert v["image_status"] == {"scored": 3, "failed": 1, "reason": "not_found", "reasons": {"not_found": 1}}


# ---------------------------------------------------------------------------- unreadable input
def test_a_file_of_invalid_json_lines_exits_3_with_one_error_row_per_line(tmp_path, capsys):
    dump = _dump(tmp_path / "d.jsonl", ["{not json", '{"account_id": "a",,}', "plain text"])
    out = tmp_path / "v.jsonl"
    assert main(["score", str(dump), "-o", str(out), "--no-progress"], model=FakeClassifier()) == 3
    rows = _lines(out)
    assert [r["line"] for r in rows] == [1, 2, 3] and all(r["error"]["type"] == "RecordError" for r in rows)
    assert "3 of 3 records are error rows" in capsys.readouterr().err
    rec = _record(out)
    assert rec["error_rows_by_type"] == {"RecordError": 3} and rec["error_rates"]["records"] == 1.0


def test_a_few_bad_records_are_a_normal_dump_unless_max_error_rate_says_otherwise(tmp_path):
    dump = _dump(tmp_path / "d.jsonl", [*mixed(9), "{broken"])
    out = tmp_path / "v.jsonl"
    assert DEFAULT_MAX_ERROR_RATE == 0.5
    assert main(["score", str(dump), "-o", str(out), "--no-progress"], model=FakeClassifier()) == 0
    assert main(["score", str(dump), "-o", str(out), "--no-progress", "--force", "--max-error-rate", "0"],
                model=FakeClassifier()) == 3
    assert main(["score", str(dump), "-o", str(out), "--no-progress", "--force", "--max-error-rate", "1.5"],
                model=FakeClassifier()) == 2


def test_a_csv_without_account_id_is_a_usage_error_and_writes_no_output(tmp_path, capsys):
    table = tmp_path / "posts.csv"
    table.write_text("user,content\nu1,你好\n", encoding="utf-8")
    out = tmp_path / "v.jsonl"
    assert main(["score", str(table), "-o", str(out), "--no-progress"], model=FakeClassifier()) == 2
    assert "account_id" in capsys.readouterr().err
    assert not out.exists()
    assert _record(out)["status"] == "failed" and _record(out)["exit_code"] == 2


# ---------------------------------------------------------------------------- cleanclf image
def test_image_command_partial_failure_exits_3_with_one_line_per_image_same_keys_rounded(photos, clf, capsys):
    argv = ["image", str(photos / "sky.png"), str(photos / "gone.png"), str(photos / "sand.jpg")]
    assert main(argv, model=clf) == 3
    out = capsys.readouterr()
    lines = [json.loads(x) for x in out.out.splitlines()]
    assert len(lines) == 3 and all(set(x) == {"path", "lewd_images", "labels", "error"} for x in lines)
    assert lines[1]["lewd_images"] is None and lines[1]["error"]["type"] == "ImageError"
    for x in (lines[0], lines[2]):
        assert x["error"] is None and x["lewd_images"] == round(x["lewd_images"], 6)
    assert "1 of 3 images could not be scored (not_found 1)" in out.err
    # all scored: 0
    assert main(["image", str(photos / "sky.png")], model=clf) == 0


# ---------------------------------------------------------------------------- output safety
def test_an_existing_output_is_never_overwritten_without_force(tmp_path, capsys):
    dump = _dump(tmp_path / "d.jsonl", mixed(5))
    out = tmp_path / "v.jsonl"
    out.write_bytes(b"precious\n")
    assert main(["score", str(dump), "-o", str(out), "--no-progress"], model=FakeClassifier()) == 2
    assert "already exists" in capsys.readouterr().err and out.read_bytes() == b"precious\n"
    assert main(["score", str(dump), "-o", str(out), "--no-progress", "--force"], model=FakeClassifier()) == 0
    assert len(_lines(out)) == 5


@pytest.mark.parametrize("change,needle", [
    ("input", "input size"),
    ("posts", "option posts: 'flagged' in the run record, 'all' now"),
    ("model", "model id"),
])
def test_resume_refuses_another_input_options_or_model_naming_what_differs(tmp_path, capsys, change, needle):
    dump = _dump(tmp_path / "d.jsonl", mixed(40))
    out = tmp_path / "v.jsonl"
    assert main(["score", str(dump), "-o", str(out), "--no-progress", "--chunk-size", "8"], model=FakeClassifier()) == 0
    data = out.read_bytes()
    out.write_bytes(data[: len(data) // 2])  # an interrupted run
    argv = ["score", str(dump), "-o", str(out), "--no-progress", "--resume", "--chunk-size", "8"]
    model = FakeClassifier()
    if change == "input":
        _dump(dump, mixed(41))
    elif change == "posts":
        argv += ["--posts", "all"]
    else:
        model.model_id = "fake@1"
    capsys.readouterr()
    assert main(argv, model=model) == 2
    err = capsys.readouterr().err
    assert needle in err and "--force" in err
    assert out.read_bytes() == data[: len(data) // 2]  # untouched
    assert main(argv + ["--force"], model=model) == 0  # the user's call; recorded as such
    assert any("--resume --force" in n for n in _record(out)["notices"])


def test_resume_of_an_interrupted_run_writes_every_account_exactly_once(tmp_path):
    dump = _dump(tmp_path / "d.jsonl", mixed(90))
    out = tmp_path / "v.jsonl"
    argv = ["score", str(dump), "-o", str(out), "--no-progress", "--chunk-size", "8"]
    assert main(argv, model=FakeClassifier()) == 0
    data = out.read_bytes()
    cut = int(len(data) * 0.3)
    assert data[cut - 1:cut] != b"\n"
    out.write_bytes(data[:cut])  # torn mid-line, as after kill -9; its run record stays
    assert main(argv + ["--resume", "--jobs", "2"], model=FakeClassifier()) == 0
    assert out.read_bytes() == data
    rec = _record(out)
    assert rec["status"] == "completed" and 0 < rec["resumed_after"] < 90
    assert rec["counts"]["accounts"] == 90 - rec["resumed_after"] and len(rec["previous_runs"]) == 1


# ---------------------------------------------------------------------------- bundle components
def test_a_bundle_without_image_component_warns_once_and_says_so_in_verdicts(tmp_path, capsys):
    dump = _dump(tmp_path / "d.jsonl", [acc(i, ["你好", "早"], images={0: [f"a{i}.jpg"]}) for i in range(30)])
    out = tmp_path / "v.jsonl"
    assert main(["score", str(dump), "-o", str(out), "--no-progress", "--chunk-size", "4"],
                model=FakeClassifier(image=False)) == 0
    err = capsys.readouterr().err
    assert err.count("has no image component but the input has images") == 1
    rec = _record(out)
    assert sum("no image component" in n for n in rec["notices"]) == 1
    assert rec["counts"]["images_unscored"] == 30 and "image" in rec["model"]["missing_components"]
    v = _lines(out)[0]
    assert v["scores"]["lewd_images"] is None
    assert v["image_status"] == {"scored": 0, "failed": 0, "not_scored": 1, "reason": "no_image_component"}


def test_train_keeps_the_base_components_unless_told_text_only(tmp_path, capsys):
    from conftest import tiny_rows

    from cleanclf.models import verify_bundle

    rows = tmp_path / "rows.jsonl"
    _dump(rows, tiny_rows())
    lex = tmp_path / "lex"
    lex.mkdir()
    (lex / "porn_zh_demo.txt").write_text("# source: written for this test; licence: CC0\n黄片\n", encoding="utf-8")
    common = ["--train", str(rows), "--dev", str(rows), "--lexicons", str(lex), "--no-slang"]
    composed, text_only = tmp_path / "composed", tmp_path / "text-only"
    assert main(["train", "--out", str(composed), *common]) == 0
    man = verify_bundle(composed)  # copied files are hashed like the rest
    assert set(man["components"]) == {"text", "image", "account"}
    assert man["components"]["image"]["copied_from"]["bundle"].startswith("default@")
    assert "lewd_images" in man["categories"]
    assert main(["train", "--out", str(text_only), "--base", "none", *common]) == 0
    man = verify_bundle(text_only)
    assert set(man["components"]) == {"text"}
    card = (text_only / "CARD-text.md").read_text(encoding="utf-8")
    assert "No image component" in card and "No account component" in card
    assert "lacks: image, account" in capsys.readouterr().out


# ---------------------------------------------------------------------------- per-post error lists
def test_cut_post_error_lists_say_how_many_were_omitted(tmp_path):
    images = {0: [f"missing{k}.jpg" for k in range(5)], 1: ["missing.jpg", "ok.jpg"]}
    dump = _dump(tmp_path / "d.jsonl", [acc(1, ["你好", "早"], images=images)])
    out = tmp_path / "v.jsonl"
    main(["score", str(dump), "-o", str(out), "--no-progress", "--posts", "all"], model=FakeClassifier())
    p0, p1 = _lines(out)[0]["posts"]
    assert len(p0["errors"]) == 3 and p0["errors_omitted"] == 2
    assert len(p1["errors"]) == 1 and "errors_omitted" not in p1


# ---------------------------------------------------------------------------- small things
def test_version_prints_the_library_and_default_bundle(capsys):
    from cleanclf import __version__

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"cleanclf {__version__} (default bundle: default@{__version__})"


def test_info_is_text_for_people_and_json_on_request(capsys):
    assert main(["info"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("model       default@") and "\ncomponents  " in text and "missing" not in text
    assert "precision" in text and not text.lstrip().startswith("{")
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert set(info["components"]) == {"text", "image", "account"}


@pytest.mark.parametrize("argv,needle", [
    (["--master", "local[1]"], "--master: applies to --engine spark only"),
    (["--partitions", "4"], "--partitions: applies to --engine spark only"),
    (["--engine", "spark", "--jobs", "2"], "--jobs: applies to --engine local only"),
    (["--engine", "spark", "--chunk-size", "8"], "--chunk-size: applies to --engine local only"),
])
def test_flags_of_the_other_engine_are_refused(tmp_path, capsys, argv, needle):
    dump = _dump(tmp_path / "d.jsonl", mixed(2))
    assert main(["score", str(dump), "-o", str(tmp_path / "v.jsonl"), *argv], model=FakeClassifier()) == 2
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "v.jsonl").exists()


# ---------------------------------------------------------------------------- the run record
def test_run_record_counts_what_the_run_did(tmp_path, capsys):
    recs = [acc(0, ["包夜 加薇 abc123"] * 6, images={0: ["lewd.jpg", "missing.jpg"]}),
            {"account_id": "odd", "posts": [{"id": "p", "text": "你好"}], "crawl_batch": 7},
            "{broken", acc(3, ["你好"])]
    dump = _dump(tmp_path / "d.jsonl", recs)
    out = tmp_path / "v.jsonl"
    assert main(["score", str(dump), "-o", str(out), "--no-progress"], model=FakeClassifier()) == 0
    rec = _record(out)
    assert rec["status"] == "completed" and rec["exit_code"] == 0 and rec["format"] == 1
    assert rec["input"]["path"] == str(dump.resolve()) and rec["input"]["size"] == dump.stat().st_size
    assert rec["model"]["id"] == "fake@0" and rec["model"]["components"] == ["text", "image"]
    assert rec["options"]["posts"] == "flagged" and rec["run_options"]["max_error_rate"] == 0.5
    c = rec["counts"]
    assert (c["accounts"], c["error_rows"], c["posts"], c["images"], c["images_failed"]) == (4, 1, 8, 1, 1)
    assert c["texts"] == (6 + 1) + 1 + (1 + 1)  # post texts, and each account's profile text when it has one
    assert c["flagged"]["solicitation"] == 1
    assert rec["images_failed_by_reason"] == {"not_found": 1}
    assert rec["error_rows_by_type"] == {"RecordError": 1}
    assert rec["warnings_by_code"] == {"unknown_field": 1}  # crawl_batch: not read, counted
    assert set(rec["throughput"]) == {"accounts_per_second", "posts_per_second", "images_per_second"}
    err = capsys.readouterr().err
    assert "error rows by type: RecordError 1" in err and "warnings: unknown_field 1" in err


def test_stdout_output_writes_a_run_record_only_where_asked(tmp_path, capsysbinary):
    dump = _dump(tmp_path / "d.jsonl", mixed(3))
    assert main(["score", str(dump), "-o", "-", "--no-progress"], model=FakeClassifier()) == 0
    assert len(capsysbinary.readouterr().out.splitlines()) == 3 and not list(tmp_path.glob("*.run.json"))
    where = tmp_path / "run.json"
    assert main(["score", str(dump), "-o", "-", "--no-progress", "--run-record", str(where)],
                model=FakeClassifier()) == 0
    rec = json.loads(where.read_text(encoding="utf-8"))
    assert rec["output"] == "-" and rec["counts"]["accounts"] == 3
