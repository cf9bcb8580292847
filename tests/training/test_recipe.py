"""`sigverify train --recipe` on a tiny generated dataset: stages chained, averaged, exported once."""

from __future__ import annotations

import json

import pytest
import torch

from sigverify.cli import main
from sigverify.paths import shipped_model_dir
from sigverify.synthetic import write_dataset
from sigverify.training.recipe import Recipe, RecipeError
from sigverify.training.trainer import load_checkpoint

TINY = {"epochs": 1, "steps_per_epoch": 2, "writers_per_batch": 3, "genuine_per_writer": 3, "forged_per_writer": 1,
        "validation_share": 0.25, "eval_references": 2, "channels": [8, 8, 16, 16, 32], "embedding_size": 32,
        "threads": 1}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data"), writers=8, genuine=6, forged=3, seed=5)


def _recipe(folder, cycles=1, **extra):
    (folder / "first.json").write_text(json.dumps({**TINY, "learning_rate": 2e-3}))
    # the second stage's own init_weights is replaced by the first stage's best checkpoint
    (folder / "second.json").write_text(json.dumps({**TINY, "learning_rate": 5e-4, "init_weights": "elsewhere.pt",
                                                    "augment_strength": 0.5}))
    path = folder / "recipe.json"
    path.write_text(json.dumps({"stages": ["first.json", "second.json"],
                                "average": {"cycles": cycles, "learning_rate": 1e-4}, **extra}))
    return path


def test_a_recipe_chains_its_stages_averages_and_exports_once(data, tmp_path, capsys):
    recipe = _recipe(tmp_path)
    out = tmp_path / "run"
    code = main(["train", str(data), "--recipe", str(recipe), "--out", str(out), "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    second, _, _ = load_checkpoint(out / "stage2" / "checkpoints" / "best.pt")
    assert second.init_weights == str(out / "stage1" / "checkpoints" / "best.pt")
    assert second.learning_rate == 5e-4 and second.augment_strength == 0.5
    cycle, _, _ = load_checkpoint(out / "average" / "cycle0" / "last.pt")
    assert cycle.init_weights == str(out / "stage2" / "checkpoints" / "best.pt")
    # one export, of the averaged weights; none of the stages wrote a model of its own
    manifest = json.loads((out / "model" / "manifest.json").read_text())
    assert cycle.validation_writers == sorted(manifest["metrics"]["validation_writers"])  # kept out throughout
    assert manifest["training"]["averaging"]["cycles"] == 1
    assert not (out / "stage1" / "model").exists() and not (out / "stage2" / "model").exists()
    timings = json.loads((out / "recipe-timings.json").read_text())
    assert len(timings["stages"]) == 2 and timings["total_seconds"] >= timings["training_seconds"] > 0
    assert "model written to" in printed and "min" in printed

    # run again: every finished stage and cycle is kept, nothing is trained twice
    before = torch.load(out / "stage1" / "checkpoints" / "last.pt", weights_only=False)["model"]
    code = main(["train", str(data), "--recipe", str(recipe), "--out", str(out), "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0 and "stage 1: kept" in printed and "stage 2: kept" in printed and "cycle 0: kept" in printed
    after = torch.load(out / "stage1" / "checkpoints" / "last.pt", weights_only=False)["model"]
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_an_edited_stage_is_trained_again(data, tmp_path, capsys):
    recipe = _recipe(tmp_path, cycles=0)
    out = tmp_path / "run"
    assert main(["train", str(data), "--recipe", str(recipe), "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    settings = json.loads((tmp_path / "second.json").read_text())
    (tmp_path / "second.json").write_text(json.dumps({**settings, "learning_rate": 1e-3}))
    assert main(["train", str(data), "--recipe", str(recipe), "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "stage 1: kept" in printed and "stage 2: kept" not in printed
    assert not (out / "average").exists()



def test_a_stage_cut_short_goes_on_from_its_last_epoch(data, tmp_path, capsys):
    """A 3-hour recipe cut off in its first stage (a time budget here; a cancel or a closed session
    alike) started that stage over on the next run; it now resumes it, keeping the epochs it had."""
    recipe = _recipe(tmp_path, cycles=0)
    first = json.loads((tmp_path / "first.json").read_text())
    (tmp_path / "first.json").write_text(json.dumps({**first, "epochs": 3, "time_budget_s": 1e-6}))
    out = tmp_path / "run"
    assert main(["train", str(data), "--recipe", str(recipe), "--out", str(out), "--quiet"]) != 0
    last = out / "stage1" / "checkpoints" / "last.pt"
    cut = torch.load(last, weights_only=False)["history"]
    assert len(cut) == 1
    (tmp_path / "first.json").write_text(json.dumps({**first, "epochs": 3}))  # no budget this time
    capsys.readouterr()
    assert main(["train", str(data), "--recipe", str(recipe), "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "stage 1: continuing after epoch 1 of 3" in printed
    history = torch.load(last, weights_only=False)["history"]
    assert len(history) == 3 and history[0] == cut[0]  # the first epoch was not trained again

def test_a_recipe_can_hand_over_the_last_checkpoint_instead_of_the_best(data, tmp_path, capsys):
    recipe = _recipe(tmp_path, cycles=1, hand_over="last")
    out = tmp_path / "run"
    assert main(["train", str(data), "--recipe", str(recipe), "--out", str(out), "--quiet"]) == 0
    second, _, _ = load_checkpoint(out / "stage2" / "checkpoints" / "best.pt")
    assert second.init_weights == str(out / "stage1" / "checkpoints" / "last.pt")
    cycle, _, _ = load_checkpoint(out / "average" / "cycle0" / "last.pt")
    assert cycle.init_weights == str(out / "stage2" / "checkpoints" / "last.pt")
    capsys.readouterr()


@pytest.mark.parametrize("text, message", [
    ('{"stages": [{"epochs": 1}], "hand_over": "first"}', "'hand_over' is 'best' or 'last'"),
    ("not json", "cannot read the recipe"),
    ('{"stages": []}', "a recipe holds 'stages'"),
    ('{"stages": [{"epochs": 1, "colour": "red"}]}', "unknown training setting"),
    ('{"stages": ["missing.json"]}', "stage 1"),
    ('{"stages": [{"epochs": 1}], "average": {"cycles": -1}}', "cycles >= 0"),
])
def test_a_bad_recipe_is_one_clear_line(data, tmp_path, capsys, text, message):
    path = tmp_path / "recipe.json"
    path.write_text(text)
    with pytest.raises(RecipeError, match=message):
        Recipe.from_file(path)
    code = main(["train", str(data), "--recipe", str(path), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code != 0 and message in err and "Traceback" not in err
    assert not (tmp_path / "run" / "model").exists()


def test_a_recipe_refuses_settings_it_makes_itself(data, tmp_path, capsys):
    code = main(["train", str(data), "--recipe", str(_recipe(tmp_path)), "--epochs", "3", "--out", str(tmp_path / "r")])
    assert code != 0 and "--epochs" in capsys.readouterr().err


def test_the_shipped_recipe_names_the_shipped_stage_configs():
    recipe = Recipe.from_file(shipped_model_dir().parent / "recipe-default.json")
    assert [stage.epochs for stage in recipe.stages] == [12, 5]
    assert recipe.stages[1].learning_rate < recipe.stages[0].learning_rate and not recipe.stages[1].pen_augmentation
    assert (recipe.average_cycles, recipe.average_learning_rate, recipe.hand_over) == (3, 1e-4, "last")
