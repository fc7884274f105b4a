"""Generate the image-text benchmark: ad cards, QR cards, chat screenshots, photos with a contact, and look-alikes.

    python benchmarks/make_image_text.py --out /tmp/imgtext --n 160 --seed 0

Writes ``DIR/images/*.png|jpg``, ``DIR/labels.jsonl`` (one row per image: ``path``, ``kind``,
``positive`` (solicitation), ``has_text``, ``handles`` (contact handles drawn as text), ``qr``
(QR payloads drawn)) and ``DIR/accounts.jsonl`` (ad accounts posting >= 5 ad images with innocuous
post text, and repair-shop / restaurant / ordinary accounts posting look-alike images) with
``DIR/account_labels.json`` (account id -> kind and whether it solicits).

Everything is synthetic (CC0): fonts from Debian's ``fonts-noto-cjk``, QR codes from ``segno``
(benchmark-only), photos are crops of scikit-learn's two sample images or drawn shapes. Handles are
pseudonymous (``vx_test01``-style, QQ numbers and phones drawn at random); QR payloads point at
``u.wechat.com/TEST…`` style ids that do not exist. Nothing is fetched.
"""

from __future__ import annotations

import argparse
import io
import json
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path("/usr/share/fonts/opentype/noto")
FONTS = [("NotoSansCJK-Regular.ttc", 2), ("NotoSansCJK-Bold.ttc", 2), ("NotoSerifCJK-Bold.ttc", 2),
         ("NotoSansCJK-Regular.ttc", 3)]  # SC sans, SC sans bold, SC serif bold, TC sans

# ---------------------------------------------------------------- text material
AD_LINES = [["同城上门服务", "包夜 全套 可约"], ["高端外围 学生兼职", "快餐 包夜 上门"], ["楼凤 一条龙服务", "同城约 见面付款"],
            ["寂寞了吗 今晚有空", "上门 包夜 安全放心"], ["模特 空姐 兼职", "全套服务 上门 酒店"], ["同城交友 快餐200 包夜800", "可上门 可到店"]]
TRAD = {"上门": "上門", "服务": "服務", "约": "約", "兼职": "兼職", "见面": "見面", "条龙": "條龍", "包夜": "包夜",
        "学生": "學生", "酒店": "酒店", "加微信": "加微信", "寂寞": "寂寞", "安全": "安全"}
HOMO = {"微": ["薇", "威", "徽"], "信": ["芯", "信"], "加": ["+", "➕", "咖"], "约": ["葯", "約"], "包": ["苞"]}
SYMBOLS = "❤★♥✿☆◆"
CONTACT_FMT = {"wechat": ["加微信 {h}", "微信: {h}", "V信 {h}", "加薇 {h}", "+V: {h}"],
               "qq": ["QQ {h}", "扣扣 {h}", "加QQ: {h}", "Q: {h}"],
               "phone": ["电话 {h}", "手机 {h}", "Tel: {h}"]}
MENU = ["宫保鸡丁 28元", "鱼香肉丝 26元", "麻婆豆腐 18元", "红烧牛肉面 22元", "番茄炒蛋 16元", "酸辣土豆丝 12元",
        "水煮鱼 58元", "小笼包 15元", "扬州炒饭 18元", "回锅肉 32元"]
SIGNS = [["老王五金店", "营业时间 8:00-20:00"], ["幸福理发店", "剪发 烫发 染发"], ["城东便利店", "24小时营业"],
         ["阳光药房", "医保定点"], ["小李水果店", "新鲜水果 批发零售"]]
REPAIR = [["专业上门维修", "空调 冰箱 洗衣机"], ["家政保洁 上门服务", "开荒保洁 日常清洁"], ["开锁换锁 上门服务", "24小时 快速上门"],
          ["管道疏通 上门维修", "马桶 下水道 厨房"], ["搬家服务 同城搬运", "价格公道 准时上门"], ["家电清洗 上门服务", "油烟机 空调 热水器"]]
NEWS = ["本市今日发布暴雨黄色预警", "地铁三号线将于下月开通运营", "市民可通过官方平台预约疫苗接种",
        "今年夏粮收购工作进展顺利", "气象部门提醒注意防暑降温", "图书馆周末延长开放时间"]
