"""The three categories cleanclf scores, and what each means.

Scope is strictly sexual content and prostitution solicitation; every other
harm (gambling, fraud, insults, ordinary ads) is a negative.

>>> from cleanclf.categories import CATEGORIES
>>> CATEGORIES
('lewd_images', 'explicit_text', 'solicitation')
"""

from __future__ import annotations

LEWD_IMAGES = "lewd_images"
EXPLICIT_TEXT = "explicit_text"
SOLICITATION = "solicitation"

CATEGORIES: tuple[str, ...] = (LEWD_IMAGES, EXPLICIT_TEXT, SOLICITATION)
TEXT_CATEGORIES: tuple[str, ...] = (EXPLICIT_TEXT, SOLICITATION)
IMAGE_CATEGORIES: tuple[str, ...] = (LEWD_IMAGES,)

DESCRIPTIONS: dict[str, str] = {
    LEWD_IMAGES: "posts large amounts of pornographic or lewd images",
    EXPLICIT_TEXT: (
        "publishes sexual text: lurid depictions, explicit sexual chat, and promotion or "
        "trade of pornographic material (videos, clips, 'resources', porn groups)"
    ),
    SOLICITATION: (
        "publishes information soliciting prostitution: escort / 上门服务 / 包夜 / 楼凤 ads, "
        "paid-sex and hook-up invitations, usually with a contact route"
    ),
}
