from __future__ import annotations

import pickle

from cleanclf.text.lexicon import TermMatcher, _js_regex, find_minor_signals, read_lexicon_dir, read_lexicon_file


def test_longest_match_and_spans():
    m = TermMatcher({"a": ["包夜", "包夜服务"], "b": ["上门"]})
    hits = m.find("上门包夜服务")
    assert [(h.term, h.start, h.end) for h in hits] == [("上门", 0, 2), ("包夜服务", 2, 6)]


def test_ascii_terms_match_whole_words_only():
    m = TermMatcher({"en": ["ass", "anal"]})
    assert m.find("first class analysis") == []
    assert [h.term for h in m.find("nice ass")] == ["ass"]


def test_regex_lines_and_pickle():
    m = TermMatcher({"a": ["炮友"]}, {"rx": ["(?:同城|附近).*?(?:约见|上门)"]})
    m2 = pickle.loads(pickle.dumps(m))
    assert {h.term for h in m2.find("附近的可以上门 炮友")} == {"附近的可以上门", "炮友"}


def test_js_regex_conversion():
    assert _js_regex("/ab+c/i") == "(?i:ab+c)"
    assert _js_regex("/(?=.*x)(?=.*y)/").startswith("^")
    assert _js_regex("/(unclosed/") is None


def test_read_lexicon_file(tmp_path):
    p = tmp_path / "solicitation_demo.txt"
    p.write_text("# source: made up for a test\n# licence: CC0\n包夜\n\n/同城.*约/i\n", encoding="utf-8")
    lex = read_lexicon_file(p)
    assert lex["terms"] == ["包夜"] and lex["regexes"] == ["(?i:同城.*约)"]
    assert lex["licence"] == "CC0" and lex["source"] == "made up for a test"
    assert read_lexicon_dir(tmp_path)["solicitation_demo"]["category"] == "solicitation"


def test_minor_signals():
    assert [t for t, _, _ in find_minor_signals("学生妹 包夜")] == ["学生妹"]
    assert [t for t, _, _ in find_minor_signals("16岁 lolita")] == ["lolita", "16岁"]
    assert find_minor_signals("我今年25岁 外卖很好吃") == []


def test_slang_lexicon_ships_with_meanings_and_categories():
    from cleanclf.text.lexicon import read_slang_lexicon

    lex = read_slang_lexicon()
    cats = {name: entry["category"] for name, entry in lex.items()}
    assert cats["slang_explicit_talk"] == "explicit_text" and cats["slang_solicit_paid"] == "solicitation"
    assert all(c is None for n, c in cats.items() if n.startswith("context_"))
    for entry in lex.values():
        assert entry["licence"] == "CC0" and set(entry["meanings"]) == set(entry["terms"])
        assert all(entry["meanings"][t] for t in entry["terms"])
    # adults only: the lexicon never names minors (those are escalation signals, not features)
    from cleanclf.text.lexicon import MINOR_TERMS

    assert not {t for e in lex.values() for t in e["terms"]} & set(MINOR_TERMS)


def test_slang_lexicon_rejects_a_malformed_row(tmp_path):
    import pytest

    from cleanclf.errors import InputError
    from cleanclf.text.lexicon import read_slang_lexicon

    path = tmp_path / "s.tsv"
    path.write_text("# licence: CC0\n约炮\tslang_solicit_hookup\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 2"):
        read_slang_lexicon(path)
