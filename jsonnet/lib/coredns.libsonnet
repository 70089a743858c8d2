// CoreDNS Deployment and kube-dns Service as EKS runs them. The Corefile ConfigMap is not
// rendered: teams customise it, and an image upgrade must not overwrite their zones.
// The Service leaves clusterIP to the existing object (10.100.0.10 or 172.20.0.10 on EKS).
local util = import 'util.libsonnet';

{
  objects(tag, region, kubernetes, replicas=2)::
    local k = util.kubeMinor(kubernetes);
    local prefix = if k >= 14 then 'kubernetes.io/' else 'beta.kubernetes.io/';
    local selector = { 'k8s-app': 'kube-dns', 'eks.amazonaws.com/component': 'coredns' };
    local health = { httpGet: { path: '/health', port: 8080, scheme: 'HTTP' } };
    [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: {
          name: 'coredns',
          namespace: 'kube-system',
          labels: selector { 'kubernetes.io/name': 'CoreDNS' },
        },
        spec: {
          replicas: replicas,
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
          selector: { matchLabels: selector },
          template: {
            metadata: { labels: selector },
            spec: {
              serviceAccountName: 'coredns',
              priorityClassName: 'system-cluster-critical',
              dnsPolicy: 'Default',
              affinity: {
                nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{
                  matchExpressions: [
                    { key: prefix + 'os', operator: 'In', values: ['linux'] },
                    { key: prefix + 'arch', operator: 'In', values: ['amd64', 'arm64'] },
                  ],
                }] } },
                podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{
                  weight: 100,
                  podAffinityTerm: {
                    labelSelector: { matchExpressions: [{ key: 'k8s-app', operator: 'In', values: ['kube-dns'] }] },
                    topologyKey: 'kubernetes.io/hostname',
                  },
                }] },
              },
              tolerations: [
                { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
                { key: 'CriticalAddonsOnly', operator: 'Exists' },
              ],
              containers: [{
                name: 'coredns',
                image: util.image(region, 'eks/coredns', tag),
                imagePullPolicy: 'IfNotPresent',
                args: ['-conf', '/etc/coredns/Corefile'],
                resources: { limits: { memory: '170Mi' }, requests: { cpu: '100m', memory: '70Mi' } },
                volumeMounts: [util.mount('config-volume', '/etc/coredns') + { readOnly: true }, util.mount('tmp', '/tmp')],
                ports: [
                  { containerPort: 53, name: 'dns', protocol: 'UDP' },
                  { containerPort: 53, name: 'dns-tcp', protocol: 'TCP' },
                  { containerPort: 9153, name: 'metrics', protocol: 'TCP' },
                ],
                securityContext: {
                  allowPrivilegeEscalation: false,
                  capabilities: { add: ['NET_BIND_SERVICE'], drop: ['all'] },
                  readOnlyRootFilesystem: true,
                },
                livenessProbe: health { initialDelaySeconds: 60, timeoutSeconds: 5, successThreshold: 1, failureThreshold: 5 },
                readinessProbe: health,
              }],
              volumes: [
                { name: 'tmp', emptyDir: {} },
                { name: 'config-volume', configMap: { name: 'coredns', items: [{ key: 'Corefile', path: 'Corefile' }] } },
              ],
            },
          },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: {
          name: 'kube-dns',
          namespace: 'kube-system',
          labels: selector { 'kubernetes.io/name': 'CoreDNS', 'kubernetes.io/cluster-service': 'true' },
          annotations: { 'prometheus.io/port': '9153', 'prometheus.io/scrape': 'true' },
        },
        spec: {
          selector: { 'k8s-app': 'kube-dns' },
          ports: [
            { name: 'dns', port: 53, protocol: 'UDP' },
            { name: 'dns-tcp', port: 53, protocol: 'TCP' },
          ],
        },
      },
    ],
}
