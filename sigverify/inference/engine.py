"""The embedding engine: a verified ONNX model in an onnxruntime session."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from sigverify.errors import ModelError
from sigverify.imaging.preprocess import preprocess
from sigverify.inference.manifest import Manifest, folder_digest, load_population, read_manifest
from sigverify.inference.providers import explain_active, plan_providers


class EmbeddingEngine:
    """Loads ``model.onnx`` + ``manifest.json`` from a folder, refuses altered or mismatched models."""

    def __init__(self, model_dir: Path, provider: str = "auto", threads: int | None = None) -> None:
        started = time.perf_counter()
        self.model_dir = Path(model_dir)
        self.manifest: Manifest
        self.manifest, manifest_bytes = read_manifest(self.model_dir)
        onnx_path = self.model_dir / self.manifest.onnx_file
        if not onnx_path.is_file():
            raise ModelError(f"the model file {onnx_path} is missing")
        model_bytes = onnx_path.read_bytes()  # hashed and loaded from the same bytes: no swap in between
        actual = hashlib.sha256(model_bytes).hexdigest()
        if actual != self.manifest.sha256:
            raise ModelError(
                f"{onnx_path.name} does not match its manifest (sha256 {actual[:12]}… expected "
                f"{self.manifest.sha256[:12]}…): the model file was altered or replaced; refusing to use it"
            )
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        # no busy-waiting between runs: spinning worker threads fight preprocessing and the window
        # for the cores (verification p50 22 ms with spinning vs 10.5 ms without, 2-core machine)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.plan = plan_providers(provider)
        try:
            self.session = ort.InferenceSession(model_bytes, sess_options=options, providers=self.plan.requested)
        except Exception as exc:  # onnxruntime raises its own, undocumented exception types
            raise ModelError(f"{onnx_path.name} is not a valid ONNX model ({str(exc).splitlines()[0]})") from exc
        self.providers = self.session.get_providers()
        self.provider_description = explain_active(self.plan, self.providers)
        self._check_io(onnx_path.name)
        files = {self.manifest.onnx_file: model_bytes}
        if self.manifest.background_file:
            try:
                files[self.manifest.background_file] = (self.model_dir / self.manifest.background_file).read_bytes()
            except OSError as exc:
                raise ModelError(f"the model's population file {self.manifest.background_file} cannot be read "
                                 f"({exc.strerror})") from exc
        self.manifest.population = load_population(self.model_dir, self.manifest,
                                                    files.get(self.manifest.background_file))
        #: identifies the whole folder (manifest and every file): what a supervisor approves
        self.folder_digest = folder_digest(manifest_bytes, files)
        self.load_seconds = time.perf_counter() - started

    @property
    def provider(self) -> str:
        """The execution provider actually running the model."""
        return self.providers[0]

    @property
    def version(self) -> str:
        return self.manifest.version

    def _check_io(self, name: str) -> None:
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        m = self.manifest
        if len(inputs) != 1 or inputs[0].name != m.input_name:
            raise ModelError(f"{name}: its input is {[i.name for i in inputs]}, the manifest says {m.input_name!r}")
        shape = tuple(d if isinstance(d, int) else None for d in inputs[0].shape)
        if len(shape) != 4 or shape[1:] != tuple(m.input_shape[1:]):
            raise ModelError(f"{name}: its input shape {list(inputs[0].shape)} disagrees with the manifest "
                             f"{list(m.input_shape)}")
        if inputs[0].type != "tensor(float)":
            raise ModelError(f"{name}: its input type {inputs[0].type} is not float32")
        out = [o for o in outputs if o.name == m.output_name]
        if not out or out[0].shape[-1] != m.embedding_size:
            raise ModelError(f"{name}: no output {m.output_name!r} of size {m.embedding_size}")

    def embed_canvases(self, canvases: np.ndarray) -> np.ndarray:
        """Embed preprocessed canvases (N, H, W) in one call; returns (N, D) float32."""
        batch = np.asarray(canvases, dtype=np.float32)
        if batch.ndim == 2:
            batch = batch[None]
        if batch.shape[0] == 0:
            return np.zeros((0, self.manifest.embedding_size), np.float32)
        (output,) = self.session.run([self.manifest.output_name], {self.manifest.input_name: batch[:, None]})
        return output

    def embed_many(self, canvases: np.ndarray, batch: int = 64) -> np.ndarray:
        """Embed any number of canvases in batches (a whole dataset need not fit one session run)."""
        parts = [self.embed_canvases(canvases[i : i + batch]) for i in range(0, len(canvases), batch)]
        return np.concatenate(parts) if parts else self.embed_canvases(canvases)

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """The model's view of an image: the manifest's preprocessing, nothing else."""
        return preprocess(image, self.manifest.preprocessing)

    def embed_images(self, images: list[np.ndarray]) -> np.ndarray:
        """Preprocess decoded images and embed them as one batch."""
        return self.embed_canvases(np.stack([self.prepare(image) for image in images]))

