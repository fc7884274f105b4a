"""ONNX image embedder: open_nsfw's pooled 1024-d features, as a scikit-learn transformer.

The onnxruntime session is created on first use (never at import or in
``__init__``), dropped when pickling, and rebuilt after unpickling, so the
embedder clones, pickles and travels to worker processes cheaply.

Throughput: images are cut into small chunks that ``n_jobs`` threads process
end to end (decode, preprocess, inference). Pillow and onnxruntime both release
the GIL, so while one thread decodes a JPEG the other runs the network; each
inference uses ``intra_op_num_threads`` threads (1 when several workers share
the cores, so nobody spins waiting for a busy core).

Screening (optional, used by ``mode="fast"`` scoring): with a ``screen_model_path``
(an int8 copy of the graph, ``image_embed_int8.onnx`` in the default bundle) and a
``refine`` callable, every frame is first embedded by the int8 graph, and only the
frames ``refine`` selects (those that could be near or over the threshold) are
embedded again by the float32 graph, from the same preprocessed pixels.

>>> emb = OnnxEmbedder()                                  # nothing loaded yet
>>> sorted(emb.get_params())[:3]
['batch_size', 'intra_op_num_threads', 'max_frames']
>>> import numpy as np
>>> X = emb.transform([np.zeros((64, 64, 3), np.uint8)])  # doctest: +SKIP
>>> X.shape                                               # doctest: +SKIP
(1, 1024)
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ..errors import BundleError, CleanclfError, ImageError, InputError, InputTypeError, MissingDependencyError, describe
from .decode import CROP, MAX_FRAMES, MAX_PIXELS, check_mode, iter_frames, preprocess

EMBED_DIM = 1024
INPUT_NAME = "input:0"
EMBEDDING_OUTPUT = "embedding"
#: Name of the embedding model inside a bundle.
DEFAULT_FILE = "image_embed.onnx"
#: Name of the int8 screening copy of it (built by scripts/build_image_model.py).
SCREEN_FILE = "image_embed_int8.onnx"

# One lock for lazy session creation across all embedders; it is module-level
# so that it never rides in a pickle.
_SESSION_LOCK = threading.Lock()


def available_cores() -> int:
    """Cores this process may run on (respects taskset / cgroup affinity)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def int8_exact_cpu(cpuinfo: str | None = None) -> bool:
    """Whether this CPU runs onnxruntime's int8 (u8 x s8) convolutions without saturation.

    With AVX512-VNNI or AVX-VNNI the products accumulate in 32 bits. Without them, x86
    kernels use VPMADDUBSW, whose 16-bit pair sums can saturate on a graph quantised with
    full-range int8 weights (as ``image_embed_int8.onnx`` is): its scores would be wrong, not
    just rounded. The int8 screen is therefore used by default only where this returns True
    (read from ``/proc/cpuinfo``; False wherever that cannot be read, e.g. outside Linux, and
    on non-x86 CPUs, where it has not been measured).

    >>> int8_exact_cpu("flags : fpu sse avx2 avx512f avx512_vnni")
    True
    >>> int8_exact_cpu("flags : fpu sse avx2")
    False
    """
    if cpuinfo is None:
        return _int8_exact_this_cpu()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return bool({"avx512_vnni", "avx_vnni"} & set(line.partition(":")[2].split()))
    return False


@lru_cache(maxsize=1)
def _int8_exact_this_cpu() -> bool:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return int8_exact_cpu(text)


