"""cleanclf.metrics on small hand-computed cases (no shared data needed)."""

from __future__ import annotations

import doctest
import json

import numpy as np
import pytest

from cleanclf import metrics
from cleanclf.metrics import (
    HARD_NEGATIVE_SOURCES,
    best_f1_threshold,
    binary_report,
    evaluate_rows,
    expected_calibration_error,
    hard_negative_report,
    novel_mask,
    threshold_for_precision,
)


def test_doctests():
    res = doctest.testmod(metrics)
    assert res.attempted > 10 and res.failed == 0


def test_binary_report_hand_computed():
    # tp: .9 ; fp: .6, .55 ; fn: .3 ; tn: .1, .2 ; None row ignored even with a high score
    y = [1, 1, 0, 0, 0, 0, None]
    s = [0.9, 0.3, 0.6, 0.55, 0.1, 0.2, 1.0]
    r = binary_report(y, s, threshold=0.5)
    assert (r["n"], r["positives"], r["tp"], r["fp"], r["fn"], r["tn"]) == (6, 2, 1, 2, 1, 2)
    assert r["precision"] == pytest.approx(1 / 3)
    assert r["recall"] == pytest.approx(0.5)
    assert r["f1"] == pytest.approx(2 * (1 / 3) * 0.5 / (1 / 3 + 0.5))
    # ranking: .9(+) .6 .55 .3(+) .2 .1 -> AP = (1/1 + 2/4) / 2
    assert r["pr_auc"] == pytest.approx(0.75)
    brier = np.mean([(0.9 - 1) ** 2, (0.3 - 1) ** 2, 0.6 ** 2, 0.55 ** 2, 0.1 ** 2, 0.2 ** 2])
    assert r["brier"] == pytest.approx(brier)
    # bins: [.9]->y1 |1-.9|; [.3]->y1 .7; [.6]->y0 .6; [.55]->y0 .55; [.1]->.1; [.2]->.2 (each alone)
    assert r["ece"] == pytest.approx((0.1 + 0.7 + 0.6 + 0.55 + 0.1 + 0.2) / 6)
    json.dumps(r)  # plain JSON, no numpy scalars


def test_threshold_is_inclusive():
    r = binary_report([1, 0], [0.5, 0.49], threshold=0.5)
    assert r["tp"] == 1 and r["fp"] == 0


def test_binary_report_undefined_metrics():
    r = binary_report([0, 0, None], [0.1, 0.7, 0.2], threshold=0.5)
    assert r["positives"] == 0 and r["pr_auc"] is None
    assert r["precision"] == 0.0 and r["recall"] == 0.0 and r["f1"] == 0.0
    # raw scores outside [0, 1]: no calibration figures rather than wrong ones
    r = binary_report([1, 0], [3.0, -2.0], threshold=0.0)
    assert r["ece"] is None and r["brier"] is None and r["f1"] == 1.0


@pytest.mark.parametrize("bad", [[0.1, float("nan")], [0.1, None]])
def test_binary_report_rejects_bad_scores(bad):
    with pytest.raises(ValueError, match="scores"):
        binary_report([1, 0], bad, threshold=0.5)


def test_binary_report_rejects_bad_input():
    with pytest.raises(ValueError, match="same length"):
        binary_report([1, 0], [0.1], threshold=0.5)
    with pytest.raises(ValueError, match="y_true"):
        binary_report([2, 0], [0.1, 0.2], threshold=0.5)
    with pytest.raises(ValueError, match="threshold"):
        binary_report([1, 0], [0.1, 0.2], threshold=None)


def test_ece_hand_computed():
    # bin 0.7-0.8: scores .75,.75 labels 1,0 -> |.5-.75|=.25 weight 2/4; bin .2: .2,.2 labels 0,0 -> .2
    assert expected_calibration_error([1, 0, 0, 0], [0.75, 0.75, 0.2, 0.2]) == pytest.approx(0.5 * 0.25 + 0.5 * 0.2)
    assert expected_calibration_error([1], [1.0]) == 0.0  # 1.0 lands in the last bin
    assert expected_calibration_error([None], [0.3]) is None


