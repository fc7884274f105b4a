"""Shared fixtures: a small text model trained on texts written here (no shared data needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

from _texts import BENIGN, EXPLICIT, SOLICIT, TINY_LEXICONS  # noqa: E402  (tests/ is on sys.path via this conftest)


def tiny_rows():
    rows = []
    for t in SOLICIT:
        rows.append({"text": t, "explicit_text": 0, "solicitation": 1, "source": "demo-spam"})
    for t in EXPLICIT:
        rows.append({"text": t, "explicit_text": 1, "solicitation": 0, "source": "demo-spam"})
    for t in BENIGN:
        rows.append({"text": t, "explicit_text": 0, "solicitation": 0, "source": "demo-benign"})
    return rows * 3


@pytest.fixture(scope="session")
def tiny_text_model():
    from cleanclf.training import fit_text_model

    return fit_text_model(tiny_rows(), lexicons=TINY_LEXICONS, cv=2, C=4.0)


@pytest.fixture(scope="session")
def shared_data():
    if not (SHARED_DATA / "text" / "train.jsonl").is_file():
        pytest.skip("../shared/data is not present (a user's clone has none)")
    return SHARED_DATA
