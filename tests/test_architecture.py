"""The core never imports the front ends (CLI, web) or the report renderer."""
import ast
from pathlib import Path

CORE = ["cases", "engine", "errors", "evidence", "explain", "expr", "grading", "lists", "methods", "model",
        "normalize", "periods", "ranking", "resources", "results", "rounds", "run", "schemacheck",
        "schemagen", "standards", "yamlsafe"]
FORBIDDEN = ("evaluator.cli", "evaluator.reports", "evaluator.web", "typer", "rich", "jinja2", "weasyprint",
             "fastapi", "sqlalchemy")
PKG = Path(__file__).resolve().parent.parent / "evaluator"


def imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level:
                mod = "evaluator." + mod if mod else "evaluator"
                if not node.module:
                    yield from ("evaluator." + a.name for a in node.names)
            yield mod


def test_core_modules_do_not_import_front_ends():
    bad = []
    for name in CORE:
        path = PKG / f"{name}.py"
        if not path.exists():
            continue
        for mod in imports(path):
            if any(mod == f or mod.startswith(f + ".") for f in FORBIDDEN):
                bad.append(f"{name}.py imports {mod}")
    assert bad == []


def test_no_eval_or_exec_in_the_package():
    for path in PKG.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in ("eval", "exec"), f"{path}:{node.lineno}"
