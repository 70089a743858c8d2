"""Modern clusters whose self-managed group runs Amazon Linux 2 AMIs from a launch template
with bootstrap.sh user data (for the AL2 -> AL2023 tests)."""

from __future__ import annotations

from dataclasses import replace

from tests.unit.cluster_states import modern
from upgrader.catalog.versions import catalog
from upgrader.model.state import ClusterState

MEMORY = "modern-memory"  # the self-managed group's stack
CA = "Q0EgZGF0YQ=="
CIDR = "172.20.0.0/16"
AL2_TEMPLATE = """\
Parameters:
  ClusterName: {Type: String}
  BootstrapArguments: {Type: String, Default: ""}
  NodeImageIdSSMParam: {Type: "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"}
  NodeImageId: {Type: String, Default: ""}
  NodeInstanceType: {Type: String}
  NodeGroupName: {Type: String}
Conditions:
  HasNodeImageId: !Not [!Equals [!Ref NodeImageId, ""]]
Resources:
  NodeGroup:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties:
      LaunchTemplate:
        LaunchTemplateId: !Ref NodeLaunchTemplate
        Version: !GetAtt NodeLaunchTemplate.LatestVersionNumber
      MinSize: "1"
      MaxSize: "6"
  NodeLaunchTemplate:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        ImageId: !If [HasNodeImageId, !Ref NodeImageId, !Ref NodeImageIdSSMParam]
        InstanceType: !Ref NodeInstanceType
        UserData: !Base64
          Fn::Sub: |
            #!/bin/bash
            set -o xtrace
            EXTRA/etc/eks/bootstrap.sh ${ClusterName} ${BootstrapArguments}
"""
LABELS = "--kubelet-extra-args '--node-labels=team=memory --max-pods=58'"


def at(minor: str) -> dict[str, object]:
    """ClusterSpec changes for a cluster at ``minor`` (its catalog add-on versions)."""
    release = catalog().kubernetes(minor)
    return {
        "kubernetes": minor,
        "kubelet": f"v{minor}.5-eks-1234567",
        "kube_proxy": release.kube_proxy,
        "coredns": release.coredns,
        "cni": "v1.19.2",
        "ami_parameters": {},
    }


def al2(
    minor: str = "1.32", arguments: str = LABELS, extra: str = "", template: str | None = None
) -> ClusterState:
    """Modern at ``minor``; its self-managed group's stack passes ``arguments`` to
    bootstrap.sh and runs ``extra`` shell lines before it."""
    state = modern(**at(minor))
    body = (
        template
        if template is not None
        else AL2_TEMPLATE.replace("EXTRA", extra.replace("\n", "\n" + " " * 12))
    )
    stacks = tuple(
        replace(
            s,
            template_body=body,
            parameters=tuple(
                sorted(
                    {
                        **dict(s.parameters),
                        "ClusterName": state.cluster.name,
                        "BootstrapArguments": arguments,
                    }.items()
                )
            ),
        )
        if s.name == MEMORY
        else s
        for s in state.stacks
    )
    cluster = replace(state.cluster, certificate_authority=CA, service_cidr=CIDR)
    return replace(state, stacks=stacks, cluster=cluster)