def test_threshold_for_precision():
    y = [0, 1, 0, 1, 1, 0]
    s = [0.1, 0.2, 0.3, 0.4, 0.5, 0.05]
    assert threshold_for_precision(y, s, 0.6) == 0.1  # 3 tp / 5 flagged
    assert threshold_for_precision(y, s, 0.7) == 0.2  # 3/4
    assert threshold_for_precision(y, s, 0.8) == 0.4  # .3 gives 2/3, .4 gives 1.0
    assert threshold_for_precision(y, s, 1.0) == 0.4
    with pytest.raises(ValueError, match="target_precision"):
        threshold_for_precision([1, 0], [0.1, 0.9], 1.0)  # best precision 0.5
    with pytest.raises(ValueError, match="target_precision"):
        threshold_for_precision(y, s, 0)
    with pytest.raises(ValueError, match="positive"):
        threshold_for_precision([0, 0], [0.1, 0.2], 0.5)


def test_best_f1_threshold_with_none_and_ties():
    # 0.6: p=2/3 r=1 f1=.8 ; 0.8: p=1 r=1 -> the best
    assert best_f1_threshold([0, 1, 1, None], [0.6, 0.8, 0.9, 0.99]) == 0.8
    # tie between .3 (p=.5,r=1 -> .667) and .9 (p=1,r=.5 -> .667): the higher threshold
    assert best_f1_threshold([1, 0, 0, 1], [0.9, 0.5, 0.4, 0.3]) in (0.9,)


def test_hard_negative_sources_cover_the_brief():
    for s in ("medical-search-queries", "sms800k", "waimai-reviews", "qq-group-chat", "bilibili-comments"):
        assert metrics.hard_negative_group(s) == s
    assert metrics.hard_negative_group("online-shopping-reviews:书籍") == "online-shopping-reviews:*"
    assert metrics.hard_negative_group("online-shopping-reviewsX") is None
    assert metrics.hard_negative_group("tg-spam") is None
    assert "online-shopping-reviews:*" in HARD_NEGATIVE_SOURCES


def _rows():
    return [
        {"id": "m1", "source": "medical-search-queries", "explicit_text": 0, "solicitation": 0},
        {"id": "m2", "source": "medical-search-queries", "explicit_text": 0, "solicitation": 0},
        {"id": "s1", "source": "sms800k", "explicit_text": 0, "solicitation": 0},
        {"id": "s2", "source": "sms800k", "explicit_text": 0, "solicitation": 1},  # escort SMS: not a hard negative
        {"id": "o1", "source": "online-shopping-reviews:酒店", "explicit_text": 0, "solicitation": 0},
        {"id": "o2", "source": "online-shopping-reviews:书籍", "explicit_text": 0, "solicitation": 0},
        {"id": "b1", "source": "bilibili-comments", "explicit_text": None, "solicitation": None},  # unlabelled
        {"id": "t1", "source": "tg-spam", "explicit_text": 1, "solicitation": 0},
        {"id": "t2", "source": "tg-spam", "explicit_text": 0, "solicitation": 0},
    ]


def test_hard_negative_report_with_label_lists():
    preds = [["explicit_text"], [], [], ["solicitation"], ["solicitation", "explicit_text"], [], ["explicit_text"],
             ["explicit_text"], ["solicitation"]]
    r = hard_negative_report(_rows(), preds, ("explicit_text", "solicitation"))
    assert r["overall"] == {"n": 5, "fp": 2, "fpr": 0.4, "errors": 0}
    assert r["fp_ids"] == ["m1", "o1"]
    assert r["by_source"]["medical-search-queries"]["fp"] == 1
    assert r["by_source"]["medical-search-queries"]["fp_ids"] == ["m1"]
    osr = r["by_source"]["online-shopping-reviews:*"]
    assert (osr["n"], osr["fp"], osr["fpr"]) == (2, 1, 0.5)
    assert osr["by_category"]["explicit_text"] == {"fp": 1, "n": 2, "fpr": 0.5}
    assert r["by_category"]["solicitation"] == {"n": 5, "fp": 1, "fpr": 0.2}
    assert "tg-spam" not in r["by_source"] and "bilibili-comments" not in r["by_source"]
    json.dumps(r)


def test_hard_negative_report_with_scores_and_errors():
    rows = _rows()[:3]
    preds = [{"explicit_text": 0.4, "solicitation": 0.6}, {"error": {"type": "X", "message": "m"}},
             {"explicit_text": 0.1, "solicitation": 0.1, "labels": ["solicitation"]}]
    r = hard_negative_report(rows, preds, thresholds={"explicit_text": 0.5, "solicitation": 0.5})
    assert r["overall"] == {"n": 3, "fp": 1, "fpr": 1 / 3, "errors": 1}
    # without thresholds the dict's own "labels" decide
    r = hard_negative_report(rows[2:], preds[2:])
    assert r["fp_ids"] == ["s1"]
    with pytest.raises(ValueError, match="thresholds"):
        hard_negative_report(rows[:1], preds[:1])
    with pytest.raises(ValueError, match="same length"):
        hard_negative_report(rows, preds[:1])


