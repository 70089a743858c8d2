// kube-proxy DaemonSet as EKS runs it (EKS user guide, "Updating the kube-proxy add-on").
// Only the DaemonSet is rendered: its kubeconfig and config ConfigMaps hold the cluster's
// endpoint and are created by EKS, so an upgrade must not replace them.
local util = import 'util.libsonnet';

{
  // `tag` comes from the version catalog for `kubernetes` ("1.13").
  objects(tag, region, kubernetes)::
    local k = util.kubeMinor(kubernetes);
    // node labels kubernetes.io/os|arch are GA from 1.14; beta.kubernetes.io/* before
    local prefix = if k >= 14 then 'kubernetes.io/' else 'beta.kubernetes.io/';
    local labels = { 'k8s-app': 'kube-proxy', 'eks.amazonaws.com/component': 'kube-proxy' };
    [{
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'kube-proxy', namespace: 'kube-system', labels: labels },
      spec: {
        selector: { matchLabels: { 'k8s-app': 'kube-proxy' } },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%' } },
        template: {
          metadata: { labels: { 'k8s-app': 'kube-proxy' } },
          spec: {
            affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{
              matchExpressions: [
                { key: prefix + 'os', operator: 'In', values: ['linux'] },
                { key: prefix + 'arch', operator: 'In', values: ['amd64', 'arm64'] },
                { key: 'eks.amazonaws.com/compute-type', operator: 'NotIn', values: ['fargate'] },
              ],
            }] } } },
            hostNetwork: true,
            priorityClassName: 'system-node-critical',
            serviceAccountName: 'kube-proxy',
            tolerations: [{ operator: 'Exists' }],
            containers: [{
              name: 'kube-proxy',
              image: util.image(region, 'eks/kube-proxy', tag),
              command: [
                'kube-proxy',
                '--v=2',
                '--config=/var/lib/kube-proxy-config/config',
                '--hostname-override=$(NODE_NAME)',
              ],
              env: [util.field('NODE_NAME', 'spec.nodeName', 'v1')],
              resources: { requests: { cpu: '100m' } },
              securityContext: { privileged: true },
              volumeMounts: [
                util.mount('varlog', '/var/log'),
                util.mount('xtables-lock', '/run/xtables.lock'),
                util.mount('lib-modules', '/lib/modules') + { readOnly: true },
                util.mount('kubeconfig', '/var/lib/kube-proxy/'),
                util.mount('config', '/var/lib/kube-proxy-config/'),
              ],
            }],
            volumes: [
              util.hostPath('varlog', '/var/log'),
              util.hostPath('xtables-lock', '/run/xtables.lock', 'FileOrCreate'),
              util.hostPath('lib-modules', '/lib/modules'),
              { name: 'kubeconfig', configMap: { name: 'kube-proxy' } },
              { name: 'config', configMap: { name: 'kube-proxy-config' } },
            ],
          },
        },
      },
    }],
}
