"""The package layout is the pipeline: each stage imports only the stages before it.

    vocabulary (errors, terms, model, resources)
      -> standard (reading and compiling standards)
      -> intake (round, registry, evidence)
      -> scoring (engine, grading, ranking, lists, results)
      -> reports, demo
      -> store (rounds in a database: evaluator/store)
      -> cli (front ends)

The core (everything up to scoring) never imports a front end or the report renderer's
libraries.
"""
import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "evaluator"
LAYERS = {
    "errors": 0, "terms": 0, "model": 0, "resources": 0, "__init__": 0, "__main__": 9,
    "standard": 1, "intake": 2, "scoring": 3, "reports": 4, "demo": 4, "store": 5, "cli": 9, "cli_round": 9, "cli_authoring_doc": 9,
}
CORE_LAYER = 3
FORBIDDEN_IN_CORE = ("typer", "rich", "jinja2", "weasyprint", "fastapi", "sqlalchemy", "openpyxl.styles")


def stage(module: str) -> str:
    """'evaluator.scoring.run' -> 'scoring'; 'evaluator.terms' -> 'terms'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    return ".".join(rel.parts)


def imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
                if not node.module:
                    yield from (f"{mod}.{a.name}" for a in node.names)
                    continue
                yield mod
            else:
                yield node.module or ""


def test_every_module_belongs_to_a_stage():
    unknown = sorted({stage(module_name(p)) for p in PKG.rglob("*.py")} - set(LAYERS))
    assert unknown == [], "add new stages to LAYERS in this test (and to the docstring's order)"


def test_stages_import_only_earlier_stages():
    bad = []
    for path in PKG.rglob("*.py"):
        me = stage(module_name(path))
        for mod in imports(path):
            if mod.split(".")[0] != "evaluator":
                continue
            other = stage(mod)
            if other in LAYERS and LAYERS[other] > LAYERS[me]:
                bad.append(f"{module_name(path)} ({me}) imports {mod} ({other})")
    assert bad == []


def test_core_does_not_import_front_end_libraries():
    bad = []
    for path in PKG.rglob("*.py"):
        me = stage(module_name(path))
        if LAYERS[me] > CORE_LAYER:
            continue
        for mod in imports(path):
            if any(mod == f or mod.startswith(f + ".") for f in FORBIDDEN_IN_CORE):
                bad.append(f"{module_name(path)} imports {mod}")
    assert bad == []


def test_no_eval_or_exec_in_the_package():
    for path in PKG.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in ("eval", "exec"), f"{path}:{node.lineno}"