def test_evaluate_rows():
    rows = _rows()
    preds = [{"explicit_text": 0.1, "solicitation": 0.1}] * len(rows)
    preds = list(preds)
    preds[7] = {"explicit_text": 0.95, "solicitation": 0.2}  # t1 caught
    preds[3] = {"error": {"type": "InputTypeError", "message": "not a str"}}  # s2 (solicitation=1) missed
    preds[0] = {"explicit_text": 0.1, "solicitation": 0.8}  # m1: hard-negative false positive
    r = evaluate_rows(rows, preds, {"explicit_text": 0.5, "solicitation": 0.5})
    ex, so = r["categories"]["explicit_text"], r["categories"]["solicitation"]
    assert (ex["n"], ex["tp"], ex["fp"], ex["fn"]) == (8, 1, 0, 0)
    assert (so["n"], so["tp"], so["fp"], so["fn"]) == (8, 0, 1, 1)
    assert r["errors"] == {"count": 1, "ids": ["s2"]}
    assert r["hard_negatives"]["fp_ids"] == ["m1"]
    assert set(r["by_source"]) == {"medical-search-queries", "sms800k", "online-shopping-reviews:酒店",
                                   "online-shopping-reviews:书籍", "bilibili-comments", "tg-spam"}
    assert r["by_source"]["bilibili-comments"] == {}  # nothing labelled there
    assert r["by_source"]["sms800k"]["solicitation"]["fn"] == 1
    json.dumps(r)


def test_evaluate_rows_rejects_bad_input():
    rows = _rows()[:2]
    with pytest.raises(ValueError, match="same length"):
        evaluate_rows(rows, [{}], 0.5)
    with pytest.raises(ValueError, match="thresholds"):
        evaluate_rows(rows, [{"explicit_text": 0.1, "solicitation": 0.1}] * 2, {"explicit_text": 0.5})
    with pytest.raises(ValueError, match="solicitation"):
        evaluate_rows(rows, [{"explicit_text": 0.1}] * 2, 0.5)


def test_evaluate_rows_without_source():
    r = evaluate_rows([{"explicit_text": 1, "solicitation": 0}], [{"explicit_text": 0.9, "solicitation": 0.0}], 0.5)
    assert "by_source" not in r and r["categories"]["explicit_text"]["tp"] == 1


def test_novel_mask():
    ref = ["联系我微信abc12345看片资源", "短句"]
    texts = ["微 信 ABC12345", "完全不同的一句话而已呢", "短句", "短句子", ""]
    # NFKC + lower + punctuation/space removal makes the first a near-duplicate
    assert novel_mask(ref, texts, k=8) == [False, True, False, True, True]
    assert novel_mask([], ["anything at all here"]) == [True]


def test_evaluate_rows_any_sexual_negatives_and_languages():
    rows = [{"id": "a", "source": "s", "lang": "zh", "explicit_text": 1, "solicitation": 0},
            {"id": "b", "source": "s", "lang": "zh", "explicit_text": 0, "solicitation": 1},
            {"id": "c", "source": "x:gamble", "lang": "zh", "explicit_text": 0, "solicitation": 0},
            {"id": "d", "source": "x:gamble", "lang": "en", "explicit_text": 0, "solicitation": 0},
            {"id": "e", "source": "s", "lang": "en", "explicit_text": None, "solicitation": 0}]
    preds = [{"explicit_text": 0.1, "solicitation": 0.9},   # a: caught, under the other category
             {"explicit_text": 0.2, "solicitation": 0.1},   # b: missed
             {"explicit_text": 0.7, "solicitation": 0.0},   # c: false positive
             {"explicit_text": 0.0, "solicitation": 0.0},
             {"explicit_text": 0.9, "solicitation": 0.0}]   # e: neither positive nor negative
    r = evaluate_rows(rows, preds, {"explicit_text": 0.5, "solicitation": 0.5})
    assert (r["any"]["n"], r["any"]["tp"], r["any"]["fn"], r["any"]["fp"]) == (4, 1, 1, 1)
    assert r["negatives"]["fp"] == 1 and r["negatives"]["n"] == 2
    assert r["negatives"]["by_source"]["x:gamble"] == {"n": 2, "fp": 1, "fpr": 0.5}
    assert set(r["by_lang"]) == {"zh", "en"} and r["by_lang"]["zh"]["explicit_text"]["tp"] == 0
