"""Text and QR codes in images as solicitation evidence (``--image-text``; optional extra ``ocr``).

Fixtures are drawn here with Pillow (Noto CJK fonts from Debian's fonts-noto-cjk) and QR codes with
zxing-cpp's own writer; tests that need the extra or the fonts skip when they are absent.
"""

from __future__ import annotations

import io
import json
import socket
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

import cleanclf
from cleanclf.errors import MissingDependencyError
from cleanclf.image.text import IMAGE_TEXT_MODES, ImageTextReader, check_image_text, classify_qr, require_ocr

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "accounts.jsonl"
FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def _have_ocr() -> bool:
    try:
        require_ocr()
    except MissingDependencyError:
        return False
    return True


needs_ocr = pytest.mark.skipif(not _have_ocr(), reason='needs the ocr extra: pip install "cleanclf[ocr]"')
needs_fonts = pytest.mark.skipif(not FONT.exists(), reason="needs CJK fonts (apt-get install fonts-noto-cjk)")


# ---------------------------------------------------------------- fixtures
def qr(payload: str, scale: int = 5) -> Image.Image:
    import zxingcpp

    import numpy as np

    if hasattr(zxingcpp, "create_barcode"):  # zxing-cpp >= 2.3
        img = zxingcpp.write_barcode_to_image(zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode),
                                              scale=scale)
    else:
        img = zxingcpp.write_barcode(zxingcpp.BarcodeFormat.QRCode, payload, width=30 * scale, height=30 * scale)
    q = Image.fromarray(np.asarray(img)).convert("RGB")
    out = Image.new("RGB", (q.size[0] + 20, q.size[1] + 20), "white")  # quiet zone
    out.paste(q, (10, 10))
    return out


def card(lines, qr_payload=None, size=(640, 420)) -> Image.Image:
    img = Image.new("RGB", size, (250, 232, 240))
    d = ImageDraw.Draw(img)
    f = ImageFont.truetype(str(FONT), 36, index=2)
    for k, ln in enumerate(lines):
        d.text((30, 40 + 70 * k), ln, font=f, fill=(20, 20, 20))
    if qr_payload:
        q = qr(qr_payload)
        img.paste(q, (size[0] - q.size[0] - 10, size[1] - q.size[1] - 10))
    return img


