"""Speed of SigVerify, measured side by side in one run on one machine.

    python bench/speed.py                 # full run, writes bench/results/speed.md
    python bench/speed.py --train         # adds training throughput (CPU, and CUDA if present)
    python bench/speed.py --smoke --out /tmp/speed.md   # seconds; what the test suite runs

Every figure in the table is measured by this script in the run that wrote it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import provenance  # noqa: E402  (bench/ is on the path)
from sigverify.imaging.decode import load_image  # noqa: E402
from sigverify.imaging.preprocess import preprocess  # noqa: E402
from sigverify.inference.engine import EmbeddingEngine  # noqa: E402
from sigverify.paths import shipped_model_dir  # noqa: E402
from sigverify.synthetic import SyntheticWriter, place_on_page  # noqa: E402
from sigverify.verification.decision import decide  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def timed(function, repeats: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        function()
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        out.append((time.perf_counter() - started) * 1000.0)
    return out


def machine() -> str:
    import onnxruntime

    return f"{provenance.machine()}, onnxruntime {onnxruntime.__version__}, OpenCV {cv2.__version__}"


def samples(tmp: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    writer = SyntheticWriter(5)
    paths = {}
    signature = writer.genuine(rng)
    crop = np.full((380, 760), 255, np.uint8)
    crop[20 : 20 + signature.shape[0], 20 : 20 + signature.shape[1]] = signature[:360, :740]
    paths["crop"] = tmp / "crop.png"
    cv2.imwrite(str(paths["crop"]), crop)
    page, _ = place_on_page(writer.genuine(rng), rng, page_size=(825, 1800))  # a cheque at 300 dpi
    paths["cheque"] = tmp / "cheque.png"
    cv2.imwrite(str(paths["cheque"]), page)
    for i in range(5):
        paths[f"ref{i}"] = tmp / f"ref{i}.png"
        cv2.imwrite(str(paths[f"ref{i}"]), writer.genuine(rng))
    return paths


def cached_references(engine: EmbeddingEngine, paths) -> np.ndarray:
    """The account's 5 reference embeddings, as the product keeps them cached."""
    return engine.embed_images([load_image(paths[f"ref{i}"]).pixels for i in range(5)])


def verifier(engine: EmbeddingEngine, paths, references: np.ndarray):
    """One verification end to end: decode the signature scan, prepare, embed, decide against the cache."""
    def verify_once():
        image = load_image(paths["crop"]).pixels
        embedding = engine.embed_canvases(engine.prepare(image)[None])[0]
        return decide(embedding, references, engine.manifest.policy)

    return verify_once


