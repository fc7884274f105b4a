"""Writing a fitted text model into a bundle: the model file, its manifest section and its card."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Iterable, Sequence

from ..categories import TEXT_CATEGORIES
from .cards import CARD_NOTES_MARKER, TEXT_CARD, text_model_card
from .data import (TEST_SALT, TEST_SHARE, default_training_rows, find_data_dir, fingerprint, frozen_test_rows,
                   read_posts)
from .evaluate import evaluate_model, summarize_report
from .fit import fit_text_model


def build_text_component(out_dir: str | os.PathLike, *, data_dir: str | os.PathLike | None = None,
                         train_files: Sequence[str] = (), dev_files: Sequence[str] = (),
                         lexicon_dir: str | os.PathLike | None = None, synthetic: bool = True,
                         exclude_sources: Iterable[str] = (), exclude_licences: Iterable[str] = (),
                         frozen_test: bool = True, name: str | None = None, version: str | None = None,
                         verbose: bool = True, base: str | os.PathLike | None = None,
                         feedback: Sequence[dict] = (), feedback_in_dev: bool = False,
                         **fit_kw) -> dict:
    """Fit the text model and write it as the ``text`` component of a bundle; returns the manifest.

    With ``data_dir`` (default: ``$CLEANCLF_DATA``) it trains on
    ``text/train.jsonl`` (+ ``synthetic.jsonl`` and cleanclf's own rows) and
    chooses thresholds and reports metrics on ``text/dev.jsonl``, all without the
    frozen test split (``frozen_test=False`` keeps it in);
    ``train_files`` / ``dev_files`` replace those with your own labelled files.

    ``base`` (a bundle name such as ``"default"``, or a directory): the components
    ``out_dir`` does not have yet (``image``, ``account``) are copied from it first, so the
    written bundle scores images and uses the base's account rule (``cleanclf train`` passes
    ``"default"`` unless told ``--base none``). Without ``base`` a new bundle has only its
    ``text`` component; its model card says what it lacks.

    ``feedback``: labelled rows from reviewers' decisions (:func:`~cleanclf.training.data.feedback_rows`),
    added to the training rows only; ``feedback_in_dev=True`` also adds them to the dev rows
    (thresholds and dev metrics then see them). They never enter the frozen test split.
    """
    from ..models import update_component

    kw = dict(exclude_sources=tuple(exclude_sources), exclude_licences=tuple(exclude_licences))
    if train_files:
        train = read_posts(list(train_files), **kw)
        dev = read_posts(list(dev_files), **kw) if dev_files else []
        shared = Path(data_dir) if data_dir else find_data_dir()
        lex = Path(lexicon_dir) if lexicon_dir else (shared / "lexicons" if shared else None)
        if lex is None and verbose:
            print("warning: no --lexicons and no data directory: training with cleanclf's own slang lexicon only",
                  flush=True)
    else:
        train, dev, lex = default_training_rows(data_dir, synthetic=synthetic, frozen_test=frozen_test, **kw)
        lex = Path(lexicon_dir) if lexicon_dir else lex
    if feedback:
        train = [*train, *feedback]
        if feedback_in_dev:
            dev = [*dev, *feedback]
        if verbose:
            print(f"feedback: {len(feedback)} rows from review decisions added to training"
                  + (" and dev" if feedback_in_dev else " (not to dev or test)"), flush=True)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if base is not None:
        compose_from_base(out_dir, base, verbose=verbose)
    model = fit_text_model(train, dev_rows=dev or None, lexicons=lex if lex and lex.is_dir() else None,
                           verbose=verbose, **fit_kw)
    metrics = {}
    if dev:
        metrics["dev"] = summarize_report(evaluate_model(model, dev))
    test_split = None
    if not train_files and frozen_test:
        # Reported, never tuned on: fitting and thresholds above did not see these rows.
        test = frozen_test_rows(data_dir, **kw)
        metrics["test"] = summarize_report(evaluate_model(model, test))
        test_split = {"rows": len(test), "share_of_groups": TEST_SHARE, "salt": TEST_SALT,
                      "definition": "shared train.jsonl + dev.jsonl rows whose near-duplicate key hashed into "
                                    "the test share when the split was drawn (cleanclf 0.6.0), read from the "
                                    "list cleanclf/data/frozen_test_v1.tsv.gz so that later normalisers keep the "
                                    "same rows (cleanclf.training.data.in_frozen_test); left out of training "
                                    "and threshold choice"}
    filename = model.save(out_dir)
    section = {
        "files": [filename],
        "categories": list(TEXT_CATEGORIES),
        "thresholds": model.thresholds,
        "thresholds_from": model.meta.get("thresholds_from", "fixed 0.5 (no dev rows)"),
        "model": "char n-grams + lexicon hits + contact features of normalised text; one "
                 + ("logistic regression on naive-Bayes-scaled features (NBSVM)"
                    if model.meta["params"].get("classifier") == "nblr" else "logistic regression")
                 + " per category, sigmoid-calibrated",
        "params": model.meta["params"],
        "training_data": model.meta["training"],
        "training_fingerprint": fingerprint(train),
        "excluded": {"sources": list(kw["exclude_sources"]), "licences": list(kw["exclude_licences"])},
        "licences": sorted({d["licence"] for d in model.meta["training"]}),
        "lexicons": model.meta["lexicons"],
        "label_counts": model.meta["label_counts"],
        "metrics": metrics,
        **({"frozen_test": test_split} if test_split else {}),
        "rebuild": "cleanclf train --data DIR --out models/default  (DIR: the labelled data, or $CLEANCLF_DATA)",
    }
    manifest = update_component(out_dir, "text", section, name=name, version=version)
    # The model card is part of the component (hashed like the model): rendered from the
    # manifest, with the hand-kept notes below CARD_NOTES_MARKER of an existing card carried over.
    card = out_dir / TEXT_CARD
    notes = ""
    if card.is_file():
        old = card.read_text(encoding="utf-8")
        if CARD_NOTES_MARKER in old:
            notes = CARD_NOTES_MARKER + old.split(CARD_NOTES_MARKER, 1)[1]
    card.write_text(text_model_card(manifest, notes), encoding="utf-8")
    section["files"] = [filename, TEXT_CARD]
    return update_component(out_dir, "text", section, name=name, version=version)


#: The components :func:`compose_from_base` copies (the text component is the one being trained).
COPIED_COMPONENTS = ("image", "account")


def compose_from_base(out_dir: str | os.PathLike, base: str | os.PathLike,
                      components: Sequence[str] = COPIED_COMPONENTS, *, verbose: bool = False) -> list[str]:
    """Copy the ``components`` that ``out_dir`` lacks from the verified bundle ``base`` (their
    files and manifest sections, with ``copied_from``: the base's id and manifest sha256);
    returns the names copied. Components ``out_dir`` already has are kept as they are. Only
    hashed files are copied; nothing is unpickled.

    The account rule counts posts over the text component's post thresholds: a copied
    ``account`` component was calibrated with the base's text model (its card says so).
    """
    from ..models import read_manifest, resolve, update_component, verify_bundle
    from ..errors import BundleNotFoundError

    out_dir = Path(out_dir)
    # a path is only read and copied (hashes checked), never unpickled: no trust needed here
    src = resolve(base, trust=True)
    base_man = verify_bundle(src)
    try:
        have = set(read_manifest(out_dir).get("components", {}))
    except BundleNotFoundError:
        have = set()
    digest = hashlib.sha256((src / "manifest.json").read_bytes()).hexdigest()
    base_id = f"{base_man.get('name', src.name)}@{base_man.get('version', '0')}"
    copied = []
    for comp in components:
        section = base_man.get("components", {}).get(comp)
        if comp in have or section is None:
            continue
        for rel in section.get("files", []):
            dst = out_dir / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / rel, dst)
        section = dict(section)
        section["copied_from"] = {"bundle": base_id, "manifest_sha256": digest, "updated": section.get("updated")}
        update_component(out_dir, comp, section)
        copied.append(comp)
    if copied and verbose:
        print(f"kept the {', '.join(copied)} component(s) of {base_id} (--base none writes a text-only bundle)",
              flush=True)
    return copied
