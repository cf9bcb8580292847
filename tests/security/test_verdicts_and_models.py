"""Nobody forges a verdict through thresholds or models (issue 'Security and integrity', items 1-4, 6, 9).

Every test drives the real command line against a real SQLite store, as an attacker would."""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import cv2
import numpy as np
import pytest

from sigverify.synthetic import SyntheticWriter
from tests.helpers import cli_runner, make_tiny_model, tiny_onnx


@pytest.fixture
def bank(tmp_path, monkeypatch, capsys, rng):
    """A store with users (four-eyes mode), an account with three specimens and a registered model."""
    monkeypatch.setenv("SIGVERIFY_STORE", str(tmp_path / "store.db"))
    monkeypatch.setenv("SIGVERIFY_HOME", str(tmp_path / "home"))
    model = make_tiny_model(tmp_path / "model", threshold=0.5)
    monkeypatch.setenv("SIGVERIFY_MODEL", str(model))
    writer, stranger = SyntheticWriter(3), SyntheticWriter(4)
    files = {}
    for name, image in {"r1": writer.genuine(rng), "r2": writer.genuine(rng), "r3": writer.genuine(rng),
                        "stranger": stranger.genuine(rng)}.items():
        files[name] = tmp_path / f"{name}.png"
        cv2.imwrite(str(files[name]), image)

    run = cli_runner(monkeypatch, capsys)

    assert run("models", "register", model)[0] == 0  # single-user mode: the OS user is a supervisor
    assert run("accounts", "add", "ACC", "--name", "Holder")[0] == 0
    assert run("enroll", "ACC", files["r1"], files["r2"], files["r3"])[0] == 0
    monkeypatch.setenv("SIGVERIFY_NEW_PASSWORD", "sup1-pw")
    assert run("user", "add", "sup1", "--role", "supervisor", "--with-password")[0] == 0
    monkeypatch.setenv("SIGVERIFY_NEW_PASSWORD", "clerk1-pw")
    assert run("user", "add", "clerk1", "--role", "clerk", "--with-password", user="sup1", password="sup1-pw")[0] == 0
    return {"run": run, "model": model, "files": files, "tmp": tmp_path}


def _verify(bank, *extra, user="clerk1", password="clerk1-pw"):
    """The clerk at the counter verifies (signed in: with users defined, nobody acts unnamed)."""
    return bank["run"]("verify", "--account", "ACC", bank["files"]["stranger"], "--json", *extra, user=user,
                       password=password)


@pytest.mark.parametrize("value", ["100", "inf", "-inf", "nan", "1e308"])
def test_a_threshold_outside_the_models_range_is_refused_on_the_account_path(bank, value):
    code, out = _verify(bank, "--threshold", value)
    assert code in (3, 64) and "Traceback" not in out
    assert "GENUINE" not in out.upper().replace("VERDICT", "")


def test_a_clerk_cannot_override_the_threshold_even_within_range(bank, monkeypatch):
    from sigverify.inference.manifest import load_manifest

    lo, hi = load_manifest(bank["model"]).threshold_range
    code, out = _verify(bank, "--threshold", str(hi))
    assert code == 3 and "only a supervisor may override the threshold" in out


def test_an_unregistered_model_folder_cannot_decide_a_recorded_verification(bank, monkeypatch):
    other = make_tiny_model(bank["tmp"] / "elsewhere", threshold=1.9)
    code, out = _verify(bank, "--model", other)
    assert code == 4 and "not registered" in out.lower() or "neither the shipped model" in out
    monkeypatch.setenv("SIGVERIFY_MODEL", str(other))
    code, out = _verify(bank)
    assert code == 4 and "neither the shipped model" in out


def test_editing_the_registered_models_manifest_threshold_is_refused(bank):
    manifest_path = bank["model"] / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["threshold"], manifest["threshold_range"] = 1.99, [0.1, 2.0]
    manifest_path.write_text(json.dumps(manifest))
    code, out = _verify(bank)
    assert code == 4 and "neither the shipped model" in out


def test_widening_the_identification_threshold_in_a_manifest_is_refused(bank):
    """An edited manifest that would name anyone as the signer ("a match") is not used."""
    manifest_path = bank["model"] / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["identification"] = {"threshold": 1.99}
    manifest_path.write_text(json.dumps(manifest))
    code, out = bank["run"]("identify", bank["files"]["stranger"], user="clerk1", password="clerk1-pw")
    assert code == 4 and "neither the shipped model" in out


def test_a_model_that_outputs_a_constant_is_refused_at_registration(bank):
    """Zeros out (a hash updated in its own manifest) used to say GENUINE, score 1.000, to everyone."""
    import onnx
    from onnx import TensorProto, helper

    folder = make_tiny_model(bank["tmp"] / "zeros")
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["image"], ["flat"], axis=1),
         helper.make_node("MatMul", ["flat", "zeros"], ["embedding"])],
        "zeros", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, 96, 192])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", 16])],
        [helper.make_tensor("zeros", TensorProto.FLOAT, [96 * 192, 16], np.zeros(96 * 192 * 16, np.float32))])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    proto.ir_version = 8
    data = proto.SerializeToString()
    (folder / "model.onnx").write_bytes(data)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["sha256"], manifest["version"] = hashlib.sha256(data).hexdigest(), "zeros-1"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    onnx.checker.check_model(onnx.load_from_string(data))
    code, out = bank["run"]("models", "register", folder, user="sup1", password="sup1-pw")
    assert code == 4 and "unusable embeddings" in out


