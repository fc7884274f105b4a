"""Images: safe decoding, the open_nsfw ONNX embedder and the ``lewd_images`` head.

Nothing is loaded at import; the onnxruntime session is created on first use.

>>> from cleanclf.image import ImageModel, OnnxEmbedder, LogitHead, resolve_image_path
>>> OnnxEmbedder().mode
'exact'
"""

from __future__ import annotations

from .decode import decode_image, iter_frames, resolve_image_path
from .embed import OnnxEmbedder
from .head import LogitHead
from .model import ImageModel

__all__ = ["ImageModel", "OnnxEmbedder", "LogitHead", "resolve_image_path", "decode_image", "iter_frames"]
