// The registry of the EKS-owned images (aws-node, kube-proxy, CoreDNS) for a region;
// apply refuses a plan whose add-on images come from anywhere else.
//   region    the cluster's region
local util = import 'lib/util.libsonnet';

function(region) util.registry(region)
