"""``upgrader gates`` lists every gate with its meaning; ``docs/gates.md`` is its Markdown
and stays in step with the rules (regenerate: ``upgrader gates --format markdown``)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO
from upgrader.gates import document, rules


def _upgrader(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "upgrader", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_gates_json_lists_every_rule_with_its_description() -> None:
    done = _upgrader("gates", "--format", "json")
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)["gates"]
    assert [g["id"] for g in listed] == [r.id for r in rules()]
    assert {g["id"] for g in listed} >= {
        "API001", "CAP001", "CAP002", "CAP003", "CAP004", "CAP005",
        "PDB001", "POD001", "STK001", "VER001", "VER002",
    }  # fmt: skip
    for gate in listed:
        assert gate["severity"] in {"blocking", "advisory"}
        assert gate["description"] and gate["title"] and gate["docs"].startswith("docs/gates.md#")


def test_gates_text_and_plan_help_take_the_rules_words() -> None:
    text = _upgrader("gates").stdout
    helped = " ".join(_upgrader("plan", "--help").stdout.split())
    for rule in rules():
        assert f"{rule.id}  {rule.severity}" in text
        assert " ".join(rule.description.split()[:6]) in " ".join(text.split())
        assert rule.id in helped


def test_committed_gates_doc_is_current() -> None:
    committed = (REPO / "docs" / "gates.md").read_text()
    assert committed == document.markdown(rules()), (
        "docs/gates.md is stale: upgrader gates --format markdown > docs/gates.md"
    )
