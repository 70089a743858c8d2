"""An instance joins the cluster only with the user data its AMI family reads."""

from __future__ import annotations

import pytest

from ekstwin.controllers.node_join import joins

AL2, AL2023 = "amazon-linux-2", "amazon-linux-2023"
BOOTSTRAP = "#!/bin/bash\nset -o xtrace\n/etc/eks/bootstrap.sh staging --kubelet-extra-args ''\n"
NODE_CONFIG = """\
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="BOUNDARY"

--BOUNDARY
Content-Type: application/node.eks.aws

---
apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  cluster:
    name: staging
    apiServerEndpoint: https://x
    certificateAuthority: Q0E=
    cidr: 172.20.0.0/16

--BOUNDARY--
"""


@pytest.mark.parametrize(
    ("family", "user_data", "cluster", "joined"),
    [
        (AL2, BOOTSTRAP, "staging", True),
        (AL2, BOOTSTRAP, "prod", False),  # bootstrap.sh names another cluster
        (AL2, NODE_CONFIG, "staging", False),  # AL2 has no nodeadm
        (AL2023, NODE_CONFIG, "staging", True),
        (AL2023, NODE_CONFIG, "prod", False),
        (AL2023, BOOTSTRAP, "staging", False),  # AL2023 has no /etc/eks/bootstrap.sh
        (AL2023, "", "staging", True),  # no user data: the twin's own instances
    ],
)
def test_joins(family: str, user_data: str, cluster: str, joined: bool) -> None:
    assert joins(family, user_data, cluster) is joined
