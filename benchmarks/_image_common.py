"""Shared helpers of the image benchmarks: offline benign photos and metrics file (thin; no pipeline code)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

METRICS = Path(__file__).resolve().parent / "image_metrics.json"


def benign_photos() -> dict[str, np.ndarray]:
    """Every benign photo available offline: sklearn sample images and scikit-image's data (if installed)."""
    from sklearn.datasets import load_sample_images

    s = load_sample_images()
    out = {f"sklearn/{os.path.basename(n)}": a for n, a in zip(s.filenames, s.images)}
    try:
        import skimage.data as skd
    except ImportError:
        return out
    names = ["astronaut", "camera", "cat", "chelsea", "coffee", "coins", "colorwheel", "grass", "gravel",
             "horse", "hubble_deep_field", "immunohistochemistry", "logo", "microaneurysms", "moon", "page",
             "retina", "rocket", "skin", "text", "brick", "rough_wall", "clock", "checkerboard", "motorcycle_left",
             "motorcycle_right", "lily", "eagle"]
    for n in names:
        fn = getattr(skd, n, None)
        if fn is None:
            continue
        try:
            a = fn()
        except Exception:  # noqa: BLE001 - some need pooch downloads; offline we skip them
            continue
        if isinstance(a, tuple):
            a = a[0]
        a = np.asarray(a)
        if a.dtype == bool:
            a = a.astype(np.uint8) * 255
        if a.dtype != np.uint8:
            a = (255 * (a - a.min()) / max(float(a.max() - a.min()), 1e-9)).astype(np.uint8)
        if a.ndim == 3 and a.shape[2] not in (3, 4):
            continue
        out[f"skimage/{n}"] = a
    return out


def photo_like_jpegs(directory: Path, n: int, size=(2000, 1500), seed=0) -> list[Path]:
    """n JPEGs of ``size``: benign photos upscaled, flipped/cropped and with noise (photo-like entropy)."""
    rng = np.random.default_rng(seed)
    photos = [a for a in benign_photos().values() if a.ndim == 3 and min(a.shape[:2]) >= 256]
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        a = photos[i % len(photos)][:, :, :3]
        if i // len(photos) % 2:
            a = a[:, ::-1]
        img = Image.fromarray(np.ascontiguousarray(a)).resize(size, Image.Resampling.BICUBIC)
        noisy = np.asarray(img, dtype=np.int16) + rng.integers(-6, 7, (size[1], size[0], 3), dtype=np.int16)
        path = directory / f"photo_{i:03d}.jpg"
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(path, "JPEG", quality=90)
        out.append(path)
    return out


def update_metrics(key: str, value) -> None:
    data = json.loads(METRICS.read_text()) if METRICS.is_file() else {}
    data[key] = value
    METRICS.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
