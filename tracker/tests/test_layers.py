"""The layers import one way: config → tracker → envoys → programs → counties → core.

``core`` knows no record (it is understood alone, as NetBox's ``utilities`` is); a record app never uses
the top layer; counties uses no other record app and programs does not use envoys. Every import is
checked, including those inside functions. And no test module imports another: what tests share lives
in the fixtures plugin, ``core.testing``.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
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


# ---------------------------------------------------------------------------
# No test module imports another


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """The full name of every module ``path`` imports, relative imports resolved (``from x import y``
    counts ``x`` and ``x.y``, since ``y`` may be a module)."""
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def is_test_module(name: str) -> bool:
    parts = name.split(".")
    return "tests" in parts or "conftest" in parts or any(part.startswith("test_") for part in parts)


PACKAGES = ("config", "core", "tracker", "counties", "programs", "envoys")


def modules_of_tests() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("tests/*.py"))


def test_no_test_module_imports_another():
    modules = modules_of_tests()
    assert len(modules) > 20, modules
    wrong = {
        str(path.relative_to(ROOT)): sorted(name for name in imported_modules(path) if is_test_module(name))
        for path in [*modules, ROOT / "conftest.py"]
    }
    wrong = {path: names for path, names in wrong.items() if names}
    assert not wrong, f"test modules import helpers from core.testing, never from each other: {wrong}"


def test_the_check_sees_every_way_of_importing_a_test_module(tmp_path):
    folder = tmp_path / "tracker" / "tests"
    folder.mkdir(parents=True)
    module = folder / "test_m.py"
    module.write_text(
        "from tracker.tests.test_settings import start_django\n"
        "from tracker.tests import test_faults\n"
        "from .test_compose import compose\n"
        "from . import test_export\n"
        "import programs.tests.test_models\n"
        "from core.testing.config import free_port\n"
    )
    assert {name for name in imported_modules(module, root=tmp_path) if is_test_module(name)} == {
        "tracker.tests", "tracker.tests.test_settings", "tracker.tests.test_settings.start_django",
        "tracker.tests.test_faults", "tracker.tests.test_compose", "tracker.tests.test_compose.compose",
        "tracker.tests.test_export", "programs.tests.test_models",
    }
