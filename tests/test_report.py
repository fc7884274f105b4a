"""The review report: a self-contained HTML file that holds hostile text as text, and the
reviewers' decisions read back as training rows.

Browser tests drive Debian's ``chromium`` through playwright (``executable_path``; no browser is
downloaded) and skip, saying why, when either is absent. Everything else runs anywhere.
"""

from __future__ import annotations

import json
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from cleanclf import cli
from cleanclf.errors import InputError

jinja2 = pytest.importorskip("jinja2", reason="the report needs jinja2: pip install -e '.[dev]'")

from cleanclf.report import build_report, json_for_script, segments  # noqa: E402
from cleanclf.training.data import feedback_rows  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
CHROMIUM = "/usr/bin/chromium"
CATS = ("lewd_images", "explicit_text", "solicitation")

# Hostile strings: each must reach the reviewer as text and never as markup or script.
PWN_SCRIPT = "<script>window.__pwned = 1</script>"
PWN_IMG = '<img src=x onerror="window.__pwned = 2" id="injected-img">'
PWN_LINK = '<a id="injected-link" href="javascript:window.__pwned = 3">click</a>'
PWN_SVG = '<svg onload="window.__pwned = 4" id="injected-svg"></svg>'
RTL = "联系\u202e10-0555 vx_test01\u202c"
HOSTILE_ID = '</script><script>window.__pwned = 5</script><!--'
HUGE = "包夜 " + "啊" * 100_000


# ----------------------------------------------------------------------------- fixtures
def _verdict(aid, posts, *, cat="solicitation", escalate=False, images=(), band="label", excerpt_only=False):
    """A verdict record as cleanclf score writes it, for posts ``[(post_id, text, span)]``."""
    ev = [{"kind": "rule", "category": cat, "decision": band, "reason": f"{band}: {len(posts)} posts <b>flagged</b>"}]
    for pid, text, span in posts:
        e = {"kind": "post", "category": cat, "post_id": pid, "score": 0.97, "categories": {cat: 0.97},
             "terms": [{"kind": "term", "term": text[span[0]:span[1]], "text": text[span[0]:span[1]], "span": list(span),
                        "categories": [cat], "meaning": "<i>meaning</i>"}],
             "excerpt": text[:120], "excerpt_offset": 0}
        ev.append(e)
    ev.append({"kind": "contact", "type": "wechat", "value": "vx_test01", "in_profile": True, "count": len(posts),
               "post_ids": [p[0] for p in posts], "in_flagged_post": True})
    for pid, path, score in images:
        ev.append({"kind": "image", "post_id": pid, "path": path, "score": score, "flagged": score >= 0.8})
    return {"account_id": aid, "labels": [cat] if band == "label" else [],
            "scores": {c: (0.97 if c == cat else 0.01) for c in CATS},
            "counts": {"posts": len(posts), "posts_with_text": len(posts), "images": len(images),
                       "flagged": {c: (len(posts) if c == cat else 0) for c in CATS}, "flagged_images": 0,
                       "repeated_contact_posts": len(posts), "escalated_posts": int(escalate), "errors": 0},
            "escalate": escalate, "review": band == "review",
            "bands": {c: (band if c == cat else "clear") for c in CATS}, "evidence": ev,
            "posts": [{"id": pid, "scores": {c: (0.97 if c == cat else 0.01) for c in CATS}, "labels": [cat],
                       "escalate": escalate, "truncated": False, "errors": []} for pid, _, _ in posts],
            "model": "default@0.6.0", "error": None}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A dump of hostile posts and their verdicts (written here, not scored: the report's job is
    to render whatever verdicts and dumps hold), plus one image account and one escalated one."""
    d = tmp_path_factory.mktemp("hostile")
    texts = [("h1", f"同城上门 {PWN_SCRIPT} 包夜", (0, 4)), ("h2", f"{PWN_IMG} 加薇 vx_test01", (len(PWN_IMG) + 1, len(PWN_IMG) + 3)),
             ("h3", f"{PWN_LINK} {PWN_SVG} 全套", (len(PWN_LINK) + len(PWN_SVG) + 2, len(PWN_LINK) + len(PWN_SVG) + 4)),
             ("h4", RTL, (0, 2)), ("h5", HUGE, (0, 2))]
    dump = [
        {"account_id": "hostile-1", "profile": {"nickname": "<b id=\"injected-b\">薇</b>", "bio": "javascript:alert(1) <!--"},
         "posts": [{"id": pid, "text": t} for pid, t, _ in texts]},
        {"account_id": HOSTILE_ID, "profile": {"nickname": "x", "bio": ""},
         "posts": [{"id": "z1", "text": "同城上门 包夜"}, {"id": "z2", "text": "上门 vx_test01"}]},
        {"account_id": "photos-1", "posts": [{"id": "i1", "text": "上门 包夜", "images": ["images/cup.png"]}]},
        {"account_id": "escalated-1", "posts": [{"id": "e1", "text": "学生妹 上门", "images": ["images/sunset.png"]}]},
    ]
    verdicts = [
        _verdict("hostile-1", texts),
        _verdict(HOSTILE_ID, [("z1", "同城上门 包夜", (0, 4)), ("z2", "上门 vx_test01", (0, 2))], cat="explicit_text",
                 band="review"),
        _verdict("photos-1", [("i1", "上门 包夜", (0, 2))], cat="lewd_images",
                 images=[("i1", "images/cup.png", 0.91), ("i1", "../../etc/passwd", 0.5)]),
        _verdict("escalated-1", [("e1", "学生妹 上门", (0, 3))], escalate=True, images=[("e1", "images/sunset.png", 0.95)]),
        {"account_id": "clear-1", "labels": [], "scores": {c: 0.01 for c in CATS}, "bands": {c: "clear" for c in CATS},
         "escalate": False, "review": False, "evidence": [], "posts": [], "model": "default@0.6.0", "error": None},
        {"account_id": None, "line": 9, "error": {"type": "RecordError", "message": f"line 9: {PWN_SCRIPT}"}},
    ]
    dump_path, v_path = d / "dump.jsonl", d / "verdicts.jsonl"
    dump_path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in dump), encoding="utf-8")
    v_path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in verdicts), encoding="utf-8")
    out = d / "report.html"
    res = build_report(v_path, out, dump=dump_path, images_root=EXAMPLES)
    return {"dir": d, "dump": dump_path, "verdicts": v_path, "html": out, "res": res}


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """The example dump scored for real, then reported (what the README's screenshots show)."""
    d = tmp_path_factory.mktemp("example")
    v = d / "verdicts.jsonl"
    assert cli.main(["score", str(EXAMPLES / "accounts.jsonl"), "-o", str(v), "--posts", "all", "--no-progress"]) == 0
    out = d / "report.html"
    assert cli.main(["report", str(v), "-o", str(out), "--dump", str(EXAMPLES / "accounts.jsonl"),
                     "--images-root", str(EXAMPLES)]) == 0
    return {"dir": d, "verdicts": v, "html": out}


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self._in_script: dict | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))

    def handle_data(self, data):
        if self._in_script is not None:
            a, text = self.scripts[-1]
            self.scripts[-1] = (a, text + data)

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = None


