"""The trainer on a tiny generated dataset: progress, cancel, resume, export with parity, DDP."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from sigverify.inference.engine import EmbeddingEngine
from sigverify.synthetic import write_dataset
from sigverify.training.export import ExportError, check_parity, export, to_onnx_bytes
from sigverify.training.model import SeedNet, SignatureNet, count_flops, count_parameters
from sigverify.training.trainer import TrainConfig, load_checkpoint, train
from tests.conftest import REPO


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data"), writers=8, genuine=6, forged=3, seed=11)


def _config(dataset, out, **overrides) -> TrainConfig:
    settings = dict(dataset=str(dataset), out_dir=str(out), epochs=2, steps_per_epoch=3, writers_per_batch=3,
                    genuine_per_writer=3, forged_per_writer=1, validation_share=0.25, eval_references=2,
                    test_writers=["008"], channels=(8, 8, 16, 16, 32), embedding_size=32, threads=1)
    settings.update(overrides)
    return TrainConfig(**settings)


def test_model_size_targets():
    ours, seed = SignatureNet(), SeedNet()
    assert count_parameters(ours) <= 5_000_000
    assert count_parameters(seed) >= 10 * count_parameters(ours)
    assert count_flops(ours, 96, 192) < 0.5e9
    assert ours(torch.zeros(2, 1, 96, 192)).shape == (2, 128)


def test_training_reports_progress_and_writes_checkpoints(tiny_dataset, tmp_path):
    events = []
    result = train(_config(tiny_dataset, tmp_path / "run", settle_epochs=1), progress=events.append)
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "data" and kinds[1] == "start" and kinds[-1] == "done"
    assert kinds.count("step") == 6 and kinds.count("epoch") == 2
    epochs = [e for e in events if e["kind"] == "epoch"]
    assert all(np.isfinite(e["loss"]) and 0.0 <= e["val_eer"] <= 1.0 for e in epochs)
    # the last epoch settles: the pen's traces kept, geometry at half strength
    assert [(e["augment_strength"], e["pen_augmentation"]) for e in epochs] == [(1.0, True), (0.5, False)]
    assert result.status == "finished" and result.best_checkpoint.is_file()
    config, model, state = load_checkpoint(result.best_checkpoint)
    assert config.channels == (8, 8, 16, 16, 32) and state["history"]


def test_same_seed_same_weights(tiny_dataset, tmp_path):
    first = train(_config(tiny_dataset, tmp_path / "a", epochs=1))
    second = train(_config(tiny_dataset, tmp_path / "b", epochs=1))
    w1 = torch.load(first.out_dir / "last.pt", weights_only=False)["model"]
    w2 = torch.load(second.out_dir / "last.pt", weights_only=False)["model"]
    assert all(torch.equal(w1[k], w2[k]) for k in w1)


def test_cancel_is_honoured_within_seconds_and_resume_continues(tiny_dataset, tmp_path):
    steps = []
    cancel_at = {"step": 4}
    out = tmp_path / "run"
    config = _config(tiny_dataset, out, epochs=3)
    started = time.perf_counter()

    def progress(event):
        if event["kind"] == "step":
            steps.append(event["global_step"])

    result = train(config, progress=progress, should_stop=lambda: len(steps) >= cancel_at["step"])
    assert result.status == "cancelled"
    assert time.perf_counter() - started < 60
    assert steps == [1, 2, 3, 4]  # stopped at the first check after the request
    state = torch.load(out / "last.pt", weights_only=False)
    assert state["epoch"] == 0  # the last complete epoch is kept

    resumed = train(_config(tiny_dataset, out, epochs=3, resume=str(out / "last.pt")))
    assert resumed.status == "finished"
    assert [h["epoch"] for h in resumed.history] == [0, 1, 2]
    # and it ends exactly where an uninterrupted run ends: same batches, same dropout, same weights
    straight = train(_config(tiny_dataset, tmp_path / "straight", epochs=3))
    assert resumed.weights_digest == straight.weights_digest


def test_export_writes_a_model_the_engine_accepts_with_parity(tiny_dataset, tmp_path):
    result = train(_config(tiny_dataset, tmp_path / "run"))
    manifest = export(result.best_checkpoint, tmp_path / "model")
    assert manifest.extra["parity_max_abs_diff"] <= 1e-4
    assert manifest.input_shape == (None, 1, 96, 192) and manifest.embedding_size == 32
    assert "validation" in manifest.metrics and "test" in manifest.metrics
    lo, hi = manifest.threshold_range
    assert lo <= manifest.threshold <= hi
    engine = EmbeddingEngine(tmp_path / "model")
    config, model, _ = load_checkpoint(result.best_checkpoint)
    from sigverify.training.datasets import prepare, scan_dataset

    data = prepare(scan_dataset(tiny_dataset), ["001", "002"], config.preprocess_params)
    with torch.no_grad():
        expected = model(torch.from_numpy(data.canvases[:, None])).numpy()
    ours = engine.embed_canvases(data.canvases)  # dynamic batch axis: 10 at once
    assert np.abs(ours - expected).max() <= 1e-4


def test_parity_check_fails_loudly_on_a_different_model():
    torch.manual_seed(0)
    trained, other = SignatureNet(embedding_size=16, channels=(4, 4, 8, 8, 8)), \
        SignatureNet(embedding_size=16, channels=(4, 4, 8, 8, 8))
    canvases = np.random.default_rng(0).random((4, 96, 192), dtype=np.float32)
    assert check_parity(trained, to_onnx_bytes(trained, 96, 192), canvases) <= 1e-4
    with pytest.raises(ExportError, match="ONNX and torch disagree"):
        check_parity(trained, to_onnx_bytes(other, 96, 192), canvases)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("torchrun", path=os.path.dirname(sys.executable)) is None,
                    reason="torchrun not installed")
def test_ddp_ranks_draw_different_batches_and_finish_with_identical_weights(tiny_dataset, tmp_path):
    script = tmp_path / "ddp_train.py"
    script.write_text(
        "import sys\n"
        "from sigverify.training.trainer import TrainConfig, train\n"
        f"config = TrainConfig(dataset={str(tiny_dataset)!r}, out_dir={str(tmp_path / 'ddp')!r}, epochs=1,\n"
        "    steps_per_epoch=3, writers_per_batch=3, genuine_per_writer=2, forged_per_writer=1,\n"
        "    validation_share=0.25, eval_references=2, channels=(8, 8, 16, 16, 32), embedding_size=32,\n"
        "    threads=1)\n"
        "import json, os\n"
        "result = train(config)\n"
        f"open({str(tmp_path)!r} + '/rank' + os.environ['RANK'] + '.json', 'w').write(json.dumps(\n"
        "    {'weights': result.weights_digest, 'batches': result.batches_digest}))\n"
    )
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run([torchrun, "--standalone", "--nproc_per_node=2", str(script)], cwd=REPO,
                            capture_output=True, text=True, timeout=240, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    import json

    rank0, rank1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert rank0["weights"] == rank1["weights"]  # gradients shared: every rank ends with the same model
    assert rank0["batches"] != rank1["batches"]  # each rank drew its own batches
    # and training did change the weights
    from sigverify.training.trainer import build_model, weights_digest

    config = TrainConfig(channels=(8, 8, 16, 16, 32), embedding_size=32)
    torch.manual_seed(config.seed)
    assert weights_digest(build_model(config)) != rank0["weights"]

DDP_SCRIPT = """
import json, os, sys
from sigverify.training.trainer import TrainConfig, train
dataset, out, budget, resume, report = sys.argv[1:6]
config = TrainConfig(dataset=dataset, out_dir=out, epochs=2, steps_per_epoch=3, writers_per_batch=3,
                     genuine_per_writer=2, forged_per_writer=1, validation_share=0.25, eval_references=2,
                     channels=(8, 8, 16, 16, 32), embedding_size=32, threads=1, resume=resume,
                     time_budget_s=float(budget))
