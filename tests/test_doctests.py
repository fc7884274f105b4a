"""The runnable examples in the docstrings of the text and training modules run and say what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["cleanclf.text.lexicon", "cleanclf.text.features", "cleanclf.text.linear",
                                  "cleanclf.text.classifier", "cleanclf.text.fastngrams", "cleanclf.image.head",
                                  "cleanclf.training.data", "cleanclf.training.fit", "cleanclf.training.thresholds"])
def test_module_doctests(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0, result
