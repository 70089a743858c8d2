// kube-proxy for one Kubernetes minor. tag: image tag from the version catalog.
local kubeProxy = import 'lib/kube-proxy.libsonnet';

function(tag, region, kubernetes) kubeProxy.objects(tag, region, kubernetes)
