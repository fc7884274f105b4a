"""How much of the dev error is label noise? Near-duplicate pairs across train and dev that disagree.

    .venv/bin/python benchmarks/bench_label_consistency.py [--cleanclf default] [--sim 0.8]

For every dev row labelled for a category, its nearest train row by cosine similarity of the
model's own character n-gram tf-idf vectors (the "chars" block of the text features). A pair
with similarity >= ``--sim`` whose labels differ is a *contradiction*: the same spam, one
character or code changed, labelled one way in train and the other in dev (tg-spam's
porn-clip vs hook-up ads with identical wording, DATA.md's rubric deciding on cues a reader
cannot see). No text model can get both rows right. The script prints, per category, the
contradictions, how many of the model's dev errors they account for, and the dev F1 the
model would reach if only those errors were forgiven (an upper bound on what better
modelling of the same labels can buy without relabelling). Writes
benchmarks/out/label_consistency.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import baselines  # noqa: E402

CATS = ("explicit_text", "solicitation")


def nearest(Q, M, batch: int = 1000):
    """(index, cosine) of the nearest row of M for each row of Q (both l2-normalised CSR)."""
    MT = M.T.tocsr()
    idx = np.zeros(Q.shape[0], dtype=np.int64)
    sim = np.zeros(Q.shape[0], dtype=np.float32)
    for s in range(0, Q.shape[0], batch):
        S = (Q[s:s + batch] @ MT).toarray()
        idx[s:s + batch] = S.argmax(1)
        sim[s:s + batch] = S.max(1)
    return idx, sim


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / max(2 * tp + fp + fn, 1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cleanclf", default="default", help="bundle name/dir or a .pkl of a TextModel")
    ap.add_argument("--sim", type=float, default=0.8, help="cosine similarity of a near-duplicate (default 0.8)")
    ap.add_argument("--out", default=str(HERE / "out" / "label_consistency.json"))
    ap.add_argument("--examples", type=int, default=8)
    args = ap.parse_args(argv)
    baselines.require_shared_data()
    from sklearn.preprocessing import normalize as l2

    from bench_text_quality import load_cleanclf
    from cleanclf.text.model import MAX_TEXT_CHARS
    from cleanclf.text.normalize import normalize

    model = load_cleanclf(args.cleanclf)
    if model is None:
        raise SystemExit("cleanclf text model not available (see the message above)")
    tm = getattr(model, "text_model", None) or model
    train = [r for r in baselines.read_jsonl(baselines.TRAIN)]
    dev = baselines.read_jsonl(baselines.DEV)
    chars = dict(tm.features.transformer_list)["chars"]
    ntr = [normalize(r["text"][:MAX_TEXT_CHARS]) for r in train]
    nde = [normalize(r["text"][:MAX_TEXT_CHARS]) for r in dev]
    A, B = l2(chars.transform(ntr)), l2(chars.transform(nde))
    idx, sim = nearest(B, A)
    probs = tm.predict_proba(nde)
    report: dict = {"sim": args.sim, "model": str(args.cleanclf), "categories": {}}
    for j, cat in enumerate(CATS):
        y = np.array([-1 if r[cat] is None else int(r[cat]) for r in dev])
        ny = np.array([-1 if train[k][cat] is None else int(train[k][cat]) for k in idx])
        pred = probs[:, j] >= tm.thresholds[cat]
        lab = y >= 0
        contra = lab & (ny >= 0) & (ny != y) & (sim >= args.sim)
        err = lab & (pred != (y == 1))
        tp = int((lab & pred & (y == 1)).sum())
        fp = int((lab & pred & (y == 0)).sum())
        fn = int((lab & ~pred & (y == 1)).sum())
        fp_c = int((contra & pred & (y == 0)).sum())
        fn_c = int((contra & ~pred & (y == 1)).sum())
        rep = {
            "labelled": int(lab.sum()), "near_duplicate_pairs": int((lab & (ny >= 0) & (sim >= args.sim)).sum()),
            "contradictions": int(contra.sum()), "errors": int(err.sum()),
            "errors_on_contradictions": int((err & contra).sum()),
            "f1": round(f1(tp, fp, fn), 4),
            "f1_contradictions_forgiven": round(f1(tp + fn_c, fp - fp_c, fn - fn_c), 4),
            "examples": [
                {"dev": dev[i]["text"][:60], "dev_label": int(y[i]), "dev_reason": dev[i].get("reason"),
                 "train": train[idx[i]]["text"][:60], "train_label": int(ny[i]),
                 "train_reason": train[idx[i]].get("reason"), "sim": round(float(sim[i]), 3)}
                for i in np.flatnonzero(contra & err)[: args.examples]],
        }
        report["categories"][cat] = rep
        print(f"{cat}: {rep['labelled']} labelled dev rows, {rep['near_duplicate_pairs']} with a labelled train "
              f"near-duplicate (cos >= {args.sim}), {rep['contradictions']} of them labelled the other way; "
              f"model errors {rep['errors']}, {rep['errors_on_contradictions']} on contradictions; "
              f"F1 {rep['f1']:.3f}, {rep['f1_contradictions_forgiven']:.3f} with those forgiven")
        for e in rep["examples"]:
            print(f"   dev {e['dev_label']} ({e['dev_reason']}) {e['dev']!r}  ~{e['sim']}  "
                  f"train {e['train_label']} ({e['train_reason']}) {e['train']!r}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