def test_an_incompatible_model_is_refused_at_registration(bank):
    folder = make_tiny_model(bank["tmp"] / "wide", embedding=16)
    data = tiny_onnx(96, 192, 32)  # 32-d output, manifest says 16
    (folder / "model.onnx").write_bytes(data)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["sha256"], manifest["version"] = hashlib.sha256(data).hexdigest(), "wide-1"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    code, out = bank["run"]("models", "register", folder, user="sup1", password="sup1-pw")
    assert code == 4 and "no output" in out


@pytest.mark.parametrize("version", ["../../x", "/tmp/x", "..", ".hidden", "a/b"])
def test_a_manifest_version_cannot_write_outside_the_registry(bank, version):
    folder = bank["tmp"] / "evil"
    shutil.copytree(bank["model"], folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["version"] = version
    (folder / "manifest.json").write_text(json.dumps(manifest))
    code, out = bank["run"]("models", "register", folder, user="sup1", password="sup1-pw")
    assert code == 4 and "not a plain name" in out
    assert not (bank["tmp"] / "x").exists() and not os.path.exists("/tmp/x/manifest.json")


def test_activating_a_model_needs_a_signed_in_supervisor(bank):
    code, out = bank["run"]("models", "activate", "tiny-test-1")
    assert code == 3 and "must sign in" in out
    code, out = bank["run"]("models", "activate", "tiny-test-1", user="clerk1", password="clerk1-pw")
    assert code == 3 and "only a supervisor may activate models" in out
    assert bank["run"]("models", "activate", "tiny-test-1", user="sup1", password="sup1-pw")[0] == 0


def test_logname_and_user_variables_do_not_impersonate(bank, monkeypatch):
    """The OS user comes from the process's real uid, never from LOGNAME/USER."""
    from sigverify.store.repository import current_user

    real = current_user()
    monkeypatch.setenv("LOGNAME", "sup1")
    monkeypatch.setenv("USER", "sup1")
    monkeypatch.setenv("USERNAME", "sup1")
    assert current_user() == real
    code, out = bank["run"]("models", "activate", "tiny-test-1")
    assert code == 3 and "sup1" not in out.split("must sign in")[0]


def test_the_audit_export_never_overwrites_the_store(bank):
    store = bank["tmp"] / "store.db"
    before = hashlib.sha256(store.read_bytes()).hexdigest()
    code, out = bank["run"]("audit", "export", "--csv", "--out", store, "--store", store, "--force")
    assert code == 64 and "is the store itself" in out
    assert hashlib.sha256(store.read_bytes()).hexdigest() == before
    other = bank["tmp"] / "existing.csv"
    other.write_text("keep me")
    code, out = bank["run"]("audit", "export", "--csv", "--out", other)
    assert code == 64 and "exists already" in out and other.read_text() == "keep me"
    assert bank["run"]("audit", "export", "--csv", "--out", other, "--force")[0] == 0
    assert other.read_text().startswith("id,at,actor")


def test_verdicts_still_work_for_the_registered_model(bank):
    code, out = _verify(bank)
    assert code in (0, 1, 2), out
    assert np.isfinite(json.loads(out)["distance"])


def test_nobody_acts_unnamed_once_users_exist(bank):
    """decide, accounts add and verify --account need a user of the store (issue item 7)."""
    code, out = bank["run"]("verify", "--account", "ACC", bank["files"]["stranger"])
    assert code == 3 and "must sign in" in out
    code, out = bank["run"]("accounts", "add", "ACC-2", "--name", "Someone")
    assert code == 3 and "must sign in" in out
    code, out = _verify(bank)
    verification = json.loads(out)["verification_id"]
    code, out = bank["run"]("decide", verification, "accept")
    assert code == 3 and "must sign in" in out


def test_a_verification_is_decided_once(bank):
    code, out = _verify(bank)
    verification = json.loads(out)["verification_id"]
    assert bank["run"]("decide", verification, "reject", user="clerk1", password="clerk1-pw")[0] == 0
    code, out = bank["run"]("decide", verification, "accept", user="clerk1", password="clerk1-pw")
    assert code == 3 and "already decided (reject by clerk1)" in out


def test_an_unrecorded_verification_says_when_its_model_is_not_the_shipped_one(bank, tmp_path, capsys):
    """A copy of the shipped model with its threshold edited (within the allowed range) keeps the
    shipped version name in its manifest; the unrecorded result must not pass it off as shipped."""
    from sigverify.cli import main
    from sigverify.paths import shipped_model_dir

    edited = tmp_path / "edited"
    shutil.copytree(shipped_model_dir(), edited)
    manifest = json.loads((edited / "manifest.json").read_text())
    manifest["threshold"] = manifest["threshold_range"][1]
    (edited / "manifest.json").write_text(json.dumps(manifest))
    files = [str(bank["files"][name]) for name in ("r1", "r2", "stranger")]
    results = {}
    for label, folder in (("shipped", shipped_model_dir()), ("edited", edited)):
        main(["verify", *files, "--model", str(folder), "--json"])
        results[label] = json.loads(capsys.readouterr().out)
    assert results["edited"]["model_version"] == results["shipped"]["model_version"]
    assert results["shipped"]["model_shipped"] is True and results["shipped"]["model_note"] is None
    assert results["edited"]["model_shipped"] is False
    assert "not the shipped model" in results["edited"]["model_note"]
    main(["verify", *files, "--model", str(edited)])
    assert "note: model folder" in capsys.readouterr().out
