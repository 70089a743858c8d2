"""Whether an instance's user data joins it to the cluster, as its AMI family requires.

AWS: an Amazon Linux 2 EKS AMI joins through ``/etc/eks/bootstrap.sh <cluster>`` in its
user data; an AL2023 one has no bootstrap.sh and joins only through a nodeadm
``NodeConfig`` (``application/node.eks.aws`` MIME part) whose ``spec.cluster.name`` is the
cluster. An instance without user data is the twin's own shortcut, and EKS managed node
groups bring EKS's user data: both join.
"""

from __future__ import annotations

import re

AL2023 = "amazon-linux-2023"


def _named(cluster: str) -> str:
    return rf"['\"]?{re.escape(cluster)}['\"]?"


def joins(family: str, user_data: str, cluster: str) -> bool:
    """Whether an instance of AMI ``family`` with ``user_data`` joins ``cluster``."""
    if not user_data.strip():
        return True
    if family == AL2023:
        return bool(
            re.search(r"^\s*kind:\s*NodeConfig\s*$", user_data, re.M)
            and re.search(rf"^\s*name:\s*{_named(cluster)}\s*$", user_data, re.M)
        )
    return bool(re.search(rf"/etc/eks/bootstrap\.sh\s+{_named(cluster)}(\s|$)", user_data))