def bench_verification(model: Path, paths, repeats: int, warmup: int, rows: list) -> None:
    for threads, label in ((1, "1 thread"), (0, "default threads")):
        engine = EmbeddingEngine(model, provider="cpu", threads=threads or None)
        references = cached_references(engine, paths)
        policy = engine.manifest.policy
        times = timed(verifier(engine, paths, references), repeats, warmup)
        rows.append((f"verification end to end (signature scan 760×380), 1 vs 5 cached references, {label}",
                     f"p50 {percentile(times, 50):.2f} ms, p95 {percentile(times, 95):.2f} ms ({repeats} runs)"))

        def verify_page():
            from sigverify.imaging.page import crop, find_signature_box

            page = load_image(paths["cheque"]).pixels
            embedding = engine.embed_canvases(engine.prepare(crop(page, find_signature_box(page)))[None])[0]
            return decide(embedding, references, policy)

        times = timed(verify_page, max(repeats // 3, 3), warmup)
        rows.append((f"verification of a full 300-dpi cheque page (find, crop, preprocess, embed, decide), {label}",
                     f"p50 {percentile(times, 50):.2f} ms, p95 {percentile(times, 95):.2f} ms "
                     f"({max(repeats // 3, 3)} runs)"))


def bench_against_baseline(baseline: Path, model: Path, paths, repeats: int, rows: list) -> None:
    """Verification (1 vs 5 references, one thread) of this model and a baseline in the same run,
    in alternating blocks, so a change of model is read as a ratio the machine's noise shares."""
    engines = {name: EmbeddingEngine(folder, provider="cpu", threads=1) for name, folder in
               (("baseline", baseline), ("model", model))}
    verifiers = {name: verifier(engine, paths, cached_references(engine, paths)) for name, engine in engines.items()}
    times: dict[str, list[float]] = {name: [] for name in verifiers}
    block = max(1, repeats // 10)
    for _ in range(10):
        for name, verify in verifiers.items():
            times[name] += timed(verify, block, 2)
    base, ours = percentile(times["baseline"], 50), percentile(times["model"], 50)
    rows.append((f"verification 1 vs 5 references, 1 thread: this model against `{baseline.name}` "
                 f"({engines['baseline'].version}), alternating blocks",
                 f"p50 {ours:.2f} ms against {base:.2f} ms: **{ours / base:.2f}×** ({10 * block} runs each)"))


def bench_throughput(model: Path, paths, repeats: int, rows: list) -> None:
    engine = EmbeddingEngine(model, provider="cpu")
    canvas = engine.prepare(load_image(paths["crop"]).pixels)
    for batch in (1, 8, 32, 128):
        data = np.repeat(canvas[None], batch, axis=0)
        times = timed(lambda: engine.embed_canvases(data), max(3, repeats // batch), 2)
        rows.append((f"batch embedding throughput, batch {batch}",
                     f"{batch / (statistics.median(times) / 1000):.0f} signatures/s"))


def bench_preprocessing(model: Path, paths, repeats: int, rows: list) -> None:
    params = EmbeddingEngine(model, provider="cpu").manifest.preprocessing
    for name, label in (("cheque", "preprocessing, 300-dpi cheque 1800×825"),
                        ("crop", "preprocessing, signature crop 760×380")):
        image = load_image(paths[name]).pixels
        times = timed(lambda: preprocess(image, params), repeats, 3)
        decode = timed(lambda: load_image(paths[name]), repeats, 3)
        rows.append((label, f"{statistics.median(times):.2f} ms (decoding the PNG: {statistics.median(decode):.2f} ms)"))


def bench_torch_vs_onnx(model: Path, repeats: int, rows: list, smoke: bool) -> None:
    """The same network: torch eager (and torch.compile) vs onnxruntime, batch 1 and 32."""
    try:
        import torch
    except ImportError:
        rows.append(("torch vs onnxruntime", "torch not installed (pip install -e '.[train]')"))
        return
    from sigverify.training.export import to_onnx_bytes
    from sigverify.training.model import SeedNet, count_flops, count_parameters
    from sigverify.training.trainer import build_model

    engine = EmbeddingEngine(model, provider="cpu")
    manifest = engine.manifest
    h, w = manifest.input_shape[2], manifest.input_shape[3]
    net = build_model(_shipped_config(manifest)).eval()  # the shipped architecture, fresh weights
    onnx_session = _session(to_onnx_bytes(net, h, w))
    for batch in (1, 32):
        x = torch.rand(batch, 1, h, w)
        with torch.no_grad():
            eager = statistics.median(timed(lambda: net(x), repeats, 3))
        ort_ms = statistics.median(timed(lambda: onnx_session.run(None, {"image": x.numpy()}), repeats, 3))
        rows.append((f"torch eager vs onnxruntime CPU, batch {batch}",
                     f"{eager:.2f} ms vs {ort_ms:.2f} ms: onnxruntime {eager / ort_ms:.1f}× faster"))
        if not smoke and batch == 1:
            try:
                compiled = torch.compile(net)
                with torch.no_grad():
                    compiled(x)
                    comp = statistics.median(timed(lambda: compiled(x), repeats, 3))
                rows.append(("torch.compile (inductor) vs onnxruntime CPU, batch 1",
                             f"{comp:.2f} ms vs {ort_ms:.2f} ms: onnxruntime {comp / ort_ms:.1f}× faster"))
            except Exception as exc:  # noqa: BLE001 - report, don't fail the benchmark
                rows.append(("torch.compile on CPU", f"did not work here: {str(exc).splitlines()[0][:120]}"))
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        gpu = EmbeddingEngine(model, provider="cuda")
        if gpu.provider == "CUDAExecutionProvider":
            data = np.random.rand(32, h, w).astype(np.float32)
            ms = statistics.median(timed(lambda: gpu.embed_canvases(data), repeats, 5))
            rows.append(("onnxruntime CUDA, batch 32", f"{ms:.2f} ms ({32 / ms * 1000:.0f} signatures/s)"))
        else:
            rows.append(("onnxruntime CUDA", gpu.provider_description))
    seed = SeedNet(224, 224).eval()
    seed_session = _session(to_onnx_bytes(seed, 224, 224))
    seed_ms = statistics.median(timed(lambda: seed_session.run(None, {"image": np.random.rand(1, 1, 224, 224)
                                                                      .astype(np.float32)}), repeats, 3))
    ours_ms = statistics.median(timed(lambda: engine.embed_canvases(np.random.rand(1, h, w).astype(np.float32)),
                                      repeats, 3))
    rows.append(("parameters: ours vs seed architecture",
                 f"{count_parameters(net):,} vs {count_parameters(seed):,} "
                 f"({count_parameters(seed) / count_parameters(net):.0f}× fewer)"))
    rows.append(("FLOPs per signature: ours vs seed",
                 f"{count_flops(net, h, w) / 1e9:.3f} vs {count_flops(seed, 224, 224) / 1e9:.3f} GFLOP"))
    rows.append(("embedding latency, onnxruntime CPU batch 1: ours vs seed", f"{ours_ms:.2f} ms vs {seed_ms:.2f} ms"))


def _shipped_config(manifest):
    """The shipped model's training settings (architecture, loss, batch), for timing the same network."""
    from sigverify.training.trainer import TrainConfig

    data = dict(manifest.extra.get("training", {}).get("config", {}))
    known = set(TrainConfig.__dataclass_fields__)
    return TrainConfig.from_dict({k: v for k, v in data.items() if k in known})


def _session(onnx_bytes: bytes):
    import onnxruntime

    return onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])


def _gui_command(model: Path, store: Path) -> tuple[list[str], dict, str]:
    """The app as a clerk starts it, on a real X screen (Xvfb) when one can be had; offscreen
    otherwise (which paints nothing, so it is named in the row)."""
    command = [sys.executable, "-m", "sigverify", "gui", "--model", str(model), "--store", str(store),
               "--quit-after", "4000", "--report-startup"]
    env = dict(os.environ)
    if os.environ.get("DISPLAY") and not os.environ.get("QT_QPA_PLATFORM"):
        return command, env, "X display"
    if shutil.which("xvfb-run"):
        env.pop("QT_QPA_PLATFORM", None)
        return ["xvfb-run", "-a"] + command, env, "Xvfb"
    env["QT_QPA_PLATFORM"] = "offscreen"
    return command, env, "offscreen, no X screen here"


def _stop_group(child: subprocess.Popen) -> None:
    """End the app and all it started (xvfb-run's X server, the store process)."""
    try:
        os.killpg(child.pid, signal.SIGTERM)
        child.wait(timeout=30)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)


def bench_startup(model: Path, rows: list, runs: int) -> None:
    """Process launch → the first event-loop tick after the main window is shown (interactive),
    and the model's load time in the app (it loads in the background after that)."""
    shown, loaded = [], []
    with tempfile.TemporaryDirectory() as tmp:
        command, env, screen = _gui_command(model, Path(tmp) / "s.db")
        for _ in range(runs):
            started = time.perf_counter()
            child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                     env=env, cwd=REPO, start_new_session=True)
            for line in child.stdout:
                if line.startswith("window-interactive"):
                    shown.append(time.perf_counter() - started)
                if line.startswith("model-loaded"):
                    loaded.append(float(line.split()[1]))
                    break
            _stop_group(child)
    if shown:
        rows.append((f"app start to interactive window (process launch → first event-loop tick after show, {screen})",
                     f"median {statistics.median(shown):.2f} s over {len(shown)} starts"))
    if loaded:
        rows.append(("model load in the app (background, after the window is shown)",
                     f"median {statistics.median(loaded) * 1000:.0f} ms"))


def bench_model_load(model: Path, rows: list, runs: int) -> None:
    """Manifest, sha256 check and onnxruntime session, each in a fresh process (no warm caches
    of this process), the median of ``runs``."""
    probe = ("import sys; from sigverify.inference.engine import EmbeddingEngine; "
             "print(EmbeddingEngine(sys.argv[1], provider='cpu').load_seconds)")
    seconds = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", probe, str(model)], capture_output=True, text=True, cwd=REPO,
                             timeout=120)
        if out.returncode == 0:
            seconds.append(float(out.stdout.strip().splitlines()[-1]))
    if seconds:
        rows.append(("model load (manifest, sha256 check, session), fresh process",
                     f"median {statistics.median(seconds) * 1000:.0f} ms over {len(seconds)} processes"))


