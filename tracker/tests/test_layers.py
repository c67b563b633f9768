"""The layers import one way: config → tracker → envoys → programs → counties → core.

``core`` knows no record (it is understood alone, as NetBox's ``utilities`` is); a record app never uses
the top layer; counties uses no other record app and programs does not use envoys. Every import is
checked, including those inside functions.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECORD_APPS = ("counties", "programs", "envoys")
# What each package may not import (its own tests included: they use the fixtures plugin, not the top layer).
FORBIDDEN = {
    "core": {"counties", "programs", "envoys", "tracker", "config"},
    "counties": {"programs", "envoys", "tracker"},
    "programs": {"envoys", "tracker"},
    "envoys": {"tracker"},
}


def imported_packages(path: Path) -> set[str]:
    """The top-level package of every module ``path`` imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.partition(".")[0])
    return found


def modules_of(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(package):
    modules = modules_of(package)
    assert modules, f"no modules found under {package}/"
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in modules
        if imported_packages(path) & FORBIDDEN[package]
    }
    assert not wrong, f"{package} must not import {sorted(FORBIDDEN[package])}: {wrong}"


def test_config_holds_only_the_wiring():
    names = sorted(p.name for p in (ROOT / "config").iterdir() if p.name != "__pycache__")
    assert names == ["__init__.py", "settings.py", "urls.py", "wsgi.py"]


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from programs.models import Program\n    import tracker.backup\n")
    assert imported_packages(module) == {"programs", "tracker"}