def _shipped_model_id() -> str:
    """name@version of the bundled default the example verdicts were scored with."""
    from cleanclf.models import models_root, read_manifest

    man = read_manifest(models_root() / "default")
    return f"{man['name']}@{man['version']}"


def _parse(path: Path) -> _Tags:
    p = _Tags()
    p.feed(path.read_text(encoding="utf-8"))
    p.close()
    return p


# ----------------------------------------------------------------------------- without a browser
def test_example_report_is_self_contained(example):
    html = example["html"].read_text(encoding="utf-8")
    tags = _parse(example["html"])
    assert html.startswith("<!DOCTYPE html>")
    for tag, attrs in tags.tags:
        for name in ("src", "href", "action", "srcset", "xlink:href"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//", "javascript:")), (tag, name, value)
            if tag in ("img", "script", "link", "iframe") and value:
                assert value.startswith("data:image/jpeg;base64,"), (tag, value[:80])
    assert "http://" not in html and "https://" not in html
    assert not [t for t, a in tags.tags if t == "link"], "no external stylesheets"
    # Exactly one script runs (inline, allowed by its hash in the CSP); the rest are JSON data.
    runnable = [a for a, _ in tags.scripts if a.get("type") != "application/json"]
    assert runnable == [{}]
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    queue = json.loads(next(t for a, t in tags.scripts if a.get("id") == "queue-data"))
    ids = [r["id"] for r in queue]
    assert ids[0] == "demo-escalation"  # escalations first
    assert {"demo-escort-bio", "demo-hookup", "demo-porn-seller", "demo-one-off"} <= set(ids)
    assert "demo-daily-life" not in ids and "demo-photos" not in ids  # clear accounts are not queued
    meta = json.loads(next(t for a, t in tags.scripts if a.get("id") == "meta"))
    assert meta["thresholds"]["solicitation"] > 0 and meta["models"] == [_shipped_model_id()]
    detail = json.loads(next(t for a, t in tags.scripts if a.get("id") == f"d-{ids.index('demo-escort-bio')}"))
    marked = [s[0] for e in detail["evidence_posts"] for s in e["text"]["segs"] if s[1]]
    assert "楼凤" in marked and all(e["source"] == "dump" for e in detail["evidence_posts"])


def test_json_blob_round_trips_and_cannot_close_its_script():
    obj = {"a": "</script><!--<script>", "b": "\u2028\u202e&amp;", "c": [1.5, None, "包夜"]}
    s = json_for_script(obj)
    assert "<" not in s and ">" not in s and "&" not in s
    assert json.loads(s) == obj


def test_segments_highlight_and_cut_huge_text():
    seg = segments("ab包夜cd", [(2, 4, "term: 包夜"), (3, 5, "ngram")])
    assert seg["segs"] == [["ab", None], ["包夜c", "term: 包夜; ngram"], ["d", None]]
    big = segments(HUGE, [(0, 2, "term")])
    shown = "".join(s[0] for s in big["segs"])
    assert big["length"] == len(HUGE) and big["shown"] == [0, 2000] and len(shown) == 2000
    assert segments("a\u202eb", [])["segs"] == [["a[U+202E]b", None]]
    assert segments("abc", [(2, 9, "out of range"), ("x", 1, "bad")])["segs"] == [["abc", None]]


def test_hostile_report_holds_text_as_text(hostile):
    html = hostile["html"].read_text(encoding="utf-8")
    tags = _parse(hostile["html"])
    ids = {a.get("id") for _, a in tags.tags}
    assert not ids & {"injected-img", "injected-link", "injected-svg", "injected-b"}
    assert [a for a, _ in tags.scripts if a.get("type") != "application/json"] == [{}]
    assert not any("onerror" in a or "onload" in a for _, a in tags.tags)
    assert PWN_SCRIPT not in html and "\u202e" not in html
    # The data is all there, escaped: each JSON blob reads back.
    blobs = {a["id"]: json.loads(t) for a, t in tags.scripts if a.get("type") == "application/json"}
    queue = blobs["queue-data"]
    assert {r["id"] for r in queue} == {"hostile-1", HOSTILE_ID, "photos-1", "escalated-1"}
    h1 = blobs[f"d-{[r['id'] for r in queue].index('hostile-1')}"]
    texts = {e["post_id"]: "".join(s[0] for s in e["text"]["segs"]) for e in h1["evidence_posts"]}
    assert PWN_SCRIPT in texts["h1"] and PWN_IMG in texts["h2"] and "[U+202E]" in texts["h4"]
    assert len(texts["h5"]) <= 2000 and h1["evidence_posts"][-1]["text"]["length"] == len(HUGE)
    assert hostile["res"]["bytes"] < 200_000  # the 100 kB post is cut, not embedded whole
    # The escalated account's image is never embedded; the other account's is (a data URI), and a
    # path leading out of --images-root gives no preview.
    esc = blobs[f"d-{[r['id'] for r in queue].index('escalated-1')}"]
    assert [i["thumb"] for i in esc["images"]] == [None] and "never embedded" in esc["images_note"]
    ph = blobs[f"d-{[r['id'] for r in queue].index('photos-1')}"]
    assert ph["images"][0]["thumb"].startswith("data:image/jpeg;base64,") and ph["images"][1]["thumb"] is None
    assert len(ph["images"][0]["thumb"]) < 40_000


def test_report_without_dump_uses_the_verdict_excerpts(hostile, tmp_path):
    res = build_report(hostile["verdicts"], tmp_path / "r.html", limit=2)
    assert res["queued"] == 2 and res["queued_total"] == 4
    tags = _parse(tmp_path / "r.html")
    d0 = json.loads(next(t for a, t in tags.scripts if a.get("id") == "d-0"))
    assert d0["profile"] is None and {e["source"] for e in d0["evidence_posts"]} == {"excerpt"}


def test_cli_report_refuses_to_overwrite_and_says_how_to_install_jinja2(hostile, tmp_path, monkeypatch, capsys):
    out = tmp_path / "r.html"
    out.write_text("keep me", encoding="utf-8")
    assert cli.main(["report", str(hostile["verdicts"]), "-o", str(out)]) == 2
    assert out.read_text(encoding="utf-8") == "keep me"
    assert "--force" in capsys.readouterr().err
    assert cli.main(["report", str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "x.html")]) == 2
    monkeypatch.setitem(sys.modules, "jinja2", None)  # import jinja2 now raises ImportError
    assert cli.main(["report", str(hostile["verdicts"]), "-o", str(out), "--force"]) == 2
    err = capsys.readouterr().err
    assert 'pip install "cleanclf[report]"' in err and out.read_text(encoding="utf-8") == "keep me"


