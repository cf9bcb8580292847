"""No slot connected with a lambda hands a value back to Qt (issue 31, item 12: "Fatal Python error:
bool_dealloc" on quit). A lambda such as ``lambda: x and do()`` returns a bool to a signal that
returns nothing; PySide marshals that result, and a bool freed once too often aborts the interpreter
at exit. Every connected lambda must be a call (whose function returns None) or an if-expression
ending in None."""

from __future__ import annotations

import ast
from pathlib import Path

GUI = Path(__file__).resolve().parents[2] / "sigverify" / "gui"


def _returns_a_value(body: ast.expr) -> bool:
    if isinstance(body, ast.BoolOp | ast.Compare | ast.UnaryOp | ast.Constant | ast.Name):
        return not (isinstance(body, ast.Constant) and body.value is None)
    if isinstance(body, ast.IfExp):
        return _returns_a_value(body.body) or _returns_a_value(body.orelse)
    return False


def test_no_connected_lambda_returns_a_bool_to_qt():
    offending = []
    for path in sorted(GUI.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "connect"
                    and node.args and isinstance(node.args[0], ast.Lambda)
                    and _returns_a_value(node.args[0].body)):
                offending.append(f"{path.name}:{node.lineno}")
    assert not offending, f"lambdas returning a value to a Qt signal: {offending}"