def bench_training(model: Path, rows: list, smoke: bool) -> None:
    """Training steps of the shipped recipe (its architecture, objective, batch and canvas) on
    generated writers, so the step time is the real one without the datasets."""
    import dataclasses

    import torch

    from sigverify.inference.manifest import load_manifest
    from sigverify.synthetic import write_dataset
    from sigverify.training.trainer import train

    shipped = _shipped_config(load_manifest(model))
    with tempfile.TemporaryDirectory() as tmp:
        write_dataset(Path(tmp) / "data", writers=16, genuine=6, forged=3, seed=3)
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        for device in devices:
            steps = 3 if smoke else 20
            config = dataclasses.replace(shipped, dataset=str(Path(tmp) / "data"), datasets=[], cache_dir="",
                                         out_dir=str(Path(tmp) / device), epochs=1, steps_per_epoch=steps,
                                         validation_share=0.2, device=device, eval_references=2, test_writers=[],
                                         validation_writers=[], resume="", init_weights="", balance_datasets=False)
            stamps, tuples = [], []

            def on_step(event):
                if event["kind"] == "step":
                    stamps.append(time.perf_counter())
                    tuples.append(event["tuples"])

            train(config, progress=on_step)
            per_step = (stamps[-1] - stamps[0]) / max(len(stamps) - 1, 1)
            images = config.writers_per_batch * (config.genuine_per_writer + config.forged_per_writer)
            rows.append((f"training throughput, {device} ({config.architecture}, {config.loss})",
                         f"{images / per_step:.0f} images/s ({images} images per step, {per_step * 1000:.0f} ms/step; "
                         f"the loss learnt from {statistics.median(tuples):.0f} pairs or triplets per step)"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(shipped_model_dir()))
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "speed.md"))
    parser.add_argument("--smoke", action="store_true", help="tiny repeat counts (for the test suite)")
    parser.add_argument("--train", action="store_true", help="also measure training throughput")
    parser.add_argument("--write-docs", action="store_true", help="also copy the table into README.md")
    parser.add_argument("--baseline", help="also time verification against this model folder in the same run "
                                           "(a ratio: is a new model slower than the one it replaces?)")
    args = parser.parse_args(argv)
    model = Path(args.model)
    repeats, warmup = (5, 1) if args.smoke else (300, 30)
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = samples(Path(tmp))
        bench_verification(model, paths, repeats, warmup, rows)
        if args.baseline:
            bench_against_baseline(Path(args.baseline), model, paths, repeats, rows)
        bench_throughput(model, paths, 20 if args.smoke else 300, rows)
        bench_preprocessing(model, paths, repeats if args.smoke else 100, rows)
        bench_torch_vs_onnx(model, 5 if args.smoke else 100, rows, args.smoke)
        bench_startup(model, rows, 1 if args.smoke else 5)
        bench_model_load(model, rows, 1 if args.smoke else 5)
        if args.train:
            bench_training(Path(args.model), rows, args.smoke)
    command = "python bench/speed.py" + (" --train" if args.train else "") + (" --smoke" if args.smoke else "") + \
        (f" --baseline {args.baseline}" if args.baseline else "")
    text = render(rows, command, model)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    if args.write_docs:
        provenance.replace_block(REPO / "README.md", *DOC_MARKERS, results_body(text))
    return 0


DOC_MARKERS = provenance.markers("speed-table", "bench/speed.py --write-docs")


def render(rows: list[tuple[str, str]], command: str, model: Path) -> str:
    """The results file: title, provenance (date, commit, machine, command), model, the table."""
    lines = ["# SigVerify speed", "", provenance.stamp(command, machine()), "",
             f"Model: `{model.name}` ({EmbeddingEngine(model, provider='cpu').version}).", "",
             "| what | measured |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows]
    return "\n".join(lines) + "\n"


def results_body(text: str) -> str:
    """What README shows of a results file: everything under its title."""
    return text.split("\n", 2)[2].strip("\n")


if __name__ == "__main__":
    raise SystemExit(main())
