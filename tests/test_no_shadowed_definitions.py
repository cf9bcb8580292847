"""No module defines a top-level function or class twice: the later one silently replaces the
earlier for every caller (a second preprocess.kept_ink with another signature broke enrolment)."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(p for folder in ("sigverify", "bench") for p in (ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_each_top_level_name_is_defined_once(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = Counter(node.name for node in tree.body
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))
    twice = sorted(name for name, count in names.items() if count > 1)
    assert not twice, f"{path.relative_to(ROOT)} defines {', '.join(twice)} more than once"
