"""The layering rules of ../shared/CONVENTIONS.md hold: Qt only in gui/, torch only in training/."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO, SHARED

CHECKER = SHARED / "tools" / "check_layers.py"


@pytest.mark.skipif(not CHECKER.is_file(), reason="../shared/tools/check_layers.py not present")
def test_check_layers_reports_no_breach():
    result = subprocess.run([sys.executable, str(CHECKER)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "check_layers: 0 breach(es)" in result.stdout


def test_verification_path_never_imports_torch_or_qt():
    """Importing the CLI and running the verify path's modules leaves torch and Qt unloaded."""
    code = ("import sys, sigverify.cli, sigverify.inference.engine, sigverify.imaging.decode, "
            "sigverify.verification.decision; "
            "bad = [m for m in ('torch', 'PySide6') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
