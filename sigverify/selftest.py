"""``sigverify --self-test``: prove, headless, that an installation (or a bundle) works.

Loads the installed model, verifies the bundled sample signatures, runs one training step on
generated data, and prints versions, the execution provider and timings. Exit 0 on success.
"""

from __future__ import annotations

import platform
import sys
import tempfile
import time
from pathlib import Path


def _line(name: str, value: str) -> None:
    print(f"  {name:<28} {value}", flush=True)


def run_self_test(model_dir: Path | None = None) -> int:
    import cv2
    import numpy as np
    import onnxruntime

    import sigverify
    from sigverify.imaging.decode import load_image
    from sigverify.inference.registry import load_engine
    from sigverify.paths import assets_dir, install_root
    from sigverify.verification.decision import decide

    failures = []
    print(f"SigVerify {sigverify.__version__} self-test", flush=True)
    _line("python", f"{platform.python_version()} ({'bundle' if getattr(sys, 'frozen', False) else 'source'})")
    _line("install root", str(install_root()))
    _line("onnxruntime / OpenCV", f"{onnxruntime.__version__} / {cv2.__version__}")

    started = time.perf_counter()
    engine = load_engine(model_dir)
    _line("model", f"{engine.version} loaded in {(time.perf_counter() - started) * 1000:.0f} ms")
    _line("execution provider", engine.provider_description)

    samples = assets_dir() / "samples"
    refs = [load_image(samples / f"reference_{i}.png").pixels for i in (1, 2, 3)]
    started = time.perf_counter()
    reference_embeddings = engine.embed_images(refs)
    results = {}
    for name in ("questioned_genuine", "questioned_forged", "other_writer"):
        embedding = engine.embed_images([load_image(samples / f"{name}.png").pixels])[0]
        results[name] = decide(embedding, reference_embeddings, engine.manifest.policy)
        _line(name, f"distance {results[name].distance:.4f} → {results[name].verdict}")
    _line("verification time", f"{(time.perf_counter() - started) * 1000 / 3:.1f} ms per signature")
    if not results["questioned_genuine"].distance < results["other_writer"].distance:
        failures.append("the genuine sample is not closer to its references than another writer's signature")
    if not np.isfinite(reference_embeddings).all():
        failures.append("the model produced non-finite embeddings")

    try:
        from sigverify.synthetic import write_dataset
        from sigverify.training.trainer import TrainConfig, torch_version, train

        with tempfile.TemporaryDirectory() as tmp:
            write_dataset(Path(tmp) / "data", writers=4, genuine=4, forged=2, seed=1)
            config = TrainConfig(dataset=str(Path(tmp) / "data"), out_dir=str(Path(tmp) / "run"), epochs=1,
                                 steps_per_epoch=1, writers_per_batch=2, genuine_per_writer=2, forged_per_writer=1,
                                 validation_share=0.25, eval_references=1, channels=(8, 8, 16, 16, 32))
            started = time.perf_counter()
            result = train(config)
            _line("training step", f"torch {torch_version()}: {result.status} in "
                                   f"{(time.perf_counter() - started) * 1000:.0f} ms, loss "
                                   f"{result.history[0]['loss']:.4f}")
            if not np.isfinite(result.history[0]["loss"]):
                failures.append("training produced a non-finite loss")
    except ImportError as exc:
        failures.append(f"training is unavailable: {exc}")

    for failure in failures:
        print(f"FAILED: {failure}", flush=True)
    print("self-test " + ("FAILED" if failures else "passed"), flush=True)
    return 1 if failures else 0
