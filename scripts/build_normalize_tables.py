"""Generate the character tables that :mod:`cleanclf.text.normalize` reads at run time.

Run once (and again when the sources change)::

    .venv/bin/python scripts/build_normalize_tables.py

It writes two JSON files under ``src/cleanclf/data/``, each with a ``_meta``
header naming its source and licence:

* ``t2s_chars.json`` -- traditional -> simplified, one character to one
  character, taken from opencc-python-reimplemented's ``TSCharacters.txt``
  (OpenCC data, Apache-2.0). Where OpenCC lists several candidates the first is
  kept; phrase-level conversion is deliberately not attempted (the normaliser
  works character by character so that offsets stay exact).
* ``unicode_chars.json`` -- derived from the Unicode Character Database shipped
  with this Python (``unicodedata``): the per-character NFKC map, the
  lower-case map, non-ASCII decimal digits and the set of characters that carry
  no letter content (combining marks, format characters, private use, symbols).
  Freezing them in a file keeps normalisation identical across Python versions.

The run-time code never imports opencc; this script is the only place that does.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src" / "cleanclf" / "data"

# Categories whose characters are dropped unless the normaliser's own tables
# keep or map them: marks used as decoration (Mn/Me), invisible format
# characters (Cf: zero-width space/joiners, BOM, bidi controls), private use
# (Co), and symbols (So/Sk, non-ASCII Sm) used as "❤ ☆ ◍ ░" separators.
DROP_CATEGORIES = {"Mn", "Me", "Cf", "Co", "So", "Sk", "Sm"}


def _ranges(codepoints: list[int]) -> list[list[int]]:
    """Compress sorted code points into inclusive [lo, hi] ranges (smaller file)."""
    out: list[list[int]] = []
    for cp in codepoints:
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def build_t2s() -> dict:
    try:
        import opencc
    except ImportError:  # pragma: no cover - build-time helper
        sys.exit("opencc-python-reimplemented is needed to build the tables: pip install opencc-python-reimplemented==0.1.7")
    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    mapping: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or "\t" not in line:
            continue
        trad, simp = line.split("\t", 1)
        simp = simp.split()[0]
        # Only one-to-one characters: offsets stay exact and the map stays
        # idempotent (a simplified output is never itself re-mapped).
        if len(trad) == 1 and len(simp) == 1 and trad != simp:
            mapping[trad] = simp
    # Drop chains (a -> b where b is also a key) by following them once built.
    for key in list(mapping):
        seen = {key}
        val = mapping[key]
        while val in mapping and val not in seen:
            seen.add(val)
            val = mapping[val]
        mapping[key] = val
    return {
        "_meta": {
            "source": "OpenCC TSCharacters.txt via opencc-python-reimplemented 0.1.7 (first candidate, single characters only)",
            "licence": "Apache-2.0 (OpenCC data)",
            "generated_by": "scripts/build_normalize_tables.py",
        },
        "map": dict(sorted(mapping.items())),
    }


def build_unicode() -> dict:
    nfkc: dict[str, str] = {}
    lower: dict[str, str] = {}
    digits: dict[str, str] = {}
    drop: list[int] = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        cat = unicodedata.category(ch)
        if cat == "Cn":
            continue
        norm = unicodedata.normalize("NFKC", ch)
        if norm != ch:
            nfkc[ch] = norm
        low = ch.lower()
        if low != ch:
            lower[ch] = low
        if cat == "Nd" and not ("0" <= ch <= "9"):
            digits[ch] = str(unicodedata.digit(ch))
        elif (cat == "No" and unicodedata.digit(ch, None) is not None
              and not any("0" <= c <= "9" for c in norm)):
            # Single digits NFKC leaves alone: dingbat circled digits (❶ ➀ ➊, U+2776-2793)
            # and ⓿ (U+24FF), spelt into WeChat/QQ numbers ("qw➍➋➏➑➎").
            digits[ch] = str(unicodedata.digit(ch))
        # Supplementary private-use planes (130k code points) are left out:
        # spam uses the BMP private-use area only, and the table stays small.
        if cp >= 0x80 and cat in DROP_CATEGORIES and cp < 0xF0000:
            drop.append(cp)
    return {
        "_meta": {
            "source": f"Unicode Character Database {unicodedata.unidata_version} (Python {sys.version.split()[0]} unicodedata)",
            "licence": "Unicode License v3 (data derived from the UCD)",
            "generated_by": "scripts/build_normalize_tables.py",
            "fields": {
                "nfkc": "character -> unicodedata.normalize('NFKC', character), where different",
                "lower": "character -> str.lower(character), where different",
                "digits": "non-ASCII decimal digit (Nd), or a single-digit No character NFKC leaves without an ASCII digit -> ASCII digit",
                "drop": "inclusive code-point ranges of non-ASCII characters in categories " + ",".join(sorted(DROP_CATEGORIES)),
            },
        },
        "nfkc": nfkc,
        "lower": lower,
        "digits": digits,
        "drop": _ranges(drop),
    }


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, table in (("t2s_chars.json", build_t2s()), ("unicode_chars.json", build_unicode())):
        path = OUT / name
        path.write_text(json.dumps(table, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
        print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
