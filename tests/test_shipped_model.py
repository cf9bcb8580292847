"""The shipped model (models/default, named explicitly, never whatever is active on this machine):
its manifest is consistent, its folder digest is the pinned one, and on real SigComp2011 test
writers a clerk's trial gives the verdicts its measured error rates promise (skipped without
../shared/data, a failure under CI)."""

from __future__ import annotations

import json

import pytest

from sigverify.cli import main
from sigverify.inference.engine import EmbeddingEngine
from sigverify.inference.trust import SHIPPED_MODEL_DIGEST
from sigverify.paths import shipped_model_dir
from tests.conftest import SIGCOMP
from tests.realdata.conftest import require_shared_data

MODEL = shipped_model_dir()


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """No model activated on this computer may stand in for the shipped one."""
    monkeypatch.setenv("SIGVERIFY_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SIGVERIFY_MODEL", raising=False)


def test_shipped_model_loads_and_matches_its_manifest():
    engine = EmbeddingEngine(MODEL)
    manifest = engine.manifest
    assert manifest.input_shape == (None, 1, 128, 256)
    # a 128-number embedding, then the forgery space's coordinates (validation kept it)
    assert manifest.identity_size == 128 and manifest.embedding_size == 128 + 512
    assert manifest.population.identity_size == 128 and manifest.identity_weight > 0
    assert manifest.extra["parity_max_abs_diff"] <= 1e-4
    assert manifest.decision_rule == "spread" and manifest.population is not None
    assert manifest.population.forgery_direction is not None  # validation chose the forgery cue
    validation, train = set(manifest.metrics["validation_writers"]), set(manifest.extra["data"]["train_writers"])
    test = set(manifest.metrics["test_writers"])
    assert "sigcomp2011/051" in test and "bhsig260_hindi/101" in test and "gpds_synthetic/121" in test
    assert validation.isdisjoint(test) and train.isdisjoint(validation) and train.isdisjoint(test)
    assert {w.split("/")[0] for w in validation} == {"sigcomp2011", "bhsig260_hindi", "gpds_synthetic"}
    identification = manifest.extra["identification"]  # chosen on validation writers at 1% false matches
    assert identification["validation"]["false_match_rate"] <= 0.01
    assert manifest.identification_threshold == identification["threshold"]


def test_the_shipped_folder_is_the_pinned_one():
    """Editing any file of models/default (a threshold in the manifest, say) breaks this pin, and then
    recorded verifications refuse the model: shipping a new model means updating trust.py."""
    assert EmbeddingEngine(MODEL).folder_digest == SHIPPED_MODEL_DIGEST


@pytest.mark.realdata
def test_a_clerks_trial_on_real_test_writers(capsys):
    """Per SigComp2011 test writer: 5 references, 5 other genuine signatures and 5 skilled forgeries,
    through the command line with the shipped model named explicitly."""
    require_shared_data()
    if not SIGCOMP.is_dir():
        pytest.skip("../shared/data/sigcomp2011 not present")
    counts = {"genuine": [0, 0], "forged": [0, 0]}  # [not wrongly decided, total]
    for writer in sorted(p.name for p in SIGCOMP.iterdir() if "051" <= p.name <= "069"):
        genuine = sorted((SIGCOMP / writer / "genuine").glob("*.png"))
        forged = sorted((SIGCOMP / writer / "forged").glob("*.png"))
        refs = [str(p) for p in genuine[:5]]
        for kind, questioned in (("genuine", genuine[5:10]), ("forged", forged[:5])):
            for path in questioned:
                code = main(["verify", *refs, str(path), "--model", str(MODEL), "--json"])
                result = json.loads(capsys.readouterr().out)
                assert code == {"genuine": 0, "forged": 1, "refer": 2}[result["verdict"]]
                wrong = "forged" if kind == "genuine" else "genuine"
                counts[kind][0] += result["verdict"] != wrong
                counts[kind][1] += 1
    genuine_ok, forged_ok = (counts[k][0] / counts[k][1] for k in ("genuine", "forged"))
    print(f"genuine not called forged {counts['genuine']}, forgeries not called genuine {counts['forged']}")
    assert forged_ok >= FORGED_NOT_ACCEPTED and genuine_ok >= GENUINE_NOT_REJECTED


# Measured for the shipped model (sigverify-20261124-ceb804e9) on this trial: 85/95 genuine not called
# forged, 93/95 forgeries not called genuine (the bench's clerk trial, with up to 10 of each: 94% and 97%).
# The previous model (16714dde) had 89/95 and 87/95: the channel-correlation texture halved the skilled
# forgeries accepted at the shipped threshold (FAR 11.8% -> 6.2% on 20 draws per writer) for a little more
# of FRR (8.5% -> 9.6%), and this one fixed draw shows that trade. A model that does worse fails here.
FORGED_NOT_ACCEPTED = 0.95
GENUINE_NOT_REJECTED = 0.89
