"""The twin's daemon imports the installed packages, whatever the working directory holds:
the README runs `upgrader demo` from a checkout, whose `upgrader/` lacks the `jsonnet`
package the wheel installs from the top-level folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from upgrader.sandbox import control

pytestmark = pytest.mark.integration


def test_a_source_tree_in_the_working_directory_does_not_shadow_the_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for package in ("upgrader", "ekstwin"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text(
            f'raise ImportError("the {package} in the working directory was imported")\n'
        )
    monkeypatch.chdir(tmp_path)
    running = control.up("dev", tmp_path / "sandbox")
    try:
        assert running.env.is_file()
    finally:
        control.down(running.directory)
