"""Logistic calibration: distance → probability that the signature is genuine."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LogisticCalibration:
    """score = 1 / (1 + exp(slope * (distance - midpoint))); slope > 0, score in [0, 1]."""

    slope: float
    midpoint: float

    def score(self, distance):
        z = np.clip(self.slope * (np.asarray(distance, dtype=np.float64) - self.midpoint), -50, 50)
        return 1.0 / (1.0 + np.exp(z))

    def to_dict(self) -> dict:
        return {"kind": "logistic", "slope": self.slope, "midpoint": self.midpoint}

    @classmethod
    def from_dict(cls, data: dict) -> "LogisticCalibration":
        if data.get("kind", "logistic") != "logistic":
            raise ValueError(f"unknown calibration kind {data.get('kind')!r}")
        return cls(slope=float(data["slope"]), midpoint=float(data["midpoint"]))


def fit_logistic(genuine, forged, iterations: int = 100, ridge: float = 1e-3) -> LogisticCalibration:
    """Fit slope and midpoint by Newton's method on the log-loss, classes weighted equally."""
    genuine = np.asarray(genuine, dtype=np.float64).ravel()
    forged = np.asarray(forged, dtype=np.float64).ravel()
    x = np.concatenate([genuine, forged])
    y = np.concatenate([np.ones(genuine.size), np.zeros(forged.size)])
    weights = np.concatenate([np.full(genuine.size, 0.5 / genuine.size), np.full(forged.size, 0.5 / forged.size)])
    scale = x.std() or 1.0
    design = np.stack([(x - x.mean()) / scale, np.ones_like(x)], axis=1)
    beta = np.zeros(2)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ beta, -50, 50)))
        gradient = design.T @ (weights * (p - y)) + ridge * beta
        hessian = (design * (weights * p * (1 - p))[:, None]).T @ design + ridge * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    # p(genuine) = sigmoid(b0 * (x - mean) / scale + b1) = 1 / (1 + exp(slope * (x - midpoint)))
    slope = -beta[0] / scale
    if slope <= 0:
        raise ValueError("calibration failed: genuine distances are not smaller than forged ones")
    midpoint = x.mean() + beta[1] * scale / beta[0] * -1.0
    return LogisticCalibration(slope=float(slope), midpoint=float(midpoint))
