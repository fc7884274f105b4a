import subprocess
import sys

def test_python_m_cleanclf_runs_the_cli():
    """`python -m cleanclf` is the `cleanclf` script (for environments without the script on PATH)."""
    r = subprocess.run([sys.executable, "-m", "cleanclf", "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "usage: cleanclf" in r.stdout and "score" in r.stdout