def test_templates_are_package_data():
    from importlib import resources

    names = {p.name for p in resources.files("cleanclf.report").joinpath("templates").iterdir()}
    assert {"report.html.j2", "report.js", "report.css"} <= names
    toml = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert '"report/templates/*"' in toml and 'report = ["jinja2>=3.1"]' in toml


# ----------------------------------------------------------------------------- decisions -> training rows
def _dump(tmp_path):
    p = tmp_path / "dump.jsonl"
    recs = [{"account_id": "a1", "posts": [{"id": "p1", "text": "同城上门 包夜 vx_test01"}, {"id": "p2", "text": "今天跑步"},
                                          {"id": "p3", "text": "全套 555-0100"}]},
            {"account_id": "a2", "posts": [{"id": "q1", "text": "上门维修空调"}, {"id": "q2", "text": "冰箱检修"}]}]
    p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    return p


def test_feedback_rows_label_the_flagged_posts(tmp_path):
    decisions = [
        {"account_id": "a1", "category": "solicitation", "decision": "confirmed", "post_ids": ["p1", "p3"]},
        {"account_id": "a1", "category": "explicit_text", "decision": "rejected", "post_ids": ["p1"]},
        {"account_id": "a2", "category": "solicitation", "decision": "confirmed", "post_ids": ["q1"]},
        {"account_id": "a2", "category": "solicitation", "decision": "rejected", "post_ids": ["q1"]},  # later wins
        {"account_id": "a2", "category": "explicit_text", "decision": "unsure", "post_ids": ["q2"]},
        {"account_id": "a1", "category": "lewd_images", "decision": "confirmed", "post_ids": ["p2"]},
        {"account_id": "gone", "category": "solicitation", "decision": "confirmed", "post_ids": ["x"]},
        {"account_id": "a1", "category": "solicitation", "decision": "confirmed", "post_ids": ["p1", "p3", "p9"]},
    ]
    stats: dict = {}
    rows = feedback_rows(decisions, _dump(tmp_path), stats=stats)
    got = {(r["account_id"], r["post_id"]): (r["explicit_text"], r["solicitation"]) for r in rows}
    assert got == {("a1", "p1"): (0, 1), ("a1", "p3"): (None, 1), ("a2", "q1"): (None, 0)}
    assert all(r["origin"] == "feedback" and r["source"] == "feedback" for r in rows)
    assert next(r for r in rows if r["post_id"] == "p1")["text"] == "同城上门 包夜 vx_test01"
    assert stats == {"decisions": 6, "unsure": 1, "lewd_images": 1, "no_post_ids": 0, "account_not_in_dump": 1,
                     "post_not_in_dump": 1, "rows": 3}


