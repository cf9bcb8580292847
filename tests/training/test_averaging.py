"""`sigverify average` on a tiny generated dataset: the average, its BatchNorm, its record in the manifest."""

from __future__ import annotations

import json

import pytest
import torch

from sigverify.cli import main
from sigverify.synthetic import write_dataset
from sigverify.training.export import export
from sigverify.training.trainer import TrainConfig, load_checkpoint, train


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    data = write_dataset(tmp_path_factory.mktemp("data"), writers=8, genuine=6, forged=3, seed=11)
    out = tmp_path_factory.mktemp("run")
    config = TrainConfig(dataset=str(data), out_dir=str(out / "checkpoints"), epochs=2, steps_per_epoch=3,
                         writers_per_batch=3, genuine_per_writer=3, forged_per_writer=1, validation_share=0.25,
                         eval_references=2, test_writers=["008"], channels=(8, 8, 16, 16, 32), embedding_size=32,
                         threads=1)
    result = train(config)
    export(result.best_checkpoint, out / "model")
    return result.best_checkpoint, out / "model"


def test_average_is_the_mean_of_start_and_snapshots_and_the_manifest_records_it(trained, tmp_path, capsys):
    start, model = trained
    _, _, start_state = load_checkpoint(start)
    code = main(["average", str(start), "--validation-from", str(model), "--cycles", "2",
                 "--learning-rate", "1e-3", "--out", str(tmp_path / "avg")])
    printed = capsys.readouterr()
    assert code == 0 and "cycle 1: validation EER" in printed.out
    assert printed.err.count("epoch 1: loss") == 2  # each cycle's training progress, as `train` shows it
    average = torch.load(tmp_path / "avg" / "average.pt", weights_only=False)
    snapshots = [torch.load(tmp_path / "avg" / f"cycle{i}" / "last.pt", weights_only=False) for i in range(2)]
    # the cycles kept the start model's validation writers out and moved the weights
    validation = json.loads((model / "manifest.json").read_text())["metrics"]["validation_writers"]
    config, _, _ = load_checkpoint(tmp_path / "avg" / "cycle0" / "last.pt")
    assert config.validation_writers == sorted(validation)
    name = next(k for k, v in start_state["model"].items() if v.dim() == 4)  # the first convolution
    assert not torch.equal(snapshots[0]["model"][name], start_state["model"][name])
    expected = (start_state["model"][name] + snapshots[0]["model"][name] + snapshots[1]["model"][name]) / 3
    torch.testing.assert_close(average["model"][name], expected)
    # BatchNorm statistics recomputed for the averaged weights, not averaged
    running = next(k for k in start_state["model"] if k.endswith("running_mean"))
    naive = sum(s["model"][running] for s in [start_state] + snapshots) / 3
    assert not torch.allclose(average["model"][running], naive)
    record = json.loads((tmp_path / "avg" / "model" / "manifest.json").read_text())["training"]["averaging"]
    assert record["cycles"] == 2 and record["learning_rate"] == 1e-3 and len(record["cycle_history"]) == 2
    assert record["seconds"] == pytest.approx(sum(c["seconds"] for c in record["cycle_history"]))

    # asked again for one more cycle, the finished ones are kept (same start, seed, rate), one more is run
    code = main(["average", str(start), "--validation-from", str(model), "--cycles", "3",
                 "--learning-rate", "1e-3", "--out", str(tmp_path / "avg")])
    out = capsys.readouterr().out
    assert code == 0 and "cycle 0: kept" in out and "cycle 1: kept" in out and "cycle 2: validation EER" in out
    record = json.loads((tmp_path / "avg" / "model" / "manifest.json").read_text())["training"]["averaging"]
    assert record["cycles"] == 3
    # at another learning rate nothing is kept
    main(["average", str(start), "--validation-from", str(model), "--cycles", "1", "--learning-rate", "2e-3",
          "--out", str(tmp_path / "avg")])
    assert "kept" not in capsys.readouterr().out


def test_average_refuses_a_folder_without_validation_writers(trained, tmp_path, capsys):
    start, _ = trained
    (tmp_path / "bare").mkdir()
    code = main(["average", str(start), "--validation-from", str(tmp_path / "bare"), "--out", str(tmp_path / "x")])
    assert code != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and str(tmp_path / "bare") in err
    assert not (tmp_path / "x" / "average.pt").exists()


@pytest.mark.parametrize("command", ["export", "average"])
def test_a_missing_or_corrupt_checkpoint_is_one_clear_line(trained, tmp_path, capsys, command):
    _, model = trained
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x80\x04 not a checkpoint")
    extra = ["--validation-from", str(model)] if command == "average" else []
    for checkpoint, message in ((tmp_path / "missing.pt", "no checkpoint at"),
                                (corrupt, "is not a SigVerify training checkpoint")):
        code = main([command, str(checkpoint), *extra, "--out", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert code == 4 and message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
