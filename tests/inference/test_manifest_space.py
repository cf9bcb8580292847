"""A manifest that declares a forgery space beside the embedding: read back exactly, refused when inconsistent."""

from __future__ import annotations

import json

import pytest

from sigverify.errors import ModelError
from sigverify.inference.manifest import Manifest
from sigverify.paths import shipped_model_dir


def _with_space(**changes) -> dict:
    data = json.loads((shipped_model_dir() / "manifest.json").read_text())
    data["output"] = {"name": "embedding", "embedding_size": 384, "identity_size": 128}
    data["decision_rule"] = "spread"
    data["background"].update(space_genuine_distance=21.5, identity_weight=0.5)
    for key, value in changes.items():
        section, field = key.split("__")
        data[section][field] = value
    return data


def test_the_layout_and_space_settings_survive_a_round_trip():
    manifest = Manifest.from_dict(_with_space())
    assert (manifest.embedding_size, manifest.identity_size) == (384, 128)
    again = Manifest.from_dict(json.loads(json.dumps(manifest.to_dict())))
    assert (again.identity_size, again.space_genuine_distance, again.identity_weight) == (128, 21.5, 0.5)


@pytest.mark.parametrize("changes", [
    {"output__identity_size": 384},  # nothing left for the space
    {"output__identity_size": -1},
    {"background__space_genuine_distance": 0.0},
    {"background__identity_weight": -1.0},
    {"background__identity_weight": float("nan")},
])
def test_an_inconsistent_space_is_refused(changes):
    with pytest.raises(ModelError, match="forgery space"):
        Manifest.from_dict(_with_space(**changes))


def test_the_space_needs_a_rule_that_scores_it():
    data = _with_space()
    data["decision_rule"] = "logistic"
    with pytest.raises(ModelError, match="forgery space"):
        Manifest.from_dict(data)
