"""Every error the user can see: defined in its layer's one ``errors`` module, with an exit
code from the documented table (DESIGN §3), rendered as subject, problem and fix."""

from __future__ import annotations

import importlib
import pkgutil

import upgrader
from upgrader.errors import ExitCode, UpgraderError

ERROR_MODULES = {"upgrader.errors", "upgrader.adapters.errors", "upgrader.executor.errors"}


def _all_subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _all_subclasses(sub)
    return found


def _errors() -> set[type]:
    for module in pkgutil.walk_packages(upgrader.__path__, "upgrader."):
        if not module.name.endswith("__main__"):  # that one runs the CLI
            importlib.import_module(module.name)
    return {c for c in _all_subclasses(UpgraderError) if c.__module__.startswith("upgrader.")}


def test_every_error_lives_in_its_layers_errors_module() -> None:
    errors = _errors()
    assert len(errors) >= 10
    misplaced = sorted(
        f"{c.__module__}.{c.__qualname__}" for c in errors if c.__module__ not in ERROR_MODULES
    )
    assert not misplaced


def test_every_error_has_a_documented_exit_code() -> None:
    documented = set(ExitCode) - {ExitCode.OK}
    for cls in _errors():
        assert cls.exit_code in documented, cls


def test_an_error_renders_subject_problem_and_fix() -> None:
    text = UpgraderError("stack staging-eks", "is UPDATE_IN_PROGRESS", "wait for it").render()
    assert text == "error: stack staging-eks: is UPDATE_IN_PROGRESS\n  fix: wait for it"
