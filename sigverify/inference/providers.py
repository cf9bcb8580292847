"""Choosing the onnxruntime execution provider, and saying in plain words why CUDA is off.

onnxruntime-gpu lists CUDAExecutionProvider even on machines with no NVIDIA GPU, and asking
for it there logs a loud error and silently falls back to the CPU. So we look for the
NVIDIA driver first, and after creating the session we trust ``session.get_providers()``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from dataclasses import dataclass

import onnxruntime as ort

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
PREFERENCES = ("auto", "cuda", "cpu")


def nvidia_driver_present() -> bool:
    """True when the NVIDIA driver library can be loaded (a GPU is usable at all)."""
    name = ctypes.util.find_library("cuda") or "libcuda.so.1"
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class ProviderPlan:
    """Which providers to ask for, and a note for the user if CUDA will not be tried."""

    requested: list[str]
    note: str


def plan_providers(preference: str = "auto") -> ProviderPlan:
    """CUDA first when onnxruntime offers it and a driver is there, else CPU, with the reason."""
    if preference not in PREFERENCES:
        raise ValueError(f"provider preference must be one of {PREFERENCES}, not {preference!r}")
    if preference == "cpu":
        return ProviderPlan([CPU], "CPU chosen in the settings")
    if CUDA not in ort.get_available_providers():
        return ProviderPlan([CPU], "this onnxruntime build has no CUDA support; running on the CPU")
    if not nvidia_driver_present():
        return ProviderPlan([CPU], "no NVIDIA GPU driver found on this computer; running on the CPU")
    return ProviderPlan([CUDA, CPU], "")


def explain_active(plan: ProviderPlan, active: list[str]) -> str:
    """One line for the status bar: the provider in use and, if CUDA was wanted but is off, why."""
    if active and active[0] == CUDA:
        return "CUDA (GPU)"
    if CUDA in plan.requested:
        return "CPU — the GPU could not be used (CUDA 12 / cuDNN 9 libraries missing or GPU unavailable)"
    return f"CPU — {plan.note}" if plan.note else "CPU"
