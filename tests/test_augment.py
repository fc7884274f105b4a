"""Training on disguised copies (TextClassifier(augment=...), issue 21): copies of positive rows
and of a share of the others, in their original's calibration group, out-of-fold scores for the
original rows only, deterministic."""

import numpy as np
import pytest
from sklearn.base import clone

from cleanclf.errors import InputError
from cleanclf.text.classifier import TextClassifier

POS = ["同城 包夜 加微信", "上门 包夜 加微信", "包夜 全套 加微信", "楼凤 包夜 私聊", "约炮 包夜 加微信",
       "卖片 资源 网盘", "黄片 资源 私聊", "看片 资源 网址", "色情 资源 打包", "福利 资源 网盘"]
NEG = ["外卖很好吃", "今天天气很好", "空调上门维修", "头疼吃什么药", "酒店干净 服务好",
       "手机电池耐用", "这本书很好看", "按摩椅质量不错", "电视机维修", "咖啡很香"]
TEXTS = POS + NEG
Y = [[0, 1]] * 5 + [[1, 0]] * 5 + [[0, 0]] * 10


def _fit(**kw):
    return TextClassifier(char_min_df=1, slang=False, **kw).fit(TEXTS, Y)


def test_no_copies_by_default():
    clf = _fit()
    assert clf.n_augmented_ == 0 and clf.oof_proba_.shape == (20, 2)


def test_copies_of_every_positive_row_and_none_of_the_negatives_at_share_zero():
    clf = _fit(augment=2, augment_negative_share=0.0)
    # at most 2 copies of each of the 10 positive rows; copies the normaliser turns back into
    # their original are not added (they would only repeat it)
    assert 0 < clf.n_augmented_ <= 20
    # out-of-fold scores stay one row per original text; the copies were trained on
    assert clf.oof_proba_.shape == (20, 2)
    assert sum(c["labelled"] for c in clf.label_counts_) == 2 * (20 + clf.n_augmented_)
    assert clf.model_meta()["augmented_rows"] == clf.n_augmented_
    assert clf.get_params()["augment"] == 2


def test_negative_share_adds_copies_of_negatives_too():
    only_pos = _fit(augment=1, augment_negative_share=0.0).n_augmented_
    with_neg = _fit(augment=1, augment_negative_share=1.0).n_augmented_
    assert with_neg > only_pos


def test_deterministic_and_seeded():
    a = _fit(augment=1, random_state=3)
    b = clone(a).fit(TEXTS, Y)
    probe = ["加 薇 约 炮", "咖啡很香"]
    assert np.array_equal(a.predict_proba(probe), b.predict_proba(probe))
    assert a.n_augmented_ == b.n_augmented_


def test_copies_stay_in_their_originals_calibration_group(monkeypatch):
    import cleanclf.text.classifier as mod

    seen = {}
    real_fit = mod.GroupCalibratedClassifier.fit

    def spy(self, X, y, sample_weight=None, groups=None):
        seen.setdefault("groups", groups)
        return real_fit(self, X, y, sample_weight=sample_weight, groups=groups)

    monkeypatch.setattr(mod.GroupCalibratedClassifier, "fit", spy)
    clf = _fit(augment=1, augment_negative_share=0.0)
    groups = seen["groups"]
    assert len(groups) == 20 + clf.n_augmented_
    # every copy's group is the group of an original row (no new groups appear)
    assert set(groups[20:].tolist()) <= set(groups[:20].tolist())


@pytest.mark.parametrize("kw", [{"augment": -1}, {"augment": 1.5}, {"augment_negative_share": 2.0},
                                {"augment_negative_share": "x"}, {"random_state": -1}])
def test_bad_augment_params_are_refused(kw):
    with pytest.raises(InputError):
        _fit(**kw)