result = train(config)
with open(report + os.environ["RANK"] + ".json", "w") as f:
    json.dump({"weights": result.weights_digest, "batches": result.batches_digest, "epochs": len(result.history)}, f)
"""


def _torchrun(tmp_path, *args) -> list[dict]:
    """Two CPU ranks (gloo) running DDP_SCRIPT; what each rank reported."""
    import json

    script = tmp_path / "ddp_resume.py"
    script.write_text(DDP_SCRIPT)
    report = tmp_path / f"report-{len(list(tmp_path.glob('report-*')))}-rank"
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    result = subprocess.run([torchrun, "--standalone", "--nproc_per_node=2", str(script), *map(str, args), str(report)],
                            cwd=REPO, capture_output=True, text=True, timeout=240, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return [json.loads(Path(f"{report}{rank}.json").read_text()) for rank in (0, 1)]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("torchrun", path=os.path.dirname(sys.executable)) is None,
                    reason="torchrun not installed")
def test_ddp_resume_ends_where_an_uninterrupted_ddp_run_ends(tiny_dataset, tmp_path):
    """Each rank draws its own stream per epoch (seeded by rank and epoch), so stopping after one
    epoch and resuming under torchrun gives the same weights as running both epochs at once,
    and the resumed ranks still draw different batches. (The first run stops on a time budget
    that both ranks agree has run out after epoch 1.)"""
    straight = _torchrun(tmp_path, tiny_dataset, tmp_path / "straight", 0, "")
    first = _torchrun(tmp_path, tiny_dataset, tmp_path / "stopped", 0.001, "")
    resumed = _torchrun(tmp_path, tiny_dataset, tmp_path / "stopped", 0, tmp_path / "stopped" / "last.pt")
    assert first[0]["epochs"] == first[1]["epochs"] == 1  # both ranks stopped after one epoch
    assert first[0]["weights"] != straight[0]["weights"]  # one epoch is not two
    assert resumed[0]["epochs"] == 2
    assert resumed[0]["weights"] == resumed[1]["weights"] == straight[0]["weights"] == straight[1]["weights"]
    assert resumed[0]["batches"] != resumed[1]["batches"]


def test_resuming_with_another_schedule_is_refused_with_a_clear_message(tiny_dataset, tmp_path):
    out = tmp_path / "run"
    train(_config(tiny_dataset, out, epochs=1))
    with pytest.raises(ValueError, match="continues a run of 1 epochs"):
        train(_config(tiny_dataset, out, epochs=3, resume=str(out / "last.pt")))


def test_early_stopping_ends_a_run_that_no_longer_improves(tiny_dataset, tmp_path):
    """With a learning rate of zero, validation never improves after the first epoch: patience 1 stops at 2."""
    result = train(_config(tiny_dataset, tmp_path / "run", epochs=6, patience=1, learning_rate=0.0))
    assert result.status == "early stop"
    assert len(result.history) == 2


def test_refer_band_covers_the_validation_overlap_within_limits():
    from sigverify.verification.refer_band import REFER_BAND_LIMITS, choose_refer_band

    rng = np.random.default_rng(0)
    genuine, forged = rng.normal(1.0, 0.1, 2000), rng.normal(1.5, 0.1, 2000)
    well_apart = choose_refer_band(genuine, forged, 1.25)
    assert well_apart == REFER_BAND_LIMITS[0]  # little overlap: the smallest band
    overlapping = choose_refer_band(genuine, rng.normal(1.2, 0.15, 2000), 1.1)
    assert REFER_BAND_LIMITS[0] < overlapping <= REFER_BAND_LIMITS[1]
    t = 1.1
    accepted_forged = np.mean(rng.normal(1.2, 0.15, 20000) < t * (1 - overlapping))
    assert accepted_forged <= 0.06 or overlapping == REFER_BAND_LIMITS[1]


def test_balanced_batches_draw_writers_from_every_dataset(tmp_path):
    """With balance_datasets, a small dataset gets its share of each batch beside a large one."""
    from sigverify.training.trainer import BatchSampler, load_data

    small, large = tmp_path / "small", tmp_path / "large"
    small.mkdir()
    large.mkdir()
    write_dataset(small, writers=4, genuine=4, forged=1, seed=1)
    write_dataset(large, writers=16, genuine=4, forged=1, seed=2)
    config = TrainConfig(datasets=[str(small), str(large)], writers_per_batch=6, genuine_per_writer=2,
                         forged_per_writer=0, validation_share=0.0, balance_datasets=True, augment_strength=0.0)
    train_set, _, _ = load_data(config, [])
    sampler = BatchSampler(train_set, config, np.random.default_rng(0))
    for _ in range(20):
        names = {train_set.writer_names[w].split("/")[0] for w in sampler._choose_writers()}
        assert names == {"small", "large"}
    share = np.mean([sum(train_set.writer_names[w].startswith("small/") for w in sampler._choose_writers())
                     for _ in range(200)])
    assert share == 3.0  # half of the 6 writers, although the small dataset has a fifth of them


def test_init_weights_starts_from_a_checkpoints_network(tiny_dataset, tmp_path):
    first = train(_config(tiny_dataset, tmp_path / "first"))
    start = torch.load(first.best_checkpoint, weights_only=False)["model"]
    again = _config(tiny_dataset, tmp_path / "again", epochs=1, learning_rate=0.0, init_weights=str(first.best_checkpoint))
    result = train(again)
    weights = torch.load(result.best_checkpoint, weights_only=False)["model"]
    for name, value in start.items():
        if value.dtype.is_floating_point and "running" not in name:
            torch.testing.assert_close(weights[name], value)
