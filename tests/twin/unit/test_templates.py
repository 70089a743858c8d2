"""Templates shipped inside the twin: verbatim upstream copies, read from the package."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

from ekstwin import templates

UPSTREAM_PATH = "amazon-eks-ami/amazon-eks-nodegroup.yaml"


def test_2019_nodegroup_is_the_upstream_file_byte_for_byte(upstream: Path) -> None:
    shipped = resources.files("ekstwin").joinpath(f"templates/{templates.AWS_2019_NODEGROUP}")
    data = shipped.read_bytes()
    assert hashlib.sha256(data).hexdigest() == templates.AWS_2019_NODEGROUP_SHA256
    assert data == (upstream / UPSTREAM_PATH).read_bytes()
    assert templates.aws_2019_nodegroup() == data.decode()


def test_provenance_note_names_repository_commit_licence_and_digest() -> None:
    note = resources.files("ekstwin").joinpath("templates/README.md").read_text()
    for needle in (
        "awslabs/amazon-eks-ami",
        "81ac166912ebbdb46c56549efe3d88331f524cad",
        "MIT-0",
        templates.AWS_2019_NODEGROUP_SHA256,
    ):
        assert needle in note


def test_2019_instance_types_come_from_the_template() -> None:
    allowed = templates.aws_2019_instance_types()
    assert "r5.xlarge" in allowed and "t3.medium" in allowed
    assert "m6i.large" not in allowed  # launched in 2021
