"""The text component's model card, rendered from the manifest (hand-kept notes carried over)."""

from __future__ import annotations

import json

TEXT_CARD = "CARD-text.md"
#: Everything after this line of a text model card is kept when the component is rebuilt
#: (benchmark figures and weaknesses, written by people; the rest is rendered).
CARD_NOTES_MARKER = "<!-- notes below are kept when `cleanclf train` rebuilds this card -->"


def text_model_card(manifest: dict, extra: str = "") -> str:
    """Render the text component's model card (markdown) from a bundle manifest.

    ``extra`` is appended verbatim (robustness / leave-one-source-out figures
    measured by ``benchmarks/bench_text_quality.py``).
    """
    sec = manifest["components"]["text"]
    lines = [f"# Text model card: `explicit_text`, `solicitation` ({manifest['name']}@{manifest['version']})", "",
             "## What it is", "", f"- {sec['model']}.",
             f"- Parameters: `{json.dumps(sec['params'], ensure_ascii=False)}`.",
             f"- Thresholds: `{json.dumps(sec['thresholds'])}` ({sec['thresholds_from']}).",
             f"- Rebuild: `{sec['rebuild']}`; training-data fingerprint `{sec['training_fingerprint']}`.", "",
             "## Training data", "", "| source | rows | explicit_text = 1 | solicitation = 1 | licence |",
             "|---|---|---|---|---|"]
    for d in sec["training_data"]:
        lines.append(f"| {d['source']} | {d['rows']} | {d['explicit_text']} | {d['solicitation']} | {d['licence']} |")
    lines += ["", "No source marked non-commercial trained this model (the trainer refuses such rows). Sources under "
              "research terms (CBLUE, NUS SMS, UCI) or with no stated licence (sms800k, backpage, reviews, news "
              "titles) did; retrain without any of them with `cleanclf train --exclude-licence research` / "
              "`--exclude-source NAME`.", "", "Lexicons (features, stored in the bundle):", ""]
    for name, m in sec.get("lexicons", {}).items():
        lines.append(f"- `{name}`: {m['terms']} terms, {m['regexes']} regexes; {m['source']}; licence {m['licence']}")
    dev = sec.get("metrics", {}).get("dev")
    if dev:
        lines += ["", "## Metrics on the dev split (thresholds above)", "",
                  "| category | n | positives | precision | recall | F1 | PR-AUC | ECE |", "|---|---|---|---|---|---|---|---|"]
        for c, r in dev["categories"].items():
            lines.append(f"| {c} | {r['n']} | {r['positives']} | {r['precision']:.3f} | {r['recall']:.3f} | "
                         f"{r['f1']:.3f} | {r['pr_auc']:.3f} | {r['ece']:.4f} |")
        hn = dev.get("hard_negatives", {})
        if hn.get("overall"):
            o = hn["overall"]
            lines += ["", f"Hard negatives (medical queries, sms800k ham incl. legitimate 上门服务 / 小姐, reviews, "
                      f"QQ-group ads, bilibili look-alikes): {o['fp']} false positives of {o['n']} "
                      f"(FPR {100 * o['fpr']:.2f} %)."]
            for src, v in sorted(hn.get("by_source", {}).items()):
                lines.append(f"- {src}: {v['fp']} / {v['n']}")
        lines += ["", "The dev split shares near-duplicates with train (DATA.md), so these figures are optimistic; "
                  "see the novel-dev and leave-one-source-out figures below."]
    if extra:
        lines += ["", extra.strip()]
    return "\n".join(lines) + "\n"
