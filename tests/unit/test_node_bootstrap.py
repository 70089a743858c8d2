"""An Amazon Linux 2 user data read as its bootstrap.sh call, and its nodeadm NodeConfig."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from upgrader.model.node_bootstrap import (
    Bootstrap,
    al2023_path,
    ami_family,
    is_al2,
    node_config_user_data,
    read_bootstrap,
)

AL2_PATH = "/aws/service/eks/optimized-ami/1.32/amazon-linux-2/recommended/image_id"
SCRIPT_2019 = """\
#!/bin/bash
set -o xtrace
/etc/eks/bootstrap.sh ${ClusterName} ${BootstrapArguments}
/opt/aws/bin/cfn-signal --exit-code $? \\
         --stack  ${AWS::StackName} \\
         --resource NodeGroup  \\
         --region ${AWS::Region}
"""
PARAMS = {"ClusterName": "staging"}


def sub(text: str) -> dict[str, Any]:
    return {"Fn::Base64": {"Fn::Sub": text}}


def read(arguments: str, script: str = SCRIPT_2019, value: Any = None) -> Bootstrap:
    params = {**PARAMS, "BootstrapArguments": arguments}
    return read_bootstrap("NodeLaunchConfig", sub(script) if value is None else value, params)


def node_config(text: str) -> dict[str, Any]:
    part = text.split("Content-Type: application/node.eks.aws\n\n", 1)[1].split("\n--", 1)[0]
    loaded: dict[str, Any] = yaml.safe_load(part)
    return loaded


@pytest.mark.parametrize(
    ("family", "variant"),
    [
        ("amazon-linux-2", "x86_64/standard"),
        ("amazon-linux-2-arm64", "arm64/standard"),
        ("amazon-linux-2-gpu", "x86_64/nvidia"),
    ],
)
def test_the_al2023_path_keeps_architecture_and_variant(family: str, variant: str) -> None:
    path = AL2_PATH.replace("amazon-linux-2", family)
    assert is_al2(path) and ami_family(path) == family
    assert al2023_path(path, "1.33") == (
        f"/aws/service/eks/optimized-ami/1.33/amazon-linux-2023/{variant}/recommended/image_id"
    )


def test_an_al2023_path_is_not_al2() -> None:
    path = al2023_path(AL2_PATH, "1.33") or ""
    assert not is_al2(path) and not is_al2("ami-0123")


def test_the_2019_user_data_carries_labels_taints_max_pods_and_dns() -> None:
    boot = read(
        "--use-max-pods false --dns-cluster-ip 10.100.0.10 --kubelet-extra-args "
        "'--node-labels=team=a,tier=b --register-with-taints=gpu=true:NoSchedule --max-pods=58'"
    )
    assert boot.problems == ()
    assert boot.cluster == "${ClusterName}"  # still the stack parameter
    assert boot.kubelet_flags == (
        "--node-labels=team=a,tier=b",
        "--register-with-taints=gpu=true:NoSchedule",
    )
    assert (boot.max_pods, boot.use_max_pods, boot.cluster_dns) == (58, False, "10.100.0.10")
    assert boot.dropped == ("#!/bin/bash", "set -o xtrace")
    (signal,) = boot.shell  # the continuation lines kept as written
    assert signal.startswith("/opt/aws/bin/cfn-signal --exit-code $? \\\n")
    assert "${AWS::StackName}" in signal
    spec = node_config(node_config_user_data(boot, None))["spec"]
    assert spec["cluster"] == {
        "name": "${ClusterName}",
        "apiServerEndpoint": "${ClusterEndpoint}",
        "certificateAuthority": "${ClusterCertificateAuthority}",
        "cidr": "${ServiceCidr}",
    }
    assert spec["kubelet"] == {
        "config": {"maxPods": 58, "clusterDNS": ["10.100.0.10"]},
        "flags": ["--node-labels=team=a,tier=b", "--register-with-taints=gpu=true:NoSchedule"],
    }


def test_shell_lines_become_a_part_run_before_nodeadm() -> None:
    text = node_config_user_data(read(""), None)
    assert text.startswith("MIME-Version: 1.0\n")
    assert 'Content-Type: text/x-shellscript; charset="us-ascii"\n\n#!/bin/bash\n' in text
    assert text.index("application/node.eks.aws") < text.index("text/x-shellscript")
    assert text.endswith("--BOUNDARY--\n") and "bootstrap.sh" not in text


def test_max_pods_from_the_cni_applies_when_the_call_set_none() -> None:
    assert node_config(node_config_user_data(read(""), 110))["spec"]["kubelet"] == {
        "config": {"maxPods": 110}
    }
    assert "kubelet" not in node_config(node_config_user_data(read(""), None))["spec"]
    explicit = read("--kubelet-extra-args '--max-pods=20'")
    assert node_config(node_config_user_data(explicit, 110))["spec"]["kubelet"]["config"] == {
        "maxPods": 20
    }


def test_endpoint_and_ca_the_call_passed_are_carried() -> None:
    boot = read("--apiserver-endpoint https://x.eks --b64-cluster-ca Q0E=")
    assert (boot.endpoint, boot.certificate_authority) == ("https://x.eks", "Q0E=")
    assert any("--apiserver-endpoint" in c for c in boot.carried())


def test_a_literal_user_data_escapes_shell_variables_for_fn_sub() -> None:
    script = "#!/bin/bash\necho ${HOME}\n/etc/eks/bootstrap.sh staging\n"
    boot = read_bootstrap("LT", {"Fn::Base64": script}, {})
    assert boot.problems == () and boot.cluster == "staging"
    assert boot.shell == ("echo ${!HOME}",)


def test_fn_sub_variables_are_read() -> None:
    value = {"Fn::Base64": {"Fn::Sub": ["/etc/eks/bootstrap.sh ${Name}", {"Name": "prod"}]}}
    assert read_bootstrap("LT", value, {}).cluster == "prod"


@pytest.mark.parametrize(
    ("arguments", "extra", "flagged"),
    [
        ("--container-runtime dockerd", "", "--container-runtime dockerd"),
        ("--enable-docker-bridge true", "", "--enable-docker-bridge true"),
        ("--aws-api-retry-attempts 5", "", "--aws-api-retry-attempts 5"),
        ("--kubelet-extra-args '--network-plugin=cni'", "", "--network-plugin=cni"),
        ("", "amazon-linux-extras install -y epel\n", "amazon-linux-extras install -y epel"),
        ("", "echo 1 > /etc/eks/eni-max-pods.txt\n", "/etc/eks/eni-max-pods.txt"),
        ("", "/etc/eks/bootstrap.sh other\n", "/etc/eks/bootstrap.sh other"),
        ("", "FOO=1 /etc/eks/bootstrap.sh x && true\n", "FOO=1 /etc/eks/bootstrap.sh x"),
    ],
)
def test_what_cannot_be_carried_is_a_problem(arguments: str, extra: str, flagged: str) -> None:
    boot = read(arguments, SCRIPT_2019 + extra)
    assert any(flagged in p.text for p in boot.problems), boot.problems
    assert all(p.why for p in boot.problems)


@pytest.mark.parametrize(
    "value",
    [
        {"Fn::Base64": {"Fn::Join": ["", ["#!/bin/bash\n", "/etc/eks/bootstrap.sh x"]]}},
        None,
        {"Fn::Base64": "MIME-Version: 1.0\nContent-Type: multipart/mixed\n"},
        {"Fn::Base64": "#!/bin/bash\necho no join\n"},
    ],
)
def test_user_data_that_cannot_be_read_is_a_problem(value: Any) -> None:
    boot = read_bootstrap("NodeLaunchTemplate", value, {})
    assert boot.problems and not boot.cluster


def test_a_call_inside_control_flow_is_a_problem() -> None:
    boot = read("", "#!/bin/bash\nif true; then\n  /etc/eks/bootstrap.sh x\nfi\n")
    (problem,) = boot.problems
    assert problem.text == "/etc/eks/bootstrap.sh x" and "control flow" in problem.why
