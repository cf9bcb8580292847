"""The onnxruntime engine: real sessions on small real models, refusals, provider fallback."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sigverify.errors import ModelError
from sigverify.imaging.preprocess import PreprocessParams
from sigverify.inference.engine import EmbeddingEngine
from sigverify.inference.manifest import load_manifest
from sigverify.inference.providers import CPU, CUDA, ProviderPlan, explain_active, nvidia_driver_present, plan_providers
from tests.helpers import make_tiny_model, tiny_onnx


def _swap_model(folder, data: bytes) -> None:
    """Put other ONNX bytes in the folder with a manifest hash that matches them."""
    import hashlib

    (folder / "model.onnx").write_bytes(data)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["sha256"] = hashlib.sha256(data).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_embeds_a_batch_in_one_call(tiny_model, signature, rng):
    engine = EmbeddingEngine(tiny_model)
    from sigverify.synthetic import SyntheticWriter

    images = [signature, SyntheticWriter(3).genuine(rng), SyntheticWriter(4).forgery(rng)]
    embeddings = engine.embed_images(images)
    assert embeddings.shape == (3, 16) and embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    # batching changes nothing: each image alone gives the same embedding
    alone = np.concatenate([engine.embed_images([image]) for image in images])
    np.testing.assert_allclose(alone, embeddings, atol=1e-6)


def test_reports_version_provider_and_load_time(tiny_model):
    engine = EmbeddingEngine(tiny_model)
    assert engine.version == "tiny-test-1"
    assert engine.provider == engine.session.get_providers()[0]
    assert engine.provider_description.startswith(("CPU", "CUDA"))
    assert engine.load_seconds > 0


def test_altered_model_file_is_refused(tiny_model):
    data = bytearray((tiny_model / "model.onnx").read_bytes())
    data[-5] ^= 0xFF
    (tiny_model / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match its manifest .* altered or replaced; refusing"):
        EmbeddingEngine(tiny_model)


def test_model_whose_input_disagrees_with_the_manifest_is_refused(tmp_path):
    folder = make_tiny_model(tmp_path / "m")
    _swap_model(folder, tiny_onnx(64, 128))  # built for another canvas
    with pytest.raises(ModelError, match=r"input shape .* disagrees with the manifest"):
        EmbeddingEngine(folder)


def test_manifest_whose_shape_disagrees_with_its_preprocessing_is_refused(tiny_model):
    manifest = json.loads((tiny_model / "manifest.json").read_text())
    manifest["input"]["shape"] = [None, 1, 64, 64]
    (tiny_model / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="disagrees with the preprocessing canvas"):
        load_manifest(tiny_model)


def test_wrong_input_name_is_refused(tmp_path):
    folder = make_tiny_model(tmp_path / "m")
    _swap_model(folder, tiny_onnx(96, 192, input_name="pixels"))
    with pytest.raises(ModelError, match="its input is \\['pixels'\\]"):
        EmbeddingEngine(folder)


def test_not_an_onnx_file_is_refused(tiny_model):
    _swap_model(tiny_model, b"this is not a neural network")
    with pytest.raises(ModelError, match="not a valid ONNX model"):
        EmbeddingEngine(tiny_model)


@pytest.mark.parametrize("content,message", [
    (None, "no model manifest"),
    ("{not json", "unreadable manifest"),
    ('{"format": "something-else"}', "not a SigVerify model manifest"),
    ('{"format": "sigverify-model/1", "version": "x"}', "incomplete or malformed"),
])
def test_broken_manifests_are_refused(tiny_model, content, message):
    path = tiny_model / "manifest.json"
    if content is None:
        path.unlink()
    else:
        path.write_text(content)
    with pytest.raises(ModelError, match=message):
        EmbeddingEngine(tiny_model)


def test_missing_onnx_file_is_refused(tiny_model):
    (tiny_model / "model.onnx").unlink()
    with pytest.raises(ModelError, match="is missing"):
        EmbeddingEngine(tiny_model)


def test_provider_falls_back_to_cpu_on_a_machine_without_gpu(tiny_model):
    """On this CPU-only machine CUDA is asked for only if a driver exists; the session runs on CPU."""
    engine = EmbeddingEngine(tiny_model, provider="auto")
    if nvidia_driver_present():
        pytest.skip("an NVIDIA driver is present here; fallback is not observable")
    assert engine.providers == [CPU]
    assert engine.provider_description.startswith("CPU — ")
    assert "running on the CPU" in engine.provider_description


def test_cpu_preference_is_honoured(tiny_model):
    engine = EmbeddingEngine(tiny_model, provider="cpu")
    assert engine.providers == [CPU]
    assert engine.provider_description == "CPU — CPU chosen in the settings"


def test_cuda_requested_but_not_running_is_explained_in_plain_words():
    plan = ProviderPlan([CUDA, CPU], "")
    assert "GPU could not be used" in explain_active(plan, [CPU])
    assert explain_active(plan, [CUDA, CPU]) == "CUDA (GPU)"


def test_unknown_provider_preference_is_rejected():
    with pytest.raises(ValueError):
        plan_providers("tpu")


def test_threads_option_is_accepted(tiny_model):
    engine = EmbeddingEngine(tiny_model, threads=1)
    assert engine.embed_canvases(np.zeros((2, 96, 192), np.float32)).shape == (2, 16)


def test_empty_batch(tiny_model):
    assert EmbeddingEngine(tiny_model).embed_canvases(np.zeros((0, 96, 192), np.float32)).shape == (0, 16)


def test_params_from_manifest_drive_preprocessing(tmp_path, signature):
    params = PreprocessParams(canvas_height=64, canvas_width=128)
    engine = EmbeddingEngine(make_tiny_model(tmp_path / "m", params=params))
    assert engine.prepare(signature).shape == (64, 128)


def _with_population(folder, arrays: dict) -> None:
    """Give a model folder a background population file (and the spread rule) as export writes it."""
    import hashlib
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    (folder / "population.npz").write_bytes(buffer.getvalue())
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["decision_rule"] = "spread"
    manifest["background"] = {"file": "population.npz", "sha256": hashlib.sha256(buffer.getvalue()).hexdigest(),
                              "genuine_distance": 0.4}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_forgery_direction_is_read_with_the_population(tiny_model, signature):
    rng = np.random.default_rng(0)
    direction = rng.normal(size=16)
    _with_population(tiny_model, {"background": rng.normal(size=(40, 16)).astype(np.float32),
                                  "forgery_direction": direction})
    engine = EmbeddingEngine(tiny_model, provider="cpu")
    population = engine.manifest.policy.population
    assert population is not None and np.allclose(population.forgery_direction, direction)
    assert engine.manifest.policy.rule == "spread"


@pytest.mark.parametrize("direction", [np.ones(15), np.full(16, np.nan), np.ones((16, 1))])
def test_forgery_direction_that_does_not_fit_is_refused(tiny_model, direction):
    _with_population(tiny_model, {"background": np.ones((40, 16), np.float32), "forgery_direction": direction})
    with pytest.raises(ModelError, match="forgery direction"):
        EmbeddingEngine(tiny_model, provider="cpu")
