"""Batch mechanics: one verdict per record, order, error rows, workers, crash isolation.

Most tests use :class:`FakeClassifier`, a deterministic keyword scorer that implements the
Classifier contract (score_texts / score_images / model_id / thresholds / account_params),
so batch mechanics are tested independently of the trained model. The end-to-end tests at
the bottom use the real bundle and skip only when it is absent.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import time
from pathlib import Path

import pytest
from _alarm import Alarm

from cleanclf.batch import score_accounts
from cleanclf.categories import CATEGORIES
from cleanclf.schema import Account, Item, Post
from cleanclf.scoring import AccountScorer

VERDICT_KEYS = ["account_id", "labels", "scores", "counts", "escalate", "review", "bands", "evidence", "posts", "model",
                "error"]

_TERMS = {"包夜": "solicitation", "上门服务": "solicitation", "加薇": "solicitation", "看名字": "solicitation",
          "资源": "explicit_text", "看片": "explicit_text", "黄片": "explicit_text"}
_CONTACT = re.compile(r"abc\d+|1\d{10}")


class FakeClassifier:
    """Keyword double of :class:`cleanclf.classify.Classifier` (deterministic, picklable).

    ``POISON`` in a text kills the *worker* process (os._exit), ``RAISE`` raises.
    """

    model_id = "fake@0"
    thresholds = {"explicit_text": 0.5, "solicitation": 0.5, "lewd_images": 0.5}

    def __init__(self, *, text=True, image=True, account_params=None, delay=0.0):
        self.text_model = "keywords" if text else None
        self.image_model = "names" if image else None
        self.account_params = account_params or {}
        self.delay = delay
        self.text_calls: list[int] = []
        self.image_calls: list[int] = []

    def score_text(self, text):
        return self.score_texts([text])[0]

    def score_texts(self, texts):
        texts = list(texts)
        self.text_calls.append(len(texts))
        if self.delay:
            time.sleep(self.delay * len(texts))
        out = []
        for t in texts:
            if not isinstance(t, str):
                out.append({"error": {"type": "InputTypeError", "message": "text: expected str"}})
                continue
            if "POISON" in t and multiprocessing.parent_process() is not None:
                os._exit(7)
            if "RAISE" in t:
                raise RuntimeError("fake model failure")
            ev, scores = [], {"explicit_text": 0.02, "solicitation": 0.03}
            for term, cat in _TERMS.items():
                for m in re.finditer(re.escape(term), t):
                    ev.append({"kind": "term", "category": cat, "text": term, "span": [m.start(), m.end()]})
                    scores[cat] = 0.95
            for m in _CONTACT.finditer(t):
                ev.append({"kind": "contact", "category": "solicitation", "type": "wechat" if m.group().startswith("abc")
                           else "phone", "value": m.group(), "span": [m.start(), m.end()]})
            esc = "学生妹" in t
            out.append({**scores, "labels": [c for c, p in scores.items() if p >= 0.5], "evidence": ev,
                        "escalate": esc, "escalate_reasons": ["minor signal: 学生妹"] if esc else [],
                        "truncated": len(t) > 100_000})
        return out

    def score_images(self, paths, mode="exact", images_root=None):
        self.image_calls.append(len(paths))
        out = []
        for p in paths:
            if "missing" in str(p):
                out.append({"error": {"type": "ImageError", "message": f"path: {p!r} does not exist"}})
            else:
                s = 0.97 if "lewd" in str(p) else 0.01
                out.append({"lewd_images": s, "labels": ["lewd_images"] if s >= 0.5 else []})
        return out


def acc(i, texts, *, bio="", images=None):
    posts = [{"id": f"p{j}", "text": t, "images": (images or {}).get(j, [])} for j, t in enumerate(texts)]
    return {"account_id": f"u{i}", "profile": {"nickname": f"n{i}", "bio": bio}, "posts": posts}


def mixed(n):
    kinds = [["你好", "今天天气不错"], ["包夜 加薇 abc123"] * 6, ["看片 资源 群"] * 6, ["上门服务 学生妹 abc9"] * 5, []]
    return [acc(i, kinds[i % len(kinds)]) for i in range(n)]


# ---------------------------------------------------------------------------- shape
def test_verdict_shape_exact_for_success_and_error():
    out = list(score_accounts([acc(1, ["包夜 加薇 abc123"] * 6), "{broken"], model=FakeClassifier()))
    ok, bad = out
    assert list(ok) == VERDICT_KEYS
    assert list(bad) == VERDICT_KEYS + ["line"]
    assert ok["error"] is None and ok["model"] == "fake@0"
    assert set(ok["scores"]) == set(CATEGORIES) and all(isinstance(v, float) for v in ok["scores"].values())
    assert ok["labels"] == ["solicitation"]
    assert bad["labels"] == [] and bad["scores"] == {c: None for c in CATEGORIES}
    assert bad["error"]["type"] == "RecordError" and bad["line"] == 2
    json.dumps(ok, ensure_ascii=False)  # JSON-serialisable as is


@pytest.mark.parametrize("mode,expected", [("flagged", ["p0", "p2"]), ("all", ["p0", "p1", "p2"]), ("none", None)])
def test_posts_modes(mode, expected):
    v = next(score_accounts([acc(1, ["包夜 abc1", "你好", "看片"])], model=FakeClassifier(), posts=mode))
    if expected is None:
        assert "posts" not in v
    else:
        assert [p["id"] for p in v["posts"]] == expected
        assert set(v["posts"][0]) >= {"id", "scores", "labels"}


def test_every_record_once_in_order_including_bad_ones():
    recs = mixed(40)
    recs[3] = b"\xff\xfe not utf8"
    recs[7] = "[1, 2]"
    recs[11] = {"account_id": None}
    recs[13] = Account("acct-obj", posts=[Post("x", "包夜")])
    out = list(score_accounts(recs, model=FakeClassifier(), chunk_size=4))
    assert len(out) == 40
    assert [o["line"] for o in out if o["error"]] == [4, 8, 12]
    assert "UTF-8" in out[3]["error"]["message"]
    assert out[13]["account_id"] == "acct-obj"
    assert [o["account_id"] for o in out if not o["error"]] == [r["account_id"] if isinstance(r, dict) else "acct-obj"
                                                                for k, r in enumerate(recs) if k not in (3, 7, 11)]


def test_one_vectorised_text_call_per_chunk():
    fake = FakeClassifier()
    list(score_accounts(mixed(10), model=fake, chunk_size=5))
    # 2 chunks -> 2 calls, each with all posts of 5 accounts plus one profile text per account
    assert len(fake.text_calls) == 2
    assert fake.text_calls[0] == sum(len(a["posts"]) + 1 for a in mixed(10)[:5])


def test_missing_text_model_gives_null_text_scores():
    v = next(score_accounts([acc(1, ["包夜"], images={0: ["lewd.png"]})], model=FakeClassifier(text=False)))
    assert v["scores"]["explicit_text"] is None and v["scores"]["solicitation"] is None
    assert v["scores"]["lewd_images"] is not None


def test_images_scored_in_one_call_with_errors_kept():
    fake = FakeClassifier()
    images = {j: [f"lewd{j}.png"] for j in range(6)}
    images[6] = ["missing.png"]
    v = next(score_accounts([acc(1, ["图"] * 7, images=images)], model=fake, posts="all"))
    assert fake.image_calls == [7]
    assert "lewd_images" in v["labels"]
    assert v["counts"]["errors"] == 1 and v["posts"][6]["errors"][0]["type"] == "ImageError"
    assert any(e["kind"] == "image" for e in v["evidence"])


def test_on_error_raise():
    from cleanclf.errors import RecordError

    gen = score_accounts([acc(1, ["a"]), "{bad"], model=FakeClassifier(), on_error="raise")
    assert next(gen)["account_id"] == "u1"
    with pytest.raises(RecordError, match="line 2"):
        next(gen)


def test_exception_in_model_isolated_to_its_account():
    recs = mixed(6)
    recs[2] = acc(2, ["RAISE please"])
    out = list(score_accounts(recs, model=FakeClassifier(), chunk_size=6))
    assert [o["error"] is not None for o in out] == [False, False, True, False, False, False]
    assert out[2]["account_id"] == "u2" and "fake model failure" in out[2]["error"]["message"]


@pytest.mark.parametrize("bad", [{"jobs": 0}, {"posts": "some"}, {"on_error": "skip"}, {"image_mode": "slow"},
                                 {"chunk_size": 0}])
def test_bad_arguments_name_the_argument(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        score_accounts([], model=FakeClassifier(), **bad)


def test_account_scorer_serialize_gives_json_lines():
    s = AccountScorer(FakeClassifier(), serialize=True)
    (line, labels, esc, err, stats), = s.score([Item(1, acc(1, ["上门服务 学生妹 abc9"] * 5))])
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    v = json.loads(line)
    assert v["escalate"] is True and esc is True and err is False and "solicitation" in labels
    # the run statistics ride along, never in the verdict itself
    assert stats["posts"] == 5 and stats["error"] is None and "_stats" not in v
    assert "学生妹" in line.decode("utf-8")  # ensure_ascii=False


# ---------------------------------------------------------------------------- workers
def test_jobs2_same_output_in_same_order():
    recs = mixed(203)
    one = list(score_accounts(recs, model=FakeClassifier(), chunk_size=7))
    with Alarm(120):
        two = list(score_accounts(recs, model=FakeClassifier(), jobs=2, chunk_size=7))
    assert two == one


def test_poisoned_record_kills_worker_but_not_the_run():
    recs = mixed(60)
    recs[25] = acc(25, ["hello", "POISON pill"])
    with Alarm(120):
        out = list(score_accounts(recs, model=FakeClassifier(), jobs=2, chunk_size=4))
    assert len(out) == 60
    assert [o["account_id"] for o in out] == [f"u{i}" for i in range(60)]
    errs = [k for k, o in enumerate(out) if o["error"]]
    assert errs == [25]
    assert out[25]["error"]["type"] == "WorkerCrash" and out[25]["line"] == 26
    # the innocent neighbours of the poison were re-scored, not dropped
    assert out[24]["labels"] == next(score_accounts([recs[24]], model=FakeClassifier()))["labels"]


def test_consumer_stopping_early_does_not_hang():
    with Alarm(60):
        gen = score_accounts(mixed(500), model=FakeClassifier(), jobs=2, chunk_size=5)
        first = [next(gen) for _ in range(3)]
        gen.close()
    assert len(first) == 3


# ---------------------------------------------------------------------------- real bundle
def test_real_bundle_end_to_end_on_examples():
    import cleanclf

    clf = cleanclf.load()
    path = Path(__file__).resolve().parents[1] / "examples" / "accounts.jsonl"
    from cleanclf.schema import iter_records

    out = list(score_accounts(iter_records(path), model=clf, images_root=path.parent))
    assert len(out) == sum(1 for line in path.read_bytes().splitlines() if line.strip())
    by_id = {o["account_id"]: o for o in out if o["account_id"]}
    assert all(list(o)[:len(VERDICT_KEYS)] == VERDICT_KEYS for o in out)
    assert sum(1 for o in out if o["error"]) == 1
    assert "solicitation" in by_id["demo-escort-bio"]["labels"]
    assert "explicit_text" in by_id["demo-porn-seller"]["labels"]
    assert by_id["demo-escalation"]["escalate"] is True
    for benign in ("demo-massage-review", "demo-daily-life", "demo-medical", "demo-gamer-coffee"):
        assert by_id[benign]["labels"] == [], (benign, by_id[benign]["scores"])
    # default@0.3.0 flagged the repair shop (a false positive) and missed the English escort ads;
    # default@0.4.0 gets both right, but its training/synthetic.jsonl rows were written after reading
    # these examples (training/README.md), so this guards the shipped bundle, it does not measure it.
    assert by_id["demo-repair-shop"]["labels"] == [], by_id["demo-repair-shop"]["scores"]
    # Two of its five ads are flagged: below the account count rule (issue 16: strength alone never
    # labels), so it is routed to review; it must not be dropped silently.
    esc = by_id["demo-english-escort"]
    assert "solicitation" in esc["labels"] or (esc["review"] and esc["bands"]["solicitation"] == "review")
    assert by_id["demo-one-off"]["labels"] == []  # one flagged post never makes an account
    assert out[0]["model"] == clf.model_id


def test_real_bundle_jobs2_matches_jobs1():
    import cleanclf

    clf = cleanclf.load()
    recs = mixed(30)
    one = list(score_accounts(recs, model=clf))
    with Alarm(300):
        two = list(score_accounts(recs, model=clf, jobs=2, chunk_size=4))
    assert two == one


def test_image_screen_reaches_score_images_only_when_set():
    class Recording(FakeClassifier):
        def score_images(self, paths, mode="exact", images_root=None, **kw):
            self.kw = kw
            return super().score_images(paths, mode=mode, images_root=images_root)

    recs = [acc(0, ["hi"], images={0: ["lewd.png"]})]
    for screen, expected in ((None, {}), (False, {"screen": False}), (True, {"screen": True})):
        clf = Recording()
        out = list(score_accounts(recs, model=clf, image_mode="fast", image_screen=screen))
        assert clf.kw == expected and out[0]["error"] is None
    # a scorer without the option still works when it is not set (FakeClassifier has no **kw)
    assert list(score_accounts(recs, model=FakeClassifier(), image_mode="fast"))[0]["error"] is None
    from cleanclf.errors import InputError

    with pytest.raises(InputError, match="image_screen"):
        score_accounts(recs, model=FakeClassifier(), image_screen="no")
