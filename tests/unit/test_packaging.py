"""The product's packaging: every package ships, and the product never loads the twin."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from tests.conftest import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def _source_packages() -> set[str]:
    roots = {"upgrader": REPO / "upgrader", "upgrader_stacks": REPO / "stacks" / "upgrader_stacks"}
    found = set()
    for name, root in roots.items():
        for init in root.rglob("__init__.py"):
            relative = init.parent.relative_to(root).parts
            found.add(".".join((name, *relative)))
    return found | {"upgrader.jsonnet"}


def test_every_package_under_the_source_roots_is_listed_for_the_wheel() -> None:
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    assert listed == _source_packages()


def test_the_product_wheel_needs_no_moto() -> None:
    project = PYPROJECT["project"]
    wanted = [*project["dependencies"]]
    assert not [d for d in wanted if d.lower().startswith(("moto", "werkzeug", "upgrader-twin"))]


def test_importing_the_cli_loads_neither_moto_nor_the_twin() -> None:
    code = (
        "import sys, upgrader.cli\n"
        "roots = {'moto', 'ekstwin', 'werkzeug'}\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in roots)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/"
    )
    assert out.stdout.strip() == ""


def test_importing_the_twin_loads_none_of_the_products_deciding_layers() -> None:
    """import-linter does not see a package's ``__init__`` run by a submodule import; this
    does (the twin imports the stack builders, never the planner behind the migration)."""
    code = (
        "import sys, ekstwin.daemon, ekstwin.runtime, ekstwin.world\n"
        "deciding = {'cli', 'pipeline', 'executor', 'planner', 'gates', 'runbook', 'capacity'}\n"
        "parts = [m.split('.') for m in sys.modules]\n"
        "bad = ['.'.join(p) for p in parts if p[0] == 'upgrader' and p[1:2] and p[1] in deciding]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/"
    )
    assert out.stdout.strip() == ""
