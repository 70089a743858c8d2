"""The twin's own ipamd (aws/amazon-vpc-cni-k8s L-IPAMD), one per node, per CNI release.

It reconciles each node's warm pool from the release's behaviour (``release``), the limits
table compiled into that release (``limits``, package data) and aws-node's env (``config``),
really allocating ENIs, secondary IPs and /28 prefixes in the EC2 twin (``awsutils``). It
never uses the product's capacity engine: the twin must be free to disagree with it.
"""

from ekstwin.controllers.ipamd.config import IpamdConfig, config_of_pod
from ekstwin.controllers.ipamd.manager import NO_IP_MESSAGE, Ipamd
from ekstwin.controllers.ipamd.node import NodePool

__all__ = ["NO_IP_MESSAGE", "Ipamd", "IpamdConfig", "NodePool", "config_of_pod"]