def test_feedback_rows_refuse_malformed_decisions(tmp_path):
    dump = _dump(tmp_path)
    for bad, what in [({"account_id": "a1", "category": "porn", "decision": "confirmed"}, "'category'"),
                      ({"account_id": "a1", "category": "solicitation", "decision": "yes"}, "'decision'"),
                      ({"category": "solicitation", "decision": "confirmed"}, "'account_id'"),
                      ({"account_id": "a1", "category": "solicitation", "decision": "confirmed", "post_ids": "p1"},
                       "'post_ids'")]:
        with pytest.raises(InputError, match=what):
            feedback_rows([bad], dump)
    p = tmp_path / "dec.jsonl"
    p.write_text(json.dumps({"account_id": "a1", "category": "solicitation", "decision": "confirmed",
                             "post_ids": ["p1"]}) + "\n", encoding="utf-8")
    assert [r["post_id"] for r in feedback_rows(p, dump)] == ["p1"]


def test_train_feedback_flags_reach_the_training_rows_only(tmp_path, monkeypatch, capsys):
    import cleanclf.training as training

    seen = {}
    monkeypatch.setattr(training, "build_text_component", lambda out, **kw: seen.update(kw) or {
        "name": "t", "version": "0", "components": {"text": {"metrics": {}}}})
    dec = tmp_path / "dec.jsonl"
    dec.write_text(json.dumps({"account_id": "a1", "category": "solicitation", "decision": "confirmed",
                               "post_ids": ["p1", "p3"]}) + "\n", encoding="utf-8")
    argv = ["train", "--train", str(dec), "--out", str(tmp_path / "m"), "--feedback", str(dec)]
    assert cli.main([*argv, "--feedback-dump", str(_dump(tmp_path))]) == 0
    assert [r["post_id"] for r in seen["feedback"]] == ["p1", "p3"] and seen["feedback_in_dev"] is False
    assert "1 decisions -> 2 rows" in capsys.readouterr().err
    assert cli.main(argv) == 2  # decisions without the dump their texts come from
    assert cli.main([*argv[:-2], "--feedback-in-dev"]) == 2


