#!/usr/bin/env bash
# Install a built cleanclf (wheel or sdist) into a fresh venv OUTSIDE the repository
# and use it from a temp directory outside the repository, with nothing of the
# checkout on the path: the installed distribution must carry its model.
#
#   scripts/wheel_smoke.sh dist/cleanclf-0.7.0-py3-none-any.whl
#   scripts/wheel_smoke.sh dist/cleanclf-0.7.0.tar.gz
#   scripts/wheel_smoke.sh ARTIFACT --no-deps --no-index   # extra args go to pip install
#
# Dependencies come from the package registry (pip's usual index). Checks:
# `cleanclf score` on a copy of examples/accounts.jsonl (and its images) exits 0
# and writes one line per input record; `import cleanclf; cleanclf.load()` works;
# cleanclf and its bundled models are imported from the new venv.
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 WHEEL_OR_SDIST [PIP_INSTALL_ARGS...]" >&2
  exit 2
fi
artifact="$(realpath "$1")"
shift
repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
case "$work" in "$repo"/*) echo "wheel_smoke: temp dir $work is inside the repository" >&2; exit 1 ;; esac

echo "wheel_smoke: installing $(basename "$artifact") into a fresh venv in $work"
"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" "$artifact"

mkdir "$work/run"
cp "$repo/examples/accounts.jsonl" "$work/run/"
cp -r "$repo/examples/images" "$work/run/"
cd "$work/run"

# Nothing from the caller's environment may point back into the checkout.
unset CLEANCLF_MODELS PYTHONPATH VIRTUAL_ENV
rc=0
"$work/venv/bin/cleanclf" score accounts.jsonl -o out.jsonl || rc=$?
if [[ $rc -ne 0 ]]; then
  echo "wheel_smoke: FAIL: cleanclf score exited $rc" >&2
  exit 1
fi

"$work/venv/bin/python" - "$work/venv" <<'EOF'
import json
import sys
from pathlib import Path

venv = Path(sys.argv[1]).resolve()
records = [line for line in Path("accounts.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
out = [json.loads(line) for line in Path("out.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
assert len(out) == len(records), f"{len(out)} output lines for {len(records)} input records"
assert all("account_id" in r for r in out), "an output line without account_id"
assert any(r.get("labels") for r in out), "no account labelled at all: is the model really loaded?"

import cleanclf
from cleanclf import models

where = Path(cleanclf.__file__).resolve()
assert venv in where.parents, f"cleanclf imported from {where}, not from the venv {venv}"
root = models.models_root().resolve()
assert venv in root.parents, f"bundled models found at {root}, not inside the venv {venv}"
clf = cleanclf.load()
manifest = models.verify_bundle(models.bundle_dir("default"))
print(f"wheel_smoke: OK: cleanclf {cleanclf.__version__} from {where.parent}; {clf.model_id} "
      f"({len(manifest['files'])} files verified); {len(out)} lines for {len(records)} records, "
      f"{sum(bool(r.get('labels')) for r in out)} labelled, {sum(bool(r.get('error')) for r in out)} error rows")
EOF