def shapes(size=(640, 480)) -> Image.Image:
    """A text-less "photo": smooth noise (large flat shapes with hard edges can open the gate: a
    false open costs time, never recall)."""
    import numpy as np
    from PIL import ImageFilter

    rng = np.random.default_rng(0)
    img = Image.fromarray((rng.random((size[1] // 8, size[0] // 8, 3)) * 255).astype("uint8"))
    return img.resize(size, Image.BICUBIC).filter(ImageFilter.GaussianBlur(3))


AD = ["同城上门服务 包夜", "全套 可约 安全", "加微信 abc_test01"]  # "vx_..." reads as 微信_ to the normaliser
AD_QR = "https://u.wechat.com/TESTONLY01"


@pytest.fixture(scope="module")
def clf():
    return cleanclf.load()


# ---------------------------------------------------------------- QR typing (no extra needed)
@pytest.mark.parametrize("payload, kind, contact", [
    ("https://u.wechat.com/AbC", "wechat", True),
    ("http://weixin.qq.com/r/xyz", "wechat", True),
    ("https://weixin.qq.com/g/Grp1", "wechat_group", True),
    ("https://qm.qq.com/cgi-bin/qm/qr?k=abc", "qq", True),
    ("https://qr.qq.com/xyz", "qq", True),
    ("tel:+86-138-0000-0000", "phone", True),
    ("https://example.org/menu", "url", True),
    ("www.example.com", "url", True),
    ("wxp://f2f0abc", "payment", False),
    ("https://qr.alipay.com/abc", "payment", False),
    ("hello world", "text", False),
])
def test_qr_payloads_are_typed(payload, kind, contact):
    t = classify_qr(payload)
    assert (t["type"], t["contact"]) == (kind, contact)


def test_qr_values_keep_the_id_and_phone_digits():
    assert classify_qr("HTTPS://u.wechat.com/AbC")["value"] == "u.wechat.com/AbC"
    assert classify_qr("tel:+86 138 0000 0000")["value"] == "8613800000000"
    assert len(classify_qr("x" * 10_000)["value"]) == 200


def test_image_text_option_is_validated():
    assert IMAGE_TEXT_MODES == ("off", "gated", "all")
    with pytest.raises(ValueError, match="image_text: expected one of"):
        check_image_text("on")
    with pytest.raises(ValueError, match="image_text"):
        cleanclf.score_accounts([{"account_id": "u"}], image_text="yes")


# ---------------------------------------------------------------- missing extra
def test_missing_extra_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)  # import fails as if not installed
    with pytest.raises(MissingDependencyError, match=r'pip install "cleanclf\[ocr\]"'):
        require_ocr()
    with pytest.raises(ImportError, match="rapidocr-onnxruntime"):
        cleanclf.score_accounts([{"account_id": "u"}], image_text="gated")


def test_cli_without_the_extra_exits_2(monkeypatch, tmp_path, capsys):
    from cleanclf.cli import main

    monkeypatch.setitem(sys.modules, "zxingcpp", None)
    rc = main(["score", str(EXAMPLES), "-o", str(tmp_path / "v.jsonl"), "--no-progress", "--image-text", "gated"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "--image-text gated" in err and 'pip install "cleanclf[ocr]"' in err and "zxing-cpp" in err
    assert not (tmp_path / "v.jsonl").exists()


# ---------------------------------------------------------------- off changes nothing
def test_off_is_byte_identical_to_no_option(tmp_path):
    from cleanclf.cli import main

    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert main(["score", str(EXAMPLES), "-o", str(a), "--no-progress"]) in (0, 3)
    assert main(["score", str(EXAMPLES), "-o", str(b), "--no-progress", "--image-text", "off"]) in (0, 3)
    assert a.read_bytes() == b.read_bytes()
    assert b"image_text" not in b.read_bytes()
    run = json.loads((tmp_path / "b.jsonl.run.json").read_text())
    assert "image_text" not in run["options"] and "image_text" not in run  # older run records still match


# ---------------------------------------------------------------- reading
@needs_ocr
@needs_fonts
def test_reader_reads_lines_boxes_and_typed_qr(tmp_path):
    p = tmp_path / "card.png"
    card(AD, AD_QR).save(p)
    r = ImageTextReader(mode="gated").read(p)
    assert r["gate"] == "qr" and r["read"] and r["frames_read"] == 1
    assert "abc_test01" in r["text"].replace(" ", "")
    assert "包夜" in r["text"]
    for ln in r["lines"]:
        x0, y0, x1, y1 = ln["box"]
        assert 0 <= x0 < x1 <= 640 and 0 <= y0 < y1 <= 420 and 0.5 <= ln["score"] <= 1
    assert [(q["type"], q["value"], q["payload"]) for q in r["qr"]] == [("wechat", "u.wechat.com/TESTONLY01", AD_QR)]


@needs_ocr
@needs_fonts
def test_gate_reads_only_images_with_text_or_qr(tmp_path):
    gated, every = ImageTextReader(mode="gated"), ImageTextReader(mode="all")
    photo = gated.read(shapes())
    assert photo["gate"] == "closed" and not photo["read"] and photo["text"] == "" and photo["lines"] == []
    assert every.read(shapes())["gate"] == "all"
    assert gated.read(card(AD))["gate"] == "text"
    qr_only = Image.new("RGB", (400, 400), "white")
    qr_only.paste(qr("https://weixin.qq.com/g/TESTGROUP"), (100, 100))
    r = gated.read(qr_only)
    assert r["gate"] == "qr" and r["qr"][0]["type"] == "wechat_group"


@needs_ocr
def test_qr_payload_is_never_fetched(monkeypatch, tmp_path):
    def no_network(*a, **k):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    img = Image.new("RGB", (300, 300), "white")
    img.paste(qr("http://127.0.0.1:9/should-not-be-fetched"), (40, 40))
    r = ImageTextReader(mode="gated").read(img)
    assert r["qr"][0]["type"] == "url" and r["qr"][0]["payload"] == "http://127.0.0.1:9/should-not-be-fetched"


@needs_ocr
def test_hostile_images_give_errors_not_exceptions(tmp_path):
    reader = ImageTextReader(mode="all")
    (tmp_path / "trunc.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    (tmp_path / "text.jpg").write_text("not an image")
    bomb = io.BytesIO()
    Image.new("1", (1, 1)).save(bomb, "PNG")
    raw = bytearray(bomb.getvalue())
    raw[16:24] = (60000).to_bytes(4, "big") + (60000).to_bytes(4, "big")  # declared 3.6 Gpx
    (tmp_path / "bomb.png").write_bytes(bytes(raw))
    out = reader.read_many(["trunc.png", "text.jpg", "bomb.png", "missing.png", "../etc/passwd",
                            "https://example.org/a.jpg"], images_root=tmp_path)
    assert all("error" in r for r in out), out
    assert "bomb.png" in out[2]["error"]["message"]


@needs_ocr
@needs_fonts
def test_odd_modes_and_animations_read_the_first_frame(tmp_path):
    reader = ImageTextReader(mode="all")
    base = card(["加微信 vx_test02"])
    for mode in ("L", "LA", "CMYK", "P", "RGBA"):
        r = reader.read(base.convert(mode))
        assert "vx_test02" in r["text"].replace(" ", ""), (mode, r)
    frames = [card(["加微信 vx_test03"]), card(["晚饭做了番茄炒蛋"])]
    gif = tmp_path / "anim.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100)
    r = reader.read(gif)
    assert r["frames_read"] == 1 and "vx_test03" in r["text"].replace(" ", "") and "番茄" not in r["text"]


# ---------------------------------------------------------------- accounts and evidence
@needs_ocr
@needs_fonts
def test_ad_images_make_a_solicitation_account_with_evidence(tmp_path, clf):
    card(AD, AD_QR).save(tmp_path / "ad.png")
    shapes().save(tmp_path / "photo.png")
    rec = {"account_id": "img-ads", "profile": {"nickname": "小美", "bio": ""},
           "posts": [{"id": f"p{i}", "text": "今天天气不错", "images": ["ad.png"]} for i in range(3)]
           + [{"id": "p3", "text": "分享一张图", "images": ["photo.png", "broken.png"]}]}
    (tmp_path / "broken.png").write_bytes(b"GIF89a nonsense")
    off = cleanclf.score_accounts([rec], model=clf, images_root=str(tmp_path))
    v_off = next(off)
    assert "solicitation" not in v_off["labels"] and "image_text" not in v_off["counts"]
    v = next(cleanclf.score_accounts([rec], model=clf, images_root=str(tmp_path), image_text="gated",
                                     posts="all"))
    assert v["error"] is None
    assert "solicitation" in v["labels"]
    c = v["counts"]
    assert c["posts"] == 4 and c["image_text"]["units"] == 3
    assert c["image_text"]["images"] == 5 and c["image_text"]["failed"] == 1 and c["image_text"]["gated_out"] == 1
    units = [p for p in v["posts"] if p.get("origin") == "image_text"]
    assert [u["id"] for u in units] == ["p0#image0", "p1#image0", "p2#image0"]
    assert all(u["image"] == "ad.png" and u["source_post_id"] == u["id"].split("#")[0] for u in units)
    it = [e for e in v["evidence"] if e["kind"] == "image_text"]
    assert it and it[0]["flagged"] and it[0]["image"] == "ad.png" and it[0]["unit_id"] == "p0#image0"
    assert "包夜" in it[0]["text"] and all(len(ln["box"]) == 4 for ln in it[0]["lines"])
    assert {"type": "wechat", "value": "u.wechat.com/TESTONLY01", "origin": "qr"} in it[0]["contacts"]
    assert any(ct["type"] == "wechat" and ct["value"] == "abc_test01" for ct in it[0]["contacts"])
    # the repeated handle across images supports the rule, as it does between posts
    rule = next(e for e in v["evidence"] if e["kind"] == "rule" and e["category"] == "solicitation")
    assert "repeated_contact" in rule["support"]
    contacts = [e for e in v["evidence"] if e["kind"] == "contact"]
    assert any(e["value"] == "abc_test01" and e["count"] == 3 for e in contacts)
    post_ev = [e for e in v["evidence"] if e["kind"] == "post"]
    assert any("#image" in e["post_id"] for e in post_ev)
    assert all((e.get("origin") == "image_text") == ("#image" in e["post_id"]) for e in post_ev)
    assert json.dumps(v, ensure_ascii=False)  # the verdict serialises


@needs_ocr
@needs_fonts
def test_lookalike_images_add_no_units(tmp_path, clf):
    card(["宫保鸡丁 28元", "鱼香肉丝 26元", "订餐电话 13800001234"]).save(tmp_path / "menu.png")
    rec = {"account_id": "restaurant", "posts": [{"id": f"p{i}", "text": "欢迎光临", "images": ["menu.png"]}
                                                 for i in range(4)]}
    off = next(cleanclf.score_accounts([rec], model=clf, images_root=str(tmp_path)))
    v = next(cleanclf.score_accounts([rec], model=clf, images_root=str(tmp_path), image_text="all"))
    assert v["labels"] == [] and v["counts"]["image_text"]["units"] == 0
    assert v["counts"]["image_text"]["with_text"] == 4
    # the rule's inputs are untouched: same scores, bands and rule evidence as with image text off
    assert (v["scores"], v["bands"], v["labels"]) == (off["scores"], off["bands"], off["labels"])
    shown = [e for e in v["evidence"] if e["kind"] == "image_text"]
    assert shown and not shown[0]["flagged"] and "宫保鸡丁" in shown[0]["text"]


def test_reader_pickles_without_its_sessions():
    import pickle

    r = ImageTextReader(mode="all", gate_side=256)
    r.__dict__["_engine"] = object()  # stands for a loaded session
    r2 = pickle.loads(pickle.dumps(r))
    assert r2.mode == "all" and r2.gate_side == 256 and "_engine" not in r2.__dict__


@needs_ocr
def test_cli_gated_counts_image_text_in_the_run_record(tmp_path, capsys):
    from cleanclf.cli import main

    shapes().save(tmp_path / "photo.png")
    dump = tmp_path / "d.jsonl"
    dump.write_text(json.dumps({"account_id": "u1", "posts": [{"id": "p", "text": "晚安",
                                                               "images": ["photo.png", "gone.png"]}]}) + "\n")
    out = tmp_path / "v.jsonl"
    assert main(["score", str(dump), "-o", str(out), "--no-progress", "--image-text", "gated"]) in (0, 3)
    v = json.loads(out.read_text())
    assert v["counts"]["image_text"] == {"images": 2, "read": 0, "gated_out": 1, "failed": 1, "with_text": 0,
                                         "with_qr": 0, "units": 0}
    run = json.loads((tmp_path / "v.jsonl.run.json").read_text())
    assert run["options"]["image_text"] == "gated" and run["image_text"]["gated_out"] == 1
    assert "image text: 0 of 2 images read, 1 gated out, 1 failed" in capsys.readouterr().err


@needs_ocr
@needs_fonts
def test_a_handle_repeated_in_a_post_and_an_image_supports_the_rule(tmp_path, clf):
    card(AD).save(tmp_path / "ad.png")
    ad_text = "同城上门服务 包夜 全套 加微信 abc_test01"
    assert clf.score_text(ad_text)["solicitation"] >= clf.thresholds["solicitation"]
    rec = {"account_id": "mixed", "posts": [{"id": "t", "text": ad_text},
                                            {"id": "i", "text": "晚安", "images": ["ad.png"]}]
           + [{"id": f"o{k}", "text": "今天天气不错"} for k in range(3)]}
    off = next(cleanclf.score_accounts([rec], model=clf, images_root=str(tmp_path)))
    v = next(cleanclf.score_accounts([rec], model=clf, images_root=str(tmp_path), image_text="gated"))
    assert "solicitation" not in off["labels"]  # one ad post never makes an account
    rule = next(e for e in v["evidence"] if e["kind"] == "rule" and e["category"] == "solicitation")
    assert rule["support"] == ["repeated_contact"] and "solicitation" in v["labels"]
    contact = next(e for e in v["evidence"] if e["kind"] == "contact" and e["value"] == "abc_test01")
    assert contact["post_ids"] == ["t", "i#image0"]
