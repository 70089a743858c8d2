// aws-node objects for one VPC CNI release.
//   version   CNI release tag, e.g. "v1.5.7"
//   region    the cluster's region (image registry)
//   env       the user's aws-node environment (config cni.env), name -> string
//   crd_api   apiextensions apiVersion the cluster serves (version catalog)
local awsNode = import 'lib/aws-node.libsonnet';

function(version, region, env={}, crd_api='apiextensions.k8s.io/v1')
  awsNode.objects(version, region, env, crd_api)