CHAT_OK = [("在吗", "在的"), ("晚上一起吃饭吗", "好啊 几点"), ("明天的会议改到十点", "收到"), ("快递到了吗", "还没 明天到"),
           ("周末去爬山吗", "可以 叫上小张")]
CHAT_AD = [("在吗 今晚可以上门吗", "可以 包夜1500"), ("还有空吗 想约", "有的 快餐300 包夜1000"), ("多少钱一次", "全套500 可上门")]
MEMES = ["周一综合症", "我太难了", "打工人 打工魂", "今天也要加油鸭", "减肥明天再说"]


def handle(kind: str, rng: random.Random, k: int) -> str:
    if kind == "wechat":
        return rng.choice(["vx_test", "wx_demo", "vtest_", "abc_test"]) + f"{k:02d}"
    if kind == "qq":
        return str(rng.randint(10_000_000, 999_999_999))
    return "1380000" + f"{rng.randint(0, 9999):04d}"


def disguise(text: str, rng: random.Random, how: str) -> str:
    if how == "trad":
        for a, b in TRAD.items():
            text = text.replace(a, b)
    elif how == "homoglyph":
        text = "".join(rng.choice(HOMO[c]) if c in HOMO and rng.random() < 0.7 else c for c in text)
    elif how == "spacing":
        text = " ".join(text.replace(" ", ""))
    elif how == "symbols":
        text = "".join(c + (rng.choice(SYMBOLS) if "\u4e00" <= c <= "\u9fff" and rng.random() < 0.5 else "")
                       for c in text)
    return text


# ---------------------------------------------------------------- drawing
def font(rng: random.Random, size: int, idx: int | None = None) -> ImageFont.FreeTypeFont:
    name, index = FONTS[rng.randrange(len(FONTS)) if idx is None else idx]
    return ImageFont.truetype(str(FONT_DIR / name), size, index=index)


def _bg(rng: random.Random, w: int, h: int) -> Image.Image:
    c1 = np.array([rng.randint(150, 255) for _ in range(3)], float)
    c2 = np.array([rng.randint(150, 255) for _ in range(3)], float)
    t = np.linspace(0, 1, h)[:, None, None]
    arr = (c1 * (1 - t) + c2 * t) * np.ones((h, w, 3))
    return Image.fromarray(arr.astype(np.uint8))


def card(lines: list[str], rng: random.Random, size=(640, 420), qr: str | None = None, tall: bool = False):
    w, h = size
    img = _bg(rng, w, h)
    d = ImageDraw.Draw(img)
    fs = rng.randint(30, 40)
    f = font(rng, fs)
    y = rng.randint(25, 50)
    for ln in lines:
        col = tuple(rng.randint(0, 90) for _ in range(3))
        d.text((rng.randint(20, 45), y), ln, font=f, fill=col)
        y += int(fs * 1.6)
    if qr:
        q = qr_image(qr, scale=5)
        img.paste(q, (w - q.size[0] - 15, h - q.size[1] - 15))
    return img


def qr_image(payload: str, scale: int = 5) -> Image.Image:
    import segno

    buf = io.BytesIO()
    segno.make(payload, error="m").save(buf, kind="png", scale=scale, border=2)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


_PHOTOS: list[np.ndarray] = []


