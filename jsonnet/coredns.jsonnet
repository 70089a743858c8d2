// CoreDNS for one Kubernetes minor. tag: image tag from the version catalog.
local coredns = import 'lib/coredns.libsonnet';

function(tag, region, kubernetes, replicas=2) coredns.objects(tag, region, kubernetes, replicas)
