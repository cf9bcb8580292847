"""The model manifest: what a model expects, how it was made, and how to judge its distances.

It travels next to ``model.onnx`` as ``manifest.json``. Inference trusts the ONNX file only
if its SHA-256 matches the manifest, and the preprocessing recorded here is the one used.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from sigverify.errors import ModelError
from sigverify.imaging.preprocess import PreprocessParams
from sigverify.verification.account_model import RULES, Population
from sigverify.verification.calibration import LogisticCalibration
from sigverify.verification.decision import AGGREGATIONS, DecisionPolicy

FORMAT = "sigverify-model/1"
#: a version names a folder in the registry: letters, digits, '.', '_', '-' only, no path
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
MANIFEST_NAME = "manifest.json"
ONNX_NAME = "model.onnx"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class Manifest:
    """Parsed manifest.json; ``extra`` keeps every other recorded field (metrics, data, config)."""

    version: str
    sha256: str
    onnx_file: str
    input_name: str
    input_shape: tuple  # (batch or None, 1, H, W)
    output_name: str
    embedding_size: int
    preprocessing: PreprocessParams
    threshold: float
    threshold_range: tuple[float, float]
    calibration: LogisticCalibration
    refer_band: float = 0.1
    aggregation: str = "mean"
    #: account rule (verification/account_model.py) and its background population file
    decision_rule: str = "mean"
    background_file: str = ""
    background_sha256: str = ""
    genuine_distance: float = 0.0
    #: the output's layout: its first ``identity_size`` numbers are the unit-norm embedding, the rest
    #: forgery-space coordinates (training/forgery_space.py); 0 = the whole output is the embedding
    identity_size: int = 0
    space_genuine_distance: float = 0.0  # the forgery space's typical genuine-to-genuine distance
    identity_weight: float = 0.0  # the embedding's score's weight beside the forgery space's
    extra: dict = field(default_factory=dict)
    population: Population | None = field(default=None, repr=False, compare=False)

    @property
    def policy(self) -> DecisionPolicy:
        def by_references(key: str) -> tuple[tuple[int, float], ...]:  # chosen per number of specimens
            return tuple(sorted((int(k), float(v)) for k, v in self.metrics.get(key, {}).items()))

        return DecisionPolicy(self.threshold, self.calibration, self.refer_band, self.aggregation,
                              self.decision_rule if self.population is not None else "mean", self.population,
                              by_references("thresholds_by_references"), by_references("refer_bands_by_references"))

    @property
    def identification_threshold(self) -> float:
        """The open-set threshold of identification 1:N (verification/identification.py), chosen on
        validation writers at export for a stated false-match rate; a model exported before
        identification existed has none, and its verification threshold stands in."""
        value = (self.extra.get("identification") or {}).get("threshold")
        return self.threshold if value is None else float(value)

    @property
    def metrics(self) -> dict:
        return self.extra.get("metrics", {})

    def to_dict(self) -> dict:
        data = dict(self.extra)
        data.update(
            {
                "format": FORMAT,
                "version": self.version,
                "sha256": self.sha256,
                "onnx_file": self.onnx_file,
                "input": {"name": self.input_name, "shape": list(self.input_shape), "dtype": "float32"},
                "output": {"name": self.output_name, "embedding_size": self.embedding_size,
                           **({"identity_size": self.identity_size} if self.identity_size else {})},
                "preprocessing": self.preprocessing.to_dict(),
                "threshold": self.threshold,
                "threshold_range": list(self.threshold_range),
                "calibration": self.calibration.to_dict(),
                "refer_band": self.refer_band,
                "aggregation": self.aggregation,
                "decision_rule": self.decision_rule,
            }
        )
        if self.background_file:
            data["background"] = {"file": self.background_file, "sha256": self.background_sha256,
                                  "genuine_distance": self.genuine_distance}
            if self.identity_size:
                data["background"].update(space_genuine_distance=self.space_genuine_distance,
                                          identity_weight=self.identity_weight)
        return data

    def save(self, folder: Path) -> Path:
        path = Path(folder) / MANIFEST_NAME
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: dict, source: str = "manifest") -> "Manifest":
        try:
            if data.get("format") != FORMAT:
                raise ModelError(f"{source}: not a SigVerify model manifest (format {data.get('format')!r})")
            known = {"format", "version", "sha256", "onnx_file", "input", "output", "preprocessing", "threshold",
                     "threshold_range", "calibration", "refer_band", "aggregation", "decision_rule", "background"}
            background = data.get("background") or {}
            shape = tuple(None if d in (None, "N", "batch") else int(d) for d in data["input"]["shape"])
            manifest = cls(
                version=str(data["version"]),
                sha256=str(data["sha256"]).lower(),
                onnx_file=str(data.get("onnx_file", ONNX_NAME)),
                input_name=str(data["input"]["name"]),
                input_shape=shape,
                output_name=str(data["output"]["name"]),
                embedding_size=int(data["output"]["embedding_size"]),
                preprocessing=PreprocessParams.from_dict(data["preprocessing"]),
                threshold=float(data["threshold"]),
                threshold_range=tuple(float(v) for v in data["threshold_range"]),
                calibration=LogisticCalibration.from_dict(data["calibration"]),
                refer_band=float(data.get("refer_band", 0.1)),
                aggregation=str(data.get("aggregation", "mean")),
                decision_rule=str(data.get("decision_rule", "mean")),
                background_file=str(background.get("file", "")),
                background_sha256=str(background.get("sha256", "")).lower(),
                genuine_distance=float(background.get("genuine_distance", 0.0)),
                identity_size=int(data["output"].get("identity_size", 0)),
                space_genuine_distance=float(background.get("space_genuine_distance", 0.0)),
                identity_weight=float(background.get("identity_weight", 0.0)),
                extra={k: v for k, v in data.items() if k not in known},
            )
        except ModelError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{source}: the manifest is incomplete or malformed ({exc!r})") from exc
        manifest._check_consistency(source)
        return manifest

    @property
    def files(self) -> list[str]:
        """Every file of the model folder besides the manifest, in a fixed order."""
        return [self.onnx_file] + ([self.background_file] if self.background_file else [])

    def _check_consistency(self, source: str) -> None:
        if not VERSION_PATTERN.match(self.version) or ".." in self.version:
            raise ModelError(f"{source}: version {self.version!r} is not a plain name (letters, digits, . _ -)")
        if Path(self.onnx_file).name != self.onnx_file or self.onnx_file.startswith("."):
            raise ModelError(f"{source}: the model file must lie inside the model folder")
        lo, hi = self.threshold_range
        if not all(math.isfinite(v) for v in (self.threshold, lo, hi)) or not 0 < lo <= hi:
            raise ModelError(f"{source}: threshold {self.threshold} and range {lo}..{hi} must be finite and positive")
        p = self.preprocessing
        expected = (1, p.canvas_height, p.canvas_width)
        if len(self.input_shape) != 4 or tuple(self.input_shape[1:]) != expected:
            raise ModelError(
                f"{source}: input shape {list(self.input_shape)} disagrees with the preprocessing canvas "
                f"1x{p.canvas_height}x{p.canvas_width}"
            )
        if self.aggregation not in AGGREGATIONS:
            raise ModelError(f"{source}: unknown aggregation {self.aggregation!r}")
        if self.decision_rule not in RULES:
            raise ModelError(f"{source}: unknown decision rule {self.decision_rule!r}")
        if self.decision_rule != "mean" and not self.background_file:
            raise ModelError(f"{source}: decision rule {self.decision_rule!r} needs a background population file")
        if self.background_file and (Path(self.background_file).name != self.background_file
                                     or not self.background_file.endswith(".npz")):
            raise ModelError(f"{source}: the population file must be a .npz file inside the model folder")
        if self.identity_size and not (0 < self.identity_size < self.embedding_size and self.background_file
                                       and self.decision_rule in ("spread", "cohort")
                                       and math.isfinite(self.space_genuine_distance) and self.space_genuine_distance > 0
                                       and math.isfinite(self.identity_weight) and self.identity_weight >= 0):
            raise ModelError(f"{source}: an output with a forgery space (identity size {self.identity_size} of "
                             f"{self.embedding_size}) needs the spread or cohort rule, a population, a positive "
                             "genuine distance in that space and a non-negative identity weight")
        identification = self.extra.get("identification")
        if identification is not None and not (isinstance(identification, dict) and isinstance(
                identification.get("threshold"), (int, float)) and math.isfinite(identification["threshold"])):
            raise ModelError(f"{source}: the identification threshold must be a finite number")
        lo, hi = self.threshold_range
        if not lo <= self.threshold <= hi:
            raise ModelError(f"{source}: threshold {self.threshold} lies outside its range {lo}..{hi}")


def folder_digest(manifest_bytes: bytes, files: dict[str, bytes]) -> str:
    """One SHA-256 over the manifest and every model file: editing any of them (a threshold in the
    manifest, the background population) changes it. The store records it when a supervisor
    registers a model; a recorded verification refuses a folder whose digest it does not know."""
    digest = hashlib.sha256()
    for name, data in [(MANIFEST_NAME, manifest_bytes), *sorted(files.items())]:
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


def load_manifest(folder: Path) -> Manifest:
    """Read ``manifest.json`` from a model folder, with a clear error if absent or broken."""
    return read_manifest(folder)[0]


def read_manifest(folder: Path) -> tuple[Manifest, bytes]:
    """The parsed manifest and the exact bytes it was parsed from (for the folder digest)."""
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        raise ModelError(f"no model manifest at {path}")
    try:
        raw = path.read_bytes()
        data = json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: unreadable manifest ({exc})") from exc
    if not isinstance(data, dict):
        raise ModelError(f"{path}: the manifest is not a JSON object")
    return Manifest.from_dict(data, source=str(path)), raw


def load_population(folder: Path, manifest: Manifest, data: bytes | None = None) -> Population | None:
    """The background population named by the manifest, checked against its SHA-256."""
    import numpy as np

    if not manifest.background_file:
        return None
    path = Path(folder) / manifest.background_file
    try:
        data = path.read_bytes() if data is None else data
    except OSError as exc:
        raise ModelError(f"the model's background population {path.name} cannot be read ({exc.strerror})") from exc
    if hashlib.sha256(data).hexdigest() != manifest.background_sha256:
        raise ModelError(f"{path.name} does not match its manifest: the model folder was altered; refusing to use it")
    import io

    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as stored:
            background = stored["background"]
            whitening = stored["whitening"] if "whitening" in stored.files else None
            direction = stored["forgery_direction"] if "forgery_direction" in stored.files else None
    except (ValueError, KeyError, OSError) as exc:
        raise ModelError(f"{path.name} is not a valid population file ({exc})") from exc
    size = manifest.identity_size or manifest.embedding_size  # whitening and cue act on the embedding part
    if background.ndim != 2 or background.shape[1] != manifest.embedding_size or background.shape[0] < 10 \
            or not np.isfinite(background).all():
        raise ModelError(f"{path.name}: a background population of shape {background.shape} does not fit "
                         f"outputs of size {manifest.embedding_size}")
    if whitening is not None and (whitening.shape != (size, size) or not np.isfinite(whitening).all()):
        raise ModelError(f"{path.name}: a whitening of shape {whitening.shape} does not fit embeddings of size {size}")
    if direction is not None and (direction.shape != (size,) or not np.isfinite(direction).all()):
        raise ModelError(f"{path.name}: a forgery direction of shape {direction.shape} does not fit embeddings "
                         f"of size {size}")
    return Population(background.astype(np.float64), manifest.genuine_distance,
                      whitening=None if whitening is None else whitening.astype(np.float64),
                      forgery_direction=None if direction is None else direction.astype(np.float64),
                      identity_size=manifest.identity_size or None,
                      space_genuine_distance=manifest.space_genuine_distance,
                      identity_weight=manifest.identity_weight)