def photo(rng: random.Random, w: int = 800, h: int = 600) -> Image.Image:
    if not _PHOTOS:
        from sklearn.datasets import load_sample_images

        _PHOTOS.extend(load_sample_images().images)
    if rng.random() < 0.6:
        src = _PHOTOS[rng.randrange(len(_PHOTOS))]
        H, W = src.shape[:2]
        cw, ch = rng.randint(W // 3, W), rng.randint(H // 3, H)
        x, y = rng.randint(0, W - cw), rng.randint(0, H - ch)
        return Image.fromarray(src[y:y + ch, x:x + cw]).resize((w, h), Image.BILINEAR)
    img = _bg(rng, w, h)
    d = ImageDraw.Draw(img)
    for _ in range(rng.randint(5, 15)):  # shapes: a still life without text
        x0, y0 = rng.randint(0, w), rng.randint(0, h)
        box = [x0, y0, x0 + rng.randint(20, 300), y0 + rng.randint(20, 300)]
        col = tuple(rng.randint(0, 255) for _ in range(3))
        (d.ellipse if rng.random() < 0.5 else d.rectangle)(box, fill=col)
    return img


def chat(pairs, rng: random.Random) -> Image.Image:
    w, h = 540, 200 + 150 * len(pairs)
    img = Image.new("RGB", (w, h), (237, 237, 237))
    d = ImageDraw.Draw(img)
    f = font(rng, 28, idx=0 if rng.random() < 0.5 else 1)
    d.rectangle([0, 0, w, 70], fill=(250, 250, 250))
    d.text((200, 18), "聊天", font=f, fill=(0, 0, 0))
    y = 100
    for a, b in pairs:
        for k, msg in enumerate((a, b)):
            tw = d.textlength(msg, font=f)
            x = 90 if k == 0 else w - 90 - tw
            d.rounded_rectangle([x - 12, y - 8, x + tw + 12, y + 44], 8,
                                fill=(255, 255, 255) if k == 0 else (149, 236, 105))
            d.text((x, y), msg, font=f, fill=(0, 0, 0))
            y += 70
    return img


def overlay(img: Image.Image, text: str, rng: random.Random) -> Image.Image:
    d = ImageDraw.Draw(img)
    f = font(rng, rng.randint(24, 30))
    tw = d.textlength(text, font=f)
    x, y = rng.randint(10, max(10, int(img.size[0] - tw - 10))), rng.randint(img.size[1] - 90, img.size[1] - 45)
    d.rectangle([x - 6, y - 4, x + tw + 6, y + 40], fill=(0, 0, 0))
    d.text((x, y), text, font=f, fill=(255, 255, 255))
    return img


# ---------------------------------------------------------------- items
def make_positive(kind: str, rng: random.Random, k: int) -> tuple[Image.Image, dict]:
    ctype = rng.choice(["wechat", "wechat", "qq", "phone"])
    h = handle(ctype, rng, k)
    contact = rng.choice(CONTACT_FMT[ctype]).format(h=h)
    meta = {"handles": [{"type": ctype, "value": h}], "qr": []}
    if kind == "ad_card":
        how = rng.choice(["plain", "trad", "homoglyph", "spacing", "symbols"])
        lines = [disguise(ln, rng, how) for ln in rng.choice(AD_LINES)] + [contact]
        meta["disguise"] = how
        return card(lines, rng), meta
    if kind == "qr_card":
        payload = rng.choice(["https://u.wechat.com/TEST", "https://weixin.qq.com/r/TEST", "https://qm.qq.com/q/TEST",
                              "https://weixin.qq.com/g/TEST"]) + f"{k:04d}x{rng.randint(0, 99999)}"
        meta["qr"] = [payload]
        return card(rng.choice(AD_LINES) + [contact], rng, size=(720, 460), qr=payload), meta
    if kind == "chat_ad":
        a, b = rng.choice(CHAT_AD)
        return chat([(a, b), ("怎么联系", contact)], rng), meta
    if kind == "photo_contact":
        text = rng.choice(["同城约 ", "上门 包夜 ", "约吗 "]) + contact
        return overlay(photo(rng), text, rng), meta
    raise ValueError(kind)


def make_negative(kind: str, rng: random.Random, k: int) -> tuple[Image.Image, dict]:
    meta = {"handles": [], "qr": []}
    if kind == "menu":
        lines = rng.sample(MENU, 5) + [f"订餐电话 {handle('phone', rng, k)}"]
        return card(lines, rng, size=(560, 620)), meta
    if kind == "shop_sign":
        return card(rng.choice(SIGNS), rng, size=(700, 260)), meta
    if kind == "repair_card":
        ctype = rng.choice(["phone", "wechat"])
        contact = rng.choice(CONTACT_FMT[ctype]).format(h=handle(ctype, rng, k))
        return card(rng.choice(REPAIR) + [contact], rng), meta
    if kind == "news":
        return card(rng.sample(NEWS, 4), rng, size=(720, 420)), meta
    if kind == "chat_ok":
        return chat(rng.sample(CHAT_OK, 2), rng), meta
    if kind == "meme":
        return overlay(photo(rng, 600, 500), rng.choice(MEMES), rng), meta
    if kind == "qr_benign":
        payload = rng.choice(["wxp://f2f0TEST", "https://qr.alipay.com/TEST", "https://example.org/menu/",
                              "https://www.example.com/shop/"]) + f"{k:04d}"
        meta["qr"] = [payload]
        lines = [rng.choice(["扫码点餐", "扫码付款", "关注我们", "扫码领券"])]
        return card(lines, rng, size=(640, 460), qr=payload), meta
    if kind == "photo":
        return photo(rng), meta
    raise ValueError(kind)


POS_KINDS = ["ad_card", "ad_card", "qr_card", "chat_ad", "photo_contact"]
NEG_KINDS = ["menu", "shop_sign", "repair_card", "repair_card", "news", "chat_ok", "meme", "qr_benign", "photo"]
TEXTLESS = {"photo"}
# ordinary captions; "分享一张图" was dropped: the text model flags it explicit_text (0.65), which
# made look-alike accounts labelled with image text off and hid what image text adds
INNOCUOUS = ["今天天气不错", "路边的花开了", "晚安", "周末愉快", "新的一天", "看看这个"]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=160, help="positives and as many negatives")
    ap.add_argument("--accounts", type=int, default=40, help="ad accounts (and 5x as many look-alike accounts)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    out = Path(args.out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for k in range(2 * args.n):
        pos = k % 2 == 0
        kind = POS_KINDS[(k // 2) % len(POS_KINDS)] if pos else NEG_KINDS[(k // 2) % len(NEG_KINDS)]
        img, meta = (make_positive if pos else make_negative)(kind, rng, k)
        ext = "jpg" if kind.startswith("photo") or kind == "meme" else "png"
        name = f"images/{k:04d}_{kind}.{ext}"
        img.save(out / name, quality=90) if ext == "jpg" else img.save(out / name)
        rows.append({"path": name, "kind": kind, "positive": pos, "has_text": kind not in TEXTLESS, **meta})
    with open(out / "labels.jsonl", "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    # accounts: ad accounts post >= 5 ad images with innocuous text; look-alikes post menus / repair cards
    pos_paths = [r["path"] for r in rows if r["positive"]]
    look = {"repair": [r["path"] for r in rows if r["kind"] == "repair_card"],
            "restaurant": [r["path"] for r in rows if r["kind"] in ("menu", "qr_benign", "shop_sign")],
            "ordinary": [r["path"] for r in rows if not r["positive"] and r["kind"] not in ("repair_card", "menu")]}
    labels = {}
    with open(out / "accounts.jsonl", "w", encoding="utf-8") as fh:
        def write(aid, kind, paths, label):
            labels[aid] = {"kind": kind, "solicitation": label}
            posts = [{"id": f"{aid}-p{i}", "text": rng.choice(INNOCUOUS), "images": [p]} for i, p in enumerate(paths)]
            posts += [{"id": f"{aid}-t{i}", "text": rng.choice(INNOCUOUS)} for i in range(rng.randint(0, 4))]
            fh.write(json.dumps({"account_id": aid, "profile": {"nickname": f"user{aid}", "bio": ""}, "posts": posts},
                                ensure_ascii=False) + "\n")
        for a in range(args.accounts):
            write(f"ad{a:03d}", "ad", rng.sample(pos_paths, rng.randint(5, 8)), True)
        for a in range(5 * args.accounts):
            kind = ["repair", "restaurant", "ordinary"][a % 3]
            write(f"{kind}{a:03d}", kind, rng.sample(look[kind], min(len(look[kind]), rng.randint(5, 8))), False)
    (out / "account_labels.json").write_text(json.dumps(labels, indent=0), encoding="utf-8")
    print(f"wrote {len(rows)} images, {6 * args.accounts} accounts to {out}")


if __name__ == "__main__":
    main()
