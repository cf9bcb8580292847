"""Model versions on this computer: the shipped model plus those trained here, and which is active.

Trained models live in the user-data folder (writable even when the app runs from a read-only
bundle), one folder per version, with ``registry.json`` naming the active one. Registering
copies a verified model folder in; activating switches the pointer; the previous model stays
for rollback.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sigverify.errors import ModelError
from sigverify.inference.manifest import MANIFEST_NAME, load_manifest, sha256_of
from sigverify.paths import shipped_model_dir, user_data_dir

SHIPPED = "shipped"


@dataclass(frozen=True)
class ModelEntry:
    version: str
    folder: Path
    sha256: str
    shipped: bool
    eer: float | None


class ModelRegistry:
    def __init__(self, root: Path, shipped_dir: Path) -> None:
        self.root = Path(root)
        self.shipped_dir = Path(shipped_dir)
        self.file = self.root / "registry.json"

    def _read(self) -> dict:
        """The registry file; a damaged one is an error, never a silent fall back to the shipped
        model (a clerk would verify with another model than the one a supervisor activated)."""
        if not self.file.is_file():
            return {"active": SHIPPED}
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ModelError(f"the model registry {self.file} cannot be read ({exc.strerror})") from exc
        except json.JSONDecodeError as exc:
            raise ModelError(f"the model registry {self.file} is damaged ({exc.msg}); ask a supervisor to "
                             "activate the model again ('sigverify models activate VERSION')") from exc
        if not isinstance(data, dict) or not isinstance(data.get("active", SHIPPED), str):
            raise ModelError(f"the model registry {self.file} is damaged (not a registry); ask a supervisor "
                             "to activate the model again")
        return data

    def _write(self, data: dict) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        os.replace(tmp, self.file)

    def entries(self) -> list[ModelEntry]:
        out = []
        if (self.shipped_dir / MANIFEST_NAME).is_file():
            out.append(self._entry(self.shipped_dir, shipped=True))
        for folder in sorted(self.root.glob("*/")):
            if (folder / MANIFEST_NAME).is_file():
                try:
                    out.append(self._entry(folder, shipped=False))
                except ModelError:
                    continue
        return out

    def _entry(self, folder: Path, shipped: bool) -> ModelEntry:
        manifest = load_manifest(folder)
        val = manifest.metrics.get("validation", {})
        return ModelEntry(manifest.version, folder, manifest.sha256, shipped,
                          val.get("eer_skilled", val.get("eer_random")))

    def active_dir(self) -> Path:
        """The active model's folder; the shipped one if nothing else is active or it vanished."""
        active = self._read().get("active", SHIPPED)
        if active != SHIPPED and (self.root / active / MANIFEST_NAME).is_file():
            return self.root / active
        return self.shipped_dir

    def active_version(self) -> str:
        return load_manifest(self.active_dir()).version

    def register(self, model_dir: Path) -> ModelEntry:
        """Copy a model folder in, under its version name, once it has loaded and behaved like a
        signature model (see check_behaviour); returns the entry with the folder's digest."""
        from sigverify.inference.engine import EmbeddingEngine

        manifest = load_manifest(model_dir)
        onnx = Path(model_dir) / manifest.onnx_file
        if not onnx.is_file() or sha256_of(onnx) != manifest.sha256:
            raise ModelError(f"{model_dir}: model file missing or not matching its manifest; not registered")
        target = self.root / manifest.version
        if target.resolve().parent != self.root.resolve():
            raise ModelError(f"model version {manifest.version!r} is not a plain name; not registered")
        if target.exists():
            raise ModelError(f"model {manifest.version} is registered already")
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".register-", dir=self.root))
        try:
            for name in [MANIFEST_NAME, *manifest.files]:
                shutil.copy2(Path(model_dir) / name, staging / name)
            check_behaviour(EmbeddingEngine(staging, provider="cpu"))
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return self._entry(target, shipped=False)

    def activate(self, version: str) -> ModelEntry:
        for entry in self.entries():
            if entry.version == version:
                data = self._read()
                data["previous"] = data.get("active", SHIPPED)
                data["active"] = SHIPPED if entry.shipped else version
                self._write(data)
                return entry
        raise ModelError(f"no model {version!r} on this computer")

    def previous_version(self) -> str | None:
        previous = self._read().get("previous")
        if previous is None:
            return None
        if previous == SHIPPED:
            return load_manifest(self.shipped_dir).version if (self.shipped_dir / MANIFEST_NAME).is_file() else None
        return previous


def check_behaviour(engine) -> None:
    """Refuse a model that loads but cannot tell signatures apart: non-finite or non-unit embeddings,
    or the same embedding for different signatures (a model that outputs a constant says
    'genuine' to everyone)."""
    import numpy as np

    from sigverify.imaging.decode import load_image
    from sigverify.paths import assets_dir

    samples = sorted((assets_dir() / "samples").glob("*.png"))[:4]
    if len(samples) < 2:
        return  # no sample signatures beside this installation: nothing to compare
    outputs = engine.embed_images([load_image(path).pixels for path in samples]).astype(np.float64)
    embeddings = outputs[:, : engine.manifest.identity_size or None]  # the unit-norm part (before any forgery space)
    norms = np.linalg.norm(embeddings, axis=1)
    if not np.isfinite(outputs).all() or not np.all((norms > 0.5) & (norms < 2.0)):
        raise ModelError(f"model {engine.version} gives unusable embeddings (norms {norms.round(3).tolist()}); "
                         "not registered")
    spread = np.linalg.norm(embeddings[:, None] - embeddings[None], axis=2)[np.triu_indices(len(samples), 1)]
    if spread.max() < 1e-3:
        raise ModelError(f"model {engine.version} gives the same embedding to different signatures; not registered")


def default_registry() -> ModelRegistry:
    return ModelRegistry(user_data_dir() / "models", shipped_model_dir())


def default_model_dir() -> Path:
    """The model verification uses unless told otherwise: $SIGVERIFY_MODEL, else the model
    activated in this computer's registry, else the shipped one."""
    if override := os.environ.get("SIGVERIFY_MODEL"):
        return Path(override)
    return default_registry().active_dir()


def load_engine(model_dir: Path | str | None = None, provider: str = "auto"):
    """The given model folder, else the installed one ($SIGVERIFY_MODEL, the model activated on this
    computer, the shipped one), with a message that says what to do when there is none."""
    from sigverify.inference.engine import EmbeddingEngine

    folder = Path(model_dir) if model_dir else default_model_dir()
    if not (folder / MANIFEST_NAME).is_file():
        raise ModelError(f"no model installed at {folder}. Train one with 'sigverify train DATASET --out DIR' "
                         "and pass --model DIR/model, or set SIGVERIFY_MODEL")
    return EmbeddingEngine(folder, provider=provider)
