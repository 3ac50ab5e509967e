"""Imports run one way: the api's infrastructure modules (the package's top level) never
import a feature (a subpackage). Only the composition roots, which wire features to the
infrastructure, may: app.py (create_app) and the entry points."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "api" / "shortener"
COMPOSITION_ROOTS = {"app.py", "main.py", "__main__.py", "__init__.py"}
FEATURES = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").is_file()}


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


def test_the_package_has_features_to_guard() -> None:
    assert {"links", "clicks", "redirects"} <= FEATURES


def test_no_infrastructure_module_imports_a_feature() -> None:
    upward = {
        f"{path.name} -> {module}"
        for path in sorted(PACKAGE.glob("*.py"))
        if path.name not in COMPOSITION_ROOTS
        for module in imported_modules(path)
        if module.split(".")[:2][-1] in FEATURES and module.startswith("shortener.")
    }
    assert upward == set()