class OnnxEmbedder(TransformerMixin, BaseEstimator):
    """Images -> ``(n, 1024)`` float32 open_nsfw embeddings.

    Parameters
    ----------
    model_path : path or None
        The embedding ONNX graph (input ``input:0``, output ``embedding``).
        ``None`` means the bundled ``models/default/image_embed.onnx``.
    mode : {"exact", "fast"}
        Preprocessing: ``"exact"`` reproduces upstream open_nsfw bit for bit,
        ``"fast"`` decodes large JPEGs at reduced scale (see ``decode.py``).
    intra_op_num_threads : int or None
        onnxruntime threads per inference; ``None`` picks 1 when ``n_jobs > 1``
        (the workers already fill the cores), else the number of cores.
    n_jobs : int or None
        Worker threads that decode and infer concurrently; ``None`` = cores.
    batch_size : int
        Images per inference call of one worker.
    max_pixels, max_frames : int
        Decoding limits, see :func:`cleanclf.image.decode.iter_frames`.
    sha256 : str or None
        When given, the model file must have this hash; it is checked on the
        very bytes handed to onnxruntime.
    screen_model_path, screen_sha256 : path or None, str or None
        The int8 screening graph (same input and output as ``model_path``) and
        its hash; used only when :meth:`embed_frames` gets ``refine``.

    ``transform`` gives one row per input: the first frame of an animated
    image (as upstream does); :meth:`embed_frames` gives every sampled frame and
    per-input errors instead of an exception.

    >>> import numpy as np
    >>> emb = OnnxEmbedder(mode="fast", n_jobs=1)
    >>> emb.transform([np.full((300, 200, 3), 200, np.uint8)]).shape   # doctest: +SKIP
    (1, 1024)
    """

    def __init__(self, model_path=None, mode="exact", intra_op_num_threads=None, n_jobs=None, batch_size=4,
                 max_pixels=MAX_PIXELS, max_frames=MAX_FRAMES, sha256=None, screen_model_path=None,
                 screen_sha256=None):
        self.model_path = model_path
        self.mode = mode
        self.intra_op_num_threads = intra_op_num_threads
        self.n_jobs = n_jobs
        self.batch_size = batch_size
        self.max_pixels = max_pixels
        self.max_frames = max_frames
        self.sha256 = sha256
        self.screen_model_path = screen_model_path
        self.screen_sha256 = screen_sha256

    # ------------------------------------------------------------ sklearn API
    def fit(self, X=None, y=None):
        """Nothing to learn (the backbone is fixed); checks the parameters and returns ``self``."""
        self._check_params()
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def transform(self, X: Sequence[Any]) -> np.ndarray:
        """Embed each image of ``X`` (paths, bytes, file objects, PIL images, uint8 arrays).

        Raises :class:`~cleanclf.errors.ImageError` naming the first input that
        cannot be decoded; use :meth:`embed_frames` to get per-input errors.
        """
        items = self._check_items(X, "X")
        out = np.empty((len(items), EMBED_DIM), dtype=np.float32)
        for i, res in enumerate(self.embed_frames(items, max_frames=1)):
            if isinstance(res, BaseException):
                raise ImageError(f"X[{i}]: {res}") from res
            out[i] = res[0]
        return out

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.asarray([f"open_nsfw_{i}" for i in range(EMBED_DIM)], dtype=object)

    # ------------------------------------------------------------ batch engine
    def embed_frames(self, items: Sequence[Any], *, mode: str | None = None, images_root=None,
                     max_frames: int | None = None, refine=None) -> list[np.ndarray | CleanclfError]:
        """One entry per input, in order: a ``(n_frames, 1024)`` array or the error for that input.

        ``mode`` overrides ``self.mode`` for this call; ``images_root`` confines
        paths (see :func:`cleanclf.image.decode.resolve_image_path`).

        ``refine``: ``None`` (every frame through the float32 graph), or a
        callable taking the int8 screening embeddings of a batch of frames
        (``(n, 1024)``) and returning a boolean mask of the frames to embed
        again with the float32 graph; the others keep their int8 embedding.
        Needs ``screen_model_path``.
        """
        self._check_params()
        items = self._check_items(items, "items")
        mode = check_mode(self.mode if mode is None else mode)
        max_frames = self.max_frames if max_frames is None else max_frames
        if not items:
            return []
        n_jobs, threads = self._workers()
        size = max(1, min(int(self.batch_size), -(-len(items) // n_jobs)))
        chunks = [items[i:i + size] for i in range(0, len(items), size)]
        if len(chunks) == 1 and self.intra_op_num_threads is None:
            threads = available_cores()  # nothing to overlap with: one inference on all cores
        screen = None
        if refine is not None:
            if not callable(refine):
                raise InputTypeError(f"refine: expected None or a callable, got {describe(refine)}")
            if self.screen_model_path is None:
                raise InputError("refine: this embedder has no screen_model_path (the int8 screening graph)")
            screen = (self._get_session(threads, screen=True), refine)
        args = dict(session=self._get_session(threads), mode=mode, images_root=images_root, max_frames=max_frames,
                    screen=screen)
        results: list[np.ndarray | CleanclfError] = []
        if n_jobs == 1 or len(chunks) == 1:
            for chunk in chunks:
                results.extend(self._embed_chunk(chunk, **args))
            return results
        with ThreadPoolExecutor(max_workers=n_jobs, thread_name_prefix="cleanclf-embed") as pool:
            # A bounded window of chunks in flight keeps memory flat on long lists
            # while every worker always has the next chunk ready.
            pending: deque = deque()
            it = iter(chunks)
            for chunk in it:
                pending.append(pool.submit(self._embed_chunk, chunk, **args))
                if len(pending) >= 2 * n_jobs:
                    break
            while pending:
                results.extend(pending.popleft().result())
                nxt = next(it, None)
                if nxt is not None:
                    pending.append(pool.submit(self._embed_chunk, nxt, **args))
        return results

    def _embed_chunk(self, chunk, *, session, mode, images_root, max_frames, screen=None):
        frames: list[np.ndarray] = []
        owners: list[int] = []
        out: list[Any] = [None] * len(chunk)
        for i, item in enumerate(chunk):
            try:
                for frame in iter_frames(item, mode=mode, images_root=images_root,
                                         max_pixels=self.max_pixels, max_frames=max_frames):
                    frames.append(preprocess(frame, mode))
                    owners.append(i)
            except Exception as exc:  # noqa: BLE001 - one bad input (e.g. an odd in-memory PIL image) must not sink the batch
                out[i] = exc if isinstance(exc, CleanclfError) else ImageError(
                    f"items[{i}]: cannot use {describe(item)} ({type(exc).__name__}: {exc})")
                # drop frames of a partly decoded animation
                while owners and owners[-1] == i:
                    owners.pop()
                    frames.pop()
        if frames:
            batch = np.stack(frames)
            if screen is None:
                emb = self._run(session, batch)
            else:
                screen_session, refine = screen
                emb = self._run(screen_session, batch)
                mask = np.asarray(refine(emb), dtype=bool).reshape(-1)
                if mask.shape != (len(batch),):
                    raise InputError(f"refine: expected a boolean mask of {len(batch)} frames, got shape {mask.shape}")
                if mask.all():
                    emb = self._run(session, batch)
                elif mask.any():
                    emb[mask] = self._run(session, np.ascontiguousarray(batch[mask]))
            owners_arr = np.asarray(owners)
            for i in set(owners):
                out[i] = emb[owners_arr == i]
        return out

    @staticmethod
    def _run(session, batch: np.ndarray) -> np.ndarray:
        (emb,) = session.run([EMBEDDING_OUTPUT], {INPUT_NAME: batch})
        return emb

    # ------------------------------------------------------------ session
    def _workers(self) -> tuple[int, int]:
        cores = available_cores()
        n_jobs = cores if self.n_jobs is None else int(self.n_jobs)
        if self.intra_op_num_threads is not None:
            threads = int(self.intra_op_num_threads)
        else:
            threads = 1 if n_jobs > 1 else cores
        return n_jobs, threads

    def resolved_model_path(self) -> Path:
        """The model file this embedder loads."""
        if self.model_path is not None:
            return Path(self.model_path)
        from ..models import bundle_dir

        return bundle_dir("default") / DEFAULT_FILE

    def _get_session(self, threads: int, screen: bool = False):
        # Sessions are cached per (graph, thread count): many chunks run on n_jobs
        # single-threaded workers, a lone chunk (one image) uses every core.
        key = (screen, threads)
        sessions = self.__dict__.get("_sessions")
        if sessions is not None and key in sessions:
            return sessions[key]
        with _SESSION_LOCK:
            sessions = self.__dict__.setdefault("_sessions", {})
            if key not in sessions:
                sessions[key] = self._make_session(threads, screen)
            return sessions[key]

    def _make_session(self, threads: int, screen: bool = False):
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise MissingDependencyError("onnxruntime is needed for images: pip install onnxruntime") from exc
        if screen:
            name, path, expected = "screen_model_path", Path(self.screen_model_path), self.screen_sha256
        else:
            name, path = "model_path", self.resolved_model_path()
            expected = self.sha256 or (self._bundled_sha256() if self.model_path is None else None)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise BundleError(f"{name}: cannot read {str(path)!r} ({exc}); expected the "
                              f"{SCREEN_FILE if screen else DEFAULT_FILE} written by scripts/build_image_model.py") from exc
        if expected is not None:
            actual = hashlib.sha256(data).hexdigest()
            if actual != expected:
                raise BundleError(f"{name}: {str(path)!r} has sha256 {actual[:16]}..., expected "
                                  f"{expected[:16]}...; refusing to load a modified model")
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Workers share the cores with decoding threads: spinning would burn
        # the core a decoder needs.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # The bytes we hashed are the bytes onnxruntime parses (no re-read).
        return ort.InferenceSession(data, sess_options=opts, providers=["CPUExecutionProvider"])

    @staticmethod
    def _bundled_sha256() -> str | None:
        from ..models import bundle_dir, read_manifest

        try:
            entry = read_manifest(bundle_dir("default"))["files"].get(DEFAULT_FILE)
        except CleanclfError:
            return None
        return entry.get("sha256") if isinstance(entry, dict) else None

    # ------------------------------------------------------------ checks / pickling
    def _check_params(self) -> None:
        check_mode(self.mode)
        for name in ("batch_size", "max_frames", "max_pixels"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise InputError(f"{name}: expected a positive int, got {describe(value)}")
        for name in ("n_jobs", "intra_op_num_threads"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1):
                raise InputError(f"{name}: expected None or a positive int, got {describe(value)}")

    @staticmethod
    def _check_items(X: Any, name: str) -> list:
        if isinstance(X, (str, bytes, bytearray, os.PathLike, np.ndarray)) and not (
                isinstance(X, np.ndarray) and X.dtype == object and X.ndim == 1):
            raise InputTypeError(f"{name}: expected a list of images (paths, bytes, arrays...), got a single "
                                 f"{type(X).__name__}; wrap it in a list")
        if not isinstance(X, Iterable):
            raise InputTypeError(f"{name}: expected a list of images, got {describe(X)}")
        return list(X)

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_sessions", None)  # onnxruntime sessions do not pickle; rebuilt lazily
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        return tags


__all__ = ["OnnxEmbedder", "EMBED_DIM", "SCREEN_FILE", "available_cores", "int8_exact_cpu", "CROP"]
