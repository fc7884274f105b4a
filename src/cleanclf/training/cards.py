"""The text component's model card, rendered from the manifest (hand-kept notes carried over)."""

from __future__ import annotations

import json

TEXT_CARD = "CARD-text.md"
#: Everything after this line of a text model card is kept when the component is rebuilt
#: (benchmark figures and weaknesses, written by people; the rest is rendered).
CARD_NOTES_MARKER = "<!-- notes below are kept when `cleanclf train` rebuilds this card -->"


def _bundle_line(manifest: dict) -> str:
    """What the bundle has besides this text model, and what it lacks (and what that means)."""
    comps = manifest.get("components", {})
    parts = []
    for c in ("image", "account"):
        if c in comps:
            src = comps[c].get("copied_from")
            parts.append(f"{c} (copied from {src['bundle']})" if isinstance(src, dict) else c)
    line = "- Bundle components: text" + "".join(f", {p}" for p in parts) + "."
    if "image" not in comps:
        line += " No image component: `lewd_images` is not scored (null in verdicts)."
    if "account" not in comps:
        line += " No account component: account verdicts use the default count rule."
    if isinstance(comps.get("account", {}).get("copied_from"), dict):
        line += " The account rule was calibrated with that bundle's text model."
    return line


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
             f"- Rebuild: `{sec['rebuild']}`; training-data fingerprint `{sec['training_fingerprint']}`.",
             _bundle_line(manifest), "",
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
    metrics = sec.get("metrics", {})
    test = metrics.get("test")
    if test:
        ft = sec.get("frozen_test", {})
        lines += ["", "## Metrics on the frozen test split (the headline; thresholds above)", "",
                  f"{ft.get('rows', '?')} rows of the shared train + dev files: whole near-duplicate groups (a salted "
                  "hash of each row's near-duplicate key, drawn once with cleanclf 0.6.0 and read from a list since, so "
                  "normaliser changes keep the same rows), left out of fitting, threshold choice and every model "
                  "choice; only reported. Per language beside all rows.", ""]
        lines += _metric_table(test, by_lang=True)
        lines += _hard_negatives(test)
    dev = metrics.get("dev")
    if dev:
        lines += ["", "## Metrics on the dev split (the thresholds were chosen here)", ""]
        lines += _metric_table(dev, by_lang=False)
        lines += _hard_negatives(dev)
        lines += ["", "The dev split shares near-duplicates with train (DATA.md) and chose the thresholds, so these "
                  "figures are optimistic; the frozen test split above and the leave-one-source-out figures below "
                  "are the honest ones."]
    if extra:
        lines += ["", extra.strip()]
    return "\n".join(lines) + "\n"


def _metric_table(report: dict, *, by_lang: bool) -> list[str]:
    lines = ["| category | rows | n | positives | precision | recall | F1 | PR-AUC | ECE |",
             "|---|---|---|---|---|---|---|---|---|"]
    parts = [("all", report["categories"])] + (sorted(report.get("by_lang", {}).items()) if by_lang else [])
    for c in report["categories"]:
        for lang, cats in parts:
            r = cats.get(c)
            if not r:
                continue
            lines.append(f"| {c} | {lang} | {r['n']} | {r['positives']} | {r['precision']:.3f} | {r['recall']:.3f} | "
                         f"{r['f1']:.3f} | {_num(r.get('pr_auc'), 3)} | {_num(r.get('ece'), 4)} |")
    return lines


def _hard_negatives(report: dict) -> list[str]:
    o = report.get("hard_negatives", {}).get("overall")
    if not o:
        return []
    lines = ["", f"Hard negatives (medical queries, sms800k ham incl. legitimate 上门服务 / 小姐, reviews, "
             f"QQ-group ads, bilibili look-alikes): {o['fp']} false positives of {o['n']} (FPR {100 * o['fpr']:.2f} %)."]
    for src, v in sorted(report["hard_negatives"].get("by_source", {}).items()):
        lines.append(f"- {src}: {v['fp']} / {v['n']}")
    return lines


def _num(v, digits: int) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"
