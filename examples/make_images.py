"""Generate the tiny, harmless PNGs that examples/accounts.jsonl refers to (run from anywhere).

    python examples/make_images.py

They are plain colour fields with a shape (a "sunset" and a "cup"), so the example dump
exercises the image path end to end without shipping any real photo.
"""

from pathlib import Path

from PIL import Image, ImageDraw


def main() -> None:
    out = Path(__file__).resolve().parent / "images"
    out.mkdir(exist_ok=True)
    img = Image.new("RGB", (64, 64), (250, 170, 90))
    ImageDraw.Draw(img).ellipse((20, 30, 44, 54), fill=(250, 230, 120))
    img.save(out / "sunset.png", optimize=True)
    img = Image.new("RGB", (64, 64), (235, 235, 240))
    ImageDraw.Draw(img).rectangle((20, 20, 44, 50), fill=(120, 80, 50))
    img.save(out / "cup.png", optimize=True)


if __name__ == "__main__":
    main()