def test_build_text_component_trains_on_feedback_but_keeps_it_out_of_dev(tmp_path):
    from conftest import tiny_rows

    from cleanclf.training import build_text_component

    rows = tiny_rows()
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    fb = feedback_rows([{"account_id": "a1", "category": "solicitation", "decision": "confirmed", "post_ids": ["p1"]}],
                       _dump(tmp_path))
    man = build_text_component(tmp_path / "b", train_files=[str(train)], dev_files=[str(train)], feedback=fb,
                               verbose=False, cv=2)
    text = man["components"]["text"]
    assert "feedback" in {d["source"] for d in text["training_data"]}
    assert text["metrics"]["dev"]["categories"]["solicitation"]["n"] == len(rows)


# ----------------------------------------------------------------------------- in headless Chromium
@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file() and not shutil.which("chromium"):
        pytest.skip("chromium is not installed (apt-get install -y chromium chromium-driver fonts-noto-cjk)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium"),
                              args=["--no-sandbox"])
        yield b
        b.close()


class _Page:
    """A page that records console errors, page errors and every request."""

    def __init__(self, context, path: Path):
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.url = path.resolve().as_uri()
        self.page = context.new_page()
        self.page.on("console", lambda m: m.type in ("error", "warning") and self.errors.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.goto()

    def goto(self, hash_: str = ""):
        self.page.goto(self.url + hash_)
        self.page.wait_for_selector("html[data-ready='1']")

    def foreign_requests(self):
        return [u for u in self.requests if u.split("#")[0] != self.url and not u.startswith(("data:", "blob:"))]


def test_example_report_in_chromium(browser, example, tmp_path):
    ctx = browser.new_context(accept_downloads=True)
    pg = _Page(ctx, example["html"])
    page = pg.page
    assert page.locator("#ov-accounts").text_content() == "15"
    assert page.locator("svg.hist line.thr").count() == 3
    page.click("#nav-queue")
    rows = page.locator("#q-body tr")
    assert rows.count() == 7 and "demo-escalation" in rows.nth(0).text_content()
    page.fill("#f-q", "abc123")  # a contact handle (a WeChat id both escort accounts carry)
    assert sorted(page.locator("#q-body td.t").all_text_contents()) == ["demo-escort-bio", "demo-escort-posts"]
    page.fill("#f-q", "ESCORT-BIO")  # an account id, case-insensitive
    assert rows.count() == 1 and "demo-escort-bio" in rows.nth(0).text_content()
    page.select_option("#f-cat", "explicit_text")
    page.select_option("#f-band", "label")
    assert rows.count() == 0 and page.locator("#q-count").text_content() == "0 of 7 accounts"
    page.select_option("#f-band", "review")
    assert rows.count() == 1
    rows.nth(0).click()
    assert page.locator(".acc-id").text_content() == "demo-escort-bio"
    marks = page.locator(".evidence mark").all_text_contents()
    assert "楼凤" in marks and "包夜" in marks
    # A decision survives a reload and comes out of the export.
    page.check("input[name='dec-" + page.url.rsplit("/", 1)[1] + "-solicitation'][value='confirmed']")
    note = page.locator(".dec-note[data-cat='solicitation']")
    note.fill("ad with WeChat handle")
    note.press("Tab")
    page.reload()
    page.wait_for_selector("html[data-ready='1']")
    assert page.locator("input[data-cat='solicitation'][value='confirmed']").is_checked()
    assert page.locator(".dec-note[data-cat='solicitation']").input_value() == "ad with WeChat handle"
    with page.expect_download() as dl:
        page.click("#export")
    lines = [json.loads(x) for x in Path(dl.value.path()).read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 1
    rec = lines[0]
    assert {k: rec[k] for k in ("account_id", "category", "decision", "note", "model")} == {
        "account_id": "demo-escort-bio", "category": "solicitation", "decision": "confirmed",
        "note": "ad with WeChat handle", "model": _shipped_model_id()}
    assert rec["time"] and rec["post_ids"]
    # The export trains: its flagged posts become positive rows.
    dec = tmp_path / "dec.jsonl"
    dec.write_text(Path(dl.value.path()).read_text(encoding="utf-8"), encoding="utf-8")
    fb = feedback_rows(dec, EXAMPLES / "accounts.jsonl")
    assert fb and {r["solicitation"] for r in fb} == {1} and {r["account_id"] for r in fb} == {"demo-escort-bio"}
    assert pg.errors == [] and pg.foreign_requests() == []
    ctx.close()


def test_hostile_report_in_chromium(browser, hostile):
    ctx = browser.new_context()
    pg = _Page(ctx, hostile["html"])
    page = pg.page
    queue = json.loads(page.locator("#queue-data").text_content())
    order = [r["id"] for r in queue]
    for n in range(len(order)):
        pg.goto(f"#account/{n}")
        assert page.locator(".acc-id").text_content() == order[n]
    pg.goto("#queue")
    pg.goto(f"#account/{order.index('hostile-1')}")
    body = page.locator("#account").text_content()
    assert PWN_SCRIPT in body and PWN_IMG in body and PWN_LINK in body and "[U+202E]" in body
    assert "text cut for display" in body
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.evaluate("""() => document.querySelectorAll(
        '#injected-img, #injected-link, #injected-svg, #injected-b, [onerror], [onload], a[href^="javascript"]').length""") == 0
    assert page.evaluate("document.querySelectorAll('script:not([type])').length") == 1
    pg.goto(f"#account/{order.index(HOSTILE_ID)}")
    assert page.locator(".acc-id").text_content() == HOSTILE_ID
    # Thumbnails: blurred until clicked; none for the escalated account.
    pg.goto(f"#account/{order.index('photos-1')}")
    img = page.locator(".thumb img")
    assert img.count() == 1 and "blur" in page.evaluate("getComputedStyle(document.querySelector('.thumb img')).filter")
    img.click()
    assert page.evaluate("getComputedStyle(document.querySelector('.thumb img')).filter") == "none"
    pg.goto(f"#account/{order.index('escalated-1')}")
    assert page.locator(".thumb img").count() == 0 and page.locator(".banner").count() == 1
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert pg.errors == [] and pg.foreign_requests() == []
    ctx.close()


def test_hostile_dump_scored_for_real_renders_as_text(browser, hostile, tmp_path):
    """The same hostile dump through ``cleanclf score`` (real verdicts, real evidence spans) and
    ``cleanclf report``: every account view opens without running any of it."""
    v, out = tmp_path / "v.jsonl", tmp_path / "r.html"
    assert cli.main(["score", str(hostile["dump"]), "-o", str(v), "--posts", "all", "--no-progress",
                     "--images-root", str(EXAMPLES)]) == 0
    assert cli.main(["report", str(v), "-o", str(out), "--dump", str(hostile["dump"]),
                     "--images-root", str(EXAMPLES)]) == 0
    assert PWN_SCRIPT not in out.read_text(encoding="utf-8")
    ctx = browser.new_context()
    pg = _Page(ctx, out)
    queue = json.loads(pg.page.locator("#queue-data").text_content())
    assert "hostile-1" in {r["id"] for r in queue}  # its solicitation posts put it in the queue
    n = len(queue)
    for i in range(n):
        pg.goto(f"#account/{i}")
    assert pg.page.evaluate("typeof window.__pwned") == "undefined"
    assert pg.page.evaluate("document.querySelectorAll('[onerror], [onload], a[href^=\"javascript\"]').length") == 0
    assert pg.errors == [] and pg.foreign_requests() == []
    ctx.close()
