"""Training: reading labelled data, fitting, thresholds, evaluation, bundle writing, model cards.

One module per job; this package re-exports what notebooks and ``cleanclf train`` use.

- :mod:`~cleanclf.training.data`: where the data is (an argument or ``$CLEANCLF_DATA``), the row
  format, cleanclf's own training rows, the frozen test split;
- :mod:`~cleanclf.training.fit`: :func:`fit_text_model`;
- :mod:`~cleanclf.training.thresholds`: best F1 under a hard-negative false-positive bound;
- :mod:`~cleanclf.training.evaluate`: metrics of a model on labelled rows;
- :mod:`~cleanclf.training.bundle`: :func:`build_text_component` (fit + write a bundle's text component);
- :mod:`~cleanclf.training.cards`: the text model card.

>>> from cleanclf.training import read_posts, fit_text_model, build_text_component  # doctest: +SKIP
"""

from __future__ import annotations

from .bundle import build_text_component
from .cards import CARD_NOTES_MARKER, TEXT_CARD, text_model_card
from .data import (EVALUATION_ONLY_SOURCES, NONCOMMERCIAL, OWN_ROWS_DIR, data_dir, default_training_rows, feedback_rows,
                   find_data_dir,
                   fingerprint, frozen_test_rows, in_frozen_test, iter_rows, near_duplicate_groups,
                   near_duplicate_key, own_training_paths, parse_label, read_posts, row_weights, training_summary)
from .evaluate import evaluate_model, summarize_report
from .fit import CLASSIFIERS, DEFAULT_C, DEFAULT_NB_C, THRESHOLDS_ON, fit_text_model
from .thresholds import choose_thresholds

__all__ = [
    "build_text_component", "CARD_NOTES_MARKER", "TEXT_CARD", "text_model_card", "EVALUATION_ONLY_SOURCES",
    "NONCOMMERCIAL", "OWN_ROWS_DIR", "data_dir", "default_training_rows", "feedback_rows", "find_data_dir", "fingerprint", "frozen_test_rows",
    "in_frozen_test", "iter_rows", "near_duplicate_groups", "near_duplicate_key", "own_training_paths",
    "parse_label", "read_posts", "row_weights", "training_summary", "evaluate_model", "summarize_report",
    "CLASSIFIERS", "DEFAULT_C", "DEFAULT_NB_C", "THRESHOLDS_ON", "fit_text_model", "choose_thresholds",
]
