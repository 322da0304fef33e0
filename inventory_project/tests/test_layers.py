"""The import graph's layers (pyproject.toml, ``[tool.importlinter]``) hold, and a back-arrow
breaks them: the check `make check` runs can fail, and covers every package of the project."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
CONFIG = tomllib.loads((BASE_DIR / "pyproject.toml").read_text())["tool"]["importlinter"]
# Besides the benchmark (a tool beside the project, not part of it).
PACKAGES = sorted(
    path.parent.name for path in BASE_DIR.glob("*/__init__.py") if path.parent.name != "bench"
)


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_package_is_in_a_layer():
    assert sorted(CONFIG["root_packages"]) == PACKAGES
    (layers,) = [c["layers"] for c in CONFIG["contracts"] if c["type"] == "layers"]
    assert sorted(layers) == PACKAGES


def test_only_the_tests_cross_the_layers():
    (contract,) = [c for c in CONFIG["contracts"] if c["type"] == "layers"]
    assert contract["ignore_imports"] == ["*.tests.** -> **", "*.*.tests.** -> **"]


def test_the_project_keeps_its_layers():
    result = _lint_imports(BASE_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 1 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "imports", "message"),
    [
        ("core/back_arrow.py", "import catalog.models", "core is not allowed to import catalog"),
        (
            "catalog/back_arrow.py",
            "import orders.models",
            "catalog is not allowed to import orders",
        ),
        (
            "stock/back_arrow.py",
            "import reports.selectors",
            "stock is not allowed to import reports",
        ),
        (
            "orders/back_arrow.py",
            "import reports.selectors",
            "orders is not allowed to import reports",
        ),
        # The catalog reaches the stock only through its port (catalog/stock_port.py).
        (
            "catalog/selectors_extra.py",
            "import stock.selectors",
            "catalog is not allowed to import stock",
        ),
    ],
)
def test_a_back_arrow_breaks_the_layers(tmp_path, module, imports, message):
    copy = tmp_path / "project"
    shutil.copytree(
        BASE_DIR,
        copy,
        ignore=shutil.ignore_patterns(".venv", ".git", "*_cache", "__pycache__", "test-artifacts"),
    )
    (copy / module).write_text(f"{imports}\n")
    result = _lint_imports(copy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stdout
    assert "Contracts: 0 kept, 1 broken." in result.stdout
