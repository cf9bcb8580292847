"""Helpers for tests: a small real ONNX model made with onnx.helper (no torch needed)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from sigverify.imaging.preprocess import PreprocessParams
from sigverify.inference.manifest import Manifest
from sigverify.verification.calibration import LogisticCalibration


def tiny_onnx(height: int, width: int, embedding: int = 16, seed: int = 0, input_name: str = "image") -> bytes:
    """Average-pool 4x4, flatten, project, L2-normalise: a real graph onnxruntime must run."""
    rng = np.random.default_rng(seed)
    features = (height // 4) * (width // 4)
    weight = rng.normal(0, 1, (features, embedding)).astype(np.float32)
    nodes = [
        helper.make_node("AveragePool", [input_name], ["pooled"], kernel_shape=[4, 4], strides=[4, 4]),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "weight"], ["projected"]),
        helper.make_node("LpNormalization", ["projected"], ["embedding"], axis=1, p=2),
    ]
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["batch", 1, height, width])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", embedding])],
        initializer=[numpy_helper.from_array(weight, "weight")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def make_tiny_model(folder: Path, params: PreprocessParams | None = None, threshold: float = 0.5,
                    embedding: int = 16, metrics: dict | None = None) -> Path:
    params = params or PreprocessParams()
    folder.mkdir(parents=True, exist_ok=True)
    data = tiny_onnx(params.canvas_height, params.canvas_width, embedding)
    (folder / "model.onnx").write_bytes(data)
    Manifest(
        version="tiny-test-1",
        sha256=hashlib.sha256(data).hexdigest(),
        onnx_file="model.onnx",
        input_name="image",
        input_shape=(None, 1, params.canvas_height, params.canvas_width),
        output_name="embedding",
        embedding_size=embedding,
        preprocessing=params,
        threshold=threshold,
        threshold_range=(threshold / 2, threshold * 1.5),
        calibration=LogisticCalibration(slope=10.0, midpoint=threshold),
        extra={"metrics": metrics} if metrics is not None else {},
    ).save(folder)
    return folder


def approve_model(store, folder: Path, actor="setup", second=None) -> None:
    """Record a supervisor's approval of a model folder in a store, as 'sigverify models register'
    does: recorded verifications accept only the shipped model or an approved one. Where users are
    defined the registration is a pending change: ``second`` (another supervisor) approves it."""
    from sigverify.inference.engine import EmbeddingEngine

    engine = EmbeddingEngine(folder, provider="cpu")
    change = store.approve_model(engine.version, engine.folder_digest, actor)
    if change is not None:
        assert second is not None, "four-eyes store: name the second supervisor who approves the model"
        from sigverify.store.mandates import mandates_of

        mandates_of(store).approve(second, change)


def png_header_only(width: int, height: int, bit_depth: int = 8, colour_type: int = 0) -> bytes:
    """A tiny PNG whose header claims width×height pixels (a decompression bomb's opening)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def cli_runner(monkeypatch, capsys):
    """Run the real command line in-process: ``run(*args, user=, password=, new_password=)`` returns
    (exit code, everything printed); passwords travel the way a terminal user's would (environment)."""
    from sigverify.cli import main

    def run(*args, user=None, password=None, new_password=None):
        monkeypatch.delenv("SIGVERIFY_PASSWORD", raising=False)
        if password is not None:
            monkeypatch.setenv("SIGVERIFY_PASSWORD", password)
        if new_password is not None:
            monkeypatch.setenv("SIGVERIFY_NEW_PASSWORD", new_password)
        try:
            code = main([*map(str, args), *(["--user", user] if user else [])])
        except SystemExit as exc:  # argparse's refusals
            code = exc.code
        out = capsys.readouterr()
        return code, out.out + out.err

    return run
