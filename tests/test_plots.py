"""plots: non-empty PNGs for a small generated report; lazy matplotlib; bad input named."""

from __future__ import annotations

import doctest
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cleanclf.errors import MissingDependencyError


def _report(n=400, seed=0):
    rng = np.random.default_rng(seed)
    rows, preds = [], []
    for i in range(n):
        e, s = int(rng.random() < 0.25), int(rng.random() < 0.2)
        rows.append({"id": f"r{i}", "source": ["tg-spam", "sms800k", "literature", "x", "y"][i % 5],
                     "explicit_text": e if i % 7 else None, "solicitation": s})
        if i == 3:
            preds.append({"error": {"type": "InputTypeError", "message": "not a str"}})
            continue
        preds.append({"explicit_text": float(1 / (1 + np.exp(-rng.normal(3 * e - 1.5, 1)))),
                      "solicitation": float(1 / (1 + np.exp(-rng.normal(3 * s - 1.5, 1)))),
                      "labels": [], "evidence": []})
    return rows, preds


def test_save_evaluation_plots_writes_png_files(tmp_path):
    pytest.importorskip("matplotlib")
    from cleanclf.plots import save_evaluation_plots

    rows, preds = _report()
    paths = save_evaluation_plots(rows, preds, {"explicit_text": 0.5, "solicitation": 0.7}, tmp_path / "plots",
                                  top_sources=3)
    names = sorted(p.name for p in paths)
    assert names == ["pr_curves.png", "reliability.png", "scores_by_source_explicit_text.png",
                     "scores_by_source_solicitation.png"]
    for p in paths:
        data = p.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, p
    from PIL import Image

    with Image.open(tmp_path / "plots" / "pr_curves.png") as im:
        # one panel per category side by side, and not a blank canvas
        assert im.width > im.height
        assert len(im.convert("L").getcolors(1 << 16)) > 20


def test_image_category_and_compare(tmp_path):
    pytest.importorskip("matplotlib")
    from cleanclf.plots import pr_curve_figure, save_evaluation_plots

    rows = [{"lewd_images": y, "source": "user"} for y in (0, 1) * 10]
    preds = [{"lewd_images": 0.2 + 0.5 * r["lewd_images"], "labels": []} for r in rows]
    paths = save_evaluation_plots(rows, preds, {"lewd_images": 0.8}, tmp_path)
    assert [p.name for p in paths][-1] == "scores_by_source_lewd_images.png"
    other = [{"lewd_images": 0.5} for _ in rows]
    fig = pr_curve_figure(rows, preds, {"lewd_images": 0.5}, compare={"default": (other, {"lewd_images": 0.8})})
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(t.startswith("default") for t in labels) and any(t.startswith("model") for t in labels)


def test_bad_input_is_named(tmp_path):
    pytest.importorskip("matplotlib")
    from cleanclf.plots import save_evaluation_plots

    rows, preds = _report(20)
    with pytest.raises(ValueError, match="rows and predictions"):
        save_evaluation_plots(rows, preds[:-1], {"solicitation": 0.5}, tmp_path)
    with pytest.raises(ValueError, match="no threshold"):
        save_evaluation_plots(rows, preds, {"solicitation": 0.5}, tmp_path, categories=["explicit_text"])
    with pytest.raises(ValueError, match=r"rows\[0\]\['solicitation'\]"):
        save_evaluation_plots([{"solicitation": 2}], [{"solicitation": 0.1}], {"solicitation": 0.5}, tmp_path)
    with pytest.raises(ValueError, match="nothing to plot"):
        save_evaluation_plots(rows, preds, {"lewd_images": 0.5}, tmp_path)


def test_doctests():
    pytest.importorskip("matplotlib")
    from cleanclf import plots

    res = doctest.testmod(plots)
    assert res.failed == 0 and res.attempted > 0


def test_import_is_light_and_missing_matplotlib_says_how_to_install():
    # A fresh interpreter where matplotlib cannot be imported: the module imports,
    # and plotting raises MissingDependencyError naming the extra.
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "import cleanclf.plots as p\n"
        "assert 'matplotlib.figure' not in sys.modules\n"
        "try:\n"
        "    p.save_evaluation_plots([{'solicitation': 1}, {'solicitation': 0}],"
        " [{'solicitation': .9}, {'solicitation': .1}], {'solicitation': .5}, 'unused-dir-must-not-appear')\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "MissingDependencyError" in out.stdout and "pip install 'cleanclf[plots]'" in out.stdout
    assert issubclass(MissingDependencyError, ImportError)
    assert not (Path.cwd() / "unused-dir-must-not-appear").exists()
