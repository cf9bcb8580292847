"""The model registry of this computer: a damaged registry file is an error, never a silent
fall back to the shipped model (issue 16, item 5)."""

from __future__ import annotations

import pytest

from sigverify.errors import ModelError
from sigverify.inference.registry import ModelRegistry, default_model_dir, load_engine


@pytest.fixture
def registry(tmp_path, tiny_model):
    return ModelRegistry(tmp_path / "models", tiny_model)


def test_no_registry_file_means_the_shipped_model(registry, tiny_model):
    assert registry.active_dir() == tiny_model


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"active": 3}', ""])
def test_a_damaged_registry_file_is_an_error(registry, content):
    registry.root.mkdir(parents=True)
    registry.file.write_text(content)
    with pytest.raises(ModelError, match="registry .* is damaged"):
        registry.active_dir()


def test_the_installed_model_follows_sigverify_model(monkeypatch, tiny_model, tmp_path):
    monkeypatch.setenv("SIGVERIFY_MODEL", str(tiny_model))
    assert default_model_dir() == tiny_model
    assert load_engine().version == "tiny-test-1"
    monkeypatch.setenv("SIGVERIFY_MODEL", str(tmp_path / "nothing"))
    with pytest.raises(ModelError, match="no model installed"):
        load_engine()
