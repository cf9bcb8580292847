"""The layering rules of ../shared/CONVENTIONS.md hold: Qt only in gui/, torch only in training/."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO, SHARED

CHECKER = SHARED / "tools" / "check_layers.py"


def test_check_layers_reports_no_breach():
    if not CHECKER.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{CHECKER} is missing: CI must run with ../shared beside the clone")
        pytest.skip("../shared/tools/check_layers.py not present")
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


def _imports() -> dict[str, set[str]]:
    """Which sigverify modules each sigverify module imports (at module level or inside functions)."""
    modules = {}
    for path in (REPO / "sigverify").rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges[name] |= {a.name for a in node.names if a.name in modules}
            elif isinstance(node, ast.ImportFrom) and node.module:
                base = node.module
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + [node.module])
                for alias in node.names:
                    target = f"{base}.{alias.name}"
                    if target in modules or base in modules:
                        edges[name].add(target if target in modules else base)
    return edges


def test_no_import_cycle_between_sigverify_modules():
    edges = _imports()
    cycles = []
    for start in edges:  # a path from a module's imports back to itself
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in edges[node]:
                if nxt == start:
                    cycles.append(" -> ".join(path + [start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
    assert cycles == [], cycles[:5]


def test_the_cycle_finder_finds_a_cycle(tmp_path, monkeypatch):
    """The check above can fail: two modules importing each other are reported."""
    package = tmp_path / "sigverify"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from sigverify.b import x\n")
    (package / "b.py").write_text("def f():\n    from sigverify import a\n")
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    with pytest.raises(AssertionError, match="sigverify.a -> sigverify.b -> sigverify.a"):
        test_no_import_cycle_between_sigverify_modules()


def test_no_module_is_over_450_lines():
    """Small rooms: a module that grows past this is split by concern."""
    sizes = {str(path.relative_to(REPO)): len(path.read_text(encoding="utf-8").splitlines())
             for path in (REPO / "sigverify").rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n > 450} == {}
