"""What the twin's EKS extensions (add-ons, insights) keep beside moto's cluster objects.

Their data hangs off moto's own cluster object, so it goes when the cluster goes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from moto.eks.exceptions import ResourceNotFoundException
from moto.eks.models import eks_backends

from ekstwin.aws.state import TwinState

T = TypeVar("T")


def not_found(message: str, cluster: str | None = None, addon: str | None = None) -> Exception:
    """EKS's ResourceNotFoundException."""
    return ResourceNotFoundException(
        clusterName=cluster, nodegroupName=None, fargateProfileName=None, addonName=addon,
        message=message,
    )  # fmt: skip


def cluster(state: TwinState, name: str) -> Any:
    """moto's cluster ``name``, or EKS's not-found error."""
    found = eks_backends[state.account_id][state.region].clusters.get(name)
    if found is None:
        raise not_found(f"No cluster found for name: {name}.")
    return found


def attached(owner: Any, attr: str, make: Callable[[], T]) -> T:
    """The extension data kept on ``owner`` under ``attr``, made on first use."""
    data: T | None = getattr(owner, attr, None)
    if data is None:
        data = make()
        setattr(owner, attr, data)
    return data
