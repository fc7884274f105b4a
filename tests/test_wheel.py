"""The installed distribution is the product: a wheel built from this tree carries the
default model bundle and works outside the repository.

Offline: the wheel is built without build isolation (setuptools from this venv) and
installed with ``--no-deps --no-index`` into a fresh venv that sees this venv's
dependencies through a ``.pth`` file (``.pth`` files *inside* that directory are not
processed, so the editable install's finder stays inactive there). The online
version, with dependencies from the registry, is ``scripts/wheel_smoke.sh`` (CI).
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"

pytestmark = pytest.mark.slow


def _setuptools_problem() -> str | None:
    try:
        import setuptools
    except ImportError:
        return "setuptools is not installed (pip install -e '.[dev]')"
    major = int(setuptools.__version__.split(".")[0])
    if major < 77:
        return f"setuptools {setuptools.__version__} is older than the build-system's >=77 (pip install -e '.[dev]')"
    return None


def _copy_source(dst: Path) -> Path:
    """The files a build reads, without build/ leftovers or caches of the working tree."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.tmp", "*.egg-info")
    dst.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy2(REPO / name, dst / name)
    for name in ("src", "models", "examples"):
        shutil.copytree(REPO / name, dst / name, ignore=ignore)
    return dst


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "CLEANCLF_MODELS", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONSTARTUP")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    problem = _setuptools_problem()
    if problem:
        pytest.skip(f"cannot build the wheel offline: {problem}")
    tmp = tmp_path_factory.mktemp("wheel")
    src = _copy_source(tmp / "src")
    dist = tmp / "dist"
    _run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation",
          "--disable-pip-version-check", "-q", "-w", dist], cwd=src, env=_clean_env())
    wheels = list(dist.glob("cleanclf-*.whl"))
    assert len(wheels) == 1, wheels
    return tmp, wheels[0]


@pytest.fixture(scope="module")
def installed(built):
    tmp, wheel = built
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False, symlinks=os.name != "nt")
    py = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    _run([sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--no-index",
          "--disable-pip-version-check", "-q", wheel], env=_clean_env())
    # This venv's dependencies, after the new venv's own site-packages on sys.path.
    deps = [p for p in dict.fromkeys([*site.getsitepackages(), *sys.path])
            if p.rstrip("/").endswith(("site-packages", "dist-packages")) and Path(p).is_dir()]
    (purelib / "zz_cleanclf_test_deps.pth").write_text("".join(f"{p}\n" for p in deps), encoding="utf-8")
    run_dir = tmp / "run"
    run_dir.mkdir()
    shutil.copy2(EXAMPLES / "accounts.jsonl", run_dir / "accounts.jsonl")
    shutil.copytree(EXAMPLES / "images", run_dir / "images")
    return env_dir, py, run_dir


def test_wheel_holds_every_hashed_file_and_every_package(built):
    _, wheel = built
    names = set(zipfile.ZipFile(wheel).namelist())
    manifest = json.loads((REPO / "models" / "default" / "manifest.json").read_text(encoding="utf-8"))
    missing = [rel for rel in [*manifest["files"], "manifest.json"] if f"cleanclf/bundles/default/{rel}" not in names]
    assert not missing, f"the wheel lacks bundle files {missing}"
    assert "cleanclf/bundles/__init__.py" in names
    packages = sorted(str(p.parent.relative_to(REPO / "src")).replace(os.sep, "/")
                      for p in (REPO / "src").rglob("__init__.py") if "__pycache__" not in p.parts)
    assert packages and all(f"{pkg}/__init__.py" in names for pkg in packages), packages
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".tmp"))]
    # cleanclf report renders from package data: its template and its one JS and CSS asset
    assert {f"cleanclf/report/templates/{n}" for n in ("report.html.j2", "report.js", "report.css")} <= names
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    import cleanclf

    assert f"\nVersion: {cleanclf.__version__}\n" in meta
    assert "Requires-Dist: scikit-learn<1.10,>=1.9" in meta or "Requires-Dist: scikit-learn>=1.9,<1.10" in meta


def test_installed_wheel_loads_its_own_bundle_outside_the_repository(installed):
    env_dir, py, run_dir = installed
    code = (
        "import json, cleanclf\n"
        "from cleanclf import models\n"
        "clf = cleanclf.load()\n"
        "man = models.verify_bundle(models.bundle_dir('default'))\n"
        "print(json.dumps({'file': cleanclf.__file__, 'root': str(models.models_root()), 'model': clf.model_id,\n"
        "                  'version': cleanclf.__version__, 'requires': man.get('requires')}))\n"
    )
    proc = _run([py, "-c", code], cwd=run_dir, env=_clean_env())
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    root = env_dir.resolve()
    assert root in Path(got["file"]).resolve().parents, got
    assert root in Path(got["root"]).resolve().parents, got
    assert REPO not in Path(got["file"]).resolve().parents
    assert got["model"].startswith("default@")
    import cleanclf

    assert got["version"] == cleanclf.__version__


def test_installed_cli_scores_the_example(installed):
    env_dir, py, run_dir = installed
    exe = env_dir / ("Scripts/cleanclf.exe" if os.name == "nt" else "bin/cleanclf")
    _run([exe, "score", "accounts.jsonl", "-o", "out.jsonl"], cwd=run_dir, env=_clean_env())
    records = [line for line in (run_dir / "accounts.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    out = [json.loads(line) for line in (run_dir / "out.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(out) == len(records)
    assert any(r.get("labels") for r in out)
