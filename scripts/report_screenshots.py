"""Screenshots of the review report for README.md: docs/report-overview.png, docs/report-account.png.

Scores the example dump, builds its report and photographs it in headless Chromium (Debian's
``/usr/bin/chromium`` through playwright). Run from the repository root:

    python scripts/report_screenshots.py
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from cleanclf import cli

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = "demo-escort-bio"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        v, html = Path(tmp) / "verdicts.jsonl", Path(tmp) / "report.html"
        ex = ROOT / "examples"
        assert cli.main(["score", str(ex / "accounts.jsonl"), "-o", str(v), "--posts", "all", "--no-progress"]) == 0
        assert cli.main(["report", str(v), "-o", str(html), "--dump", str(ex / "accounts.jsonl"),
                         "--images-root", str(ex)]) == 0
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = b.new_page(viewport={"width": 1100, "height": 900})
            page.goto(html.as_uri())
            page.wait_for_selector("html[data-ready='1']")
            page.screenshot(path=str(ROOT / "docs" / "report-overview.png"), full_page=True)
            ids = [r["id"] for r in json.loads(page.locator("#queue-data").text_content())]
            page.evaluate(f"location.hash = '#account/{ids.index(ACCOUNT)}'")
            page.wait_for_selector(".acc-id")
            page.screenshot(path=str(ROOT / "docs" / "report-account.png"), full_page=True, clip={"x": 0, "y": 0, "width": 1100, "height": 1250})
            b.close()


if __name__ == "__main__":
    main()
