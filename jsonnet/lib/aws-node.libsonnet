// aws-node (Amazon VPC CNI) in the shape of each release's official manifest,
// aws/amazon-vpc-cni-k8s config/<minor>/aws-k8s-cni.yaml.
//
// Shapes by minor ("era"):
//   v1.3, v1.4, v1.5, v1.6   one hand-written manifest each (checked against the official files)
//   v1.7 .. v1.13            the v1.7 manifest (checked: v1.7.10); later minors add the env
//                            variables they introduced (gated below by the minor)
//   v1.14 ..                 the Helm-chart manifest of config/master (checked: v1.23.1), with the
//                            network policy agent from v1.14
// Fields of the master manifest whose first release is not known are gated at v1.23, the release
// they were checked in; v1.8-v1.22 are therefore interpolated, not copied.
local util = import 'util.libsonnet';
local eniconfig = import 'eniconfig-crd.libsonnet';

local name = 'aws-node';
local namespace = 'kube-system';
local when = util.when;
local v = util.value;

// Network policy agent tag shipped with each CNI minor (config/master). Only v1.23 -> v1.4.2
// is checked; earlier pairings follow the release notes' "network-policy-agent" bumps.
local policyAgentTags = {
  '14': 'v1.0.2',
  '15': 'v1.0.5',
  '16': 'v1.0.7',
  '17': 'v1.0.8',
  '18': 'v1.1.2',
  '19': 'v1.1.5',
  '20': 'v1.2.1',
  '21': 'v1.2.5',
  '22': 'v1.3.1',
  '23': 'v1.4.2',
};

local legacyRules = [
  { apiGroups: ['crd.k8s.amazonaws.com'], resources: ['*'], verbs: ['*'] },
  { apiGroups: [''], resources: ['pods', 'nodes', 'namespaces'], verbs: ['list', 'watch', 'get'] },
  { apiGroups: ['extensions'], resources: ['daemonsets'], verbs: ['list', 'watch'] },
];

local v17Rules(m) = [
  { apiGroups: ['crd.k8s.amazonaws.com'], resources: ['eniconfigs'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['pods', 'namespaces'], verbs: ['list', 'watch', 'get'] },
  { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch', 'get', 'update'] },
  { apiGroups: ['extensions'], resources: ['*'], verbs: ['list', 'watch'] },
] + when(m >= 10, [{ apiGroups: [''], resources: ['events'], verbs: ['create', 'patch', 'list'] }]);

local chartRules(m) = [
  { apiGroups: ['crd.k8s.amazonaws.com'], resources: ['eniconfigs'], verbs: ['list', 'watch', 'get'] },
  { apiGroups: [''], resources: ['namespaces'], verbs: ['list', 'watch', 'get'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch', 'get'] },
  { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch', 'get'] },
  {
    apiGroups: if m >= 23 then ['', 'events.k8s.io'] else [''],
    resources: ['events'],
    verbs: ['create', 'patch', 'list'],
  },
  {
    apiGroups: ['networking.k8s.aws'],
    resources: ['policyendpoints'] + when(m >= 23, ['clusterpolicyendpoints']),
    verbs: ['get', 'list', 'watch'],
  },
  {
    apiGroups: ['networking.k8s.aws'],
    resources: ['policyendpoints/status'] + when(m >= 23, ['clusterpolicyendpoints/status']),
    verbs: ['get'],
  },
] + when(m >= 23, [
  { apiGroups: ['vpcresources.k8s.aws'], resources: ['cninodes'], verbs: ['get', 'list', 'watch', 'patch'] },
  { nonResourceURLs: ['/apis/networking.k8s.aws', '/apis/networking.k8s.aws/*'], verbs: ['get'] },
]);

local chartLabels(tag) = {
  'app.kubernetes.io/name': name,
  'app.kubernetes.io/instance': 'aws-vpc-cni',
  'k8s-app': name,
  'app.kubernetes.io/version': tag,
};

local nodeAffinity(terms) = {
  nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } },
};
local linuxTerm(prefix, arches, notOn) = {
  matchExpressions: [
    { key: prefix + 'os', operator: 'In', values: ['linux'] },
    { key: prefix + 'arch', operator: 'In', values: arches },
    { key: 'eks.amazonaws.com/compute-type', operator: 'NotIn', values: notOn },
  ],
};

local legacyVolumes(m) = [
  util.hostPath('cni-bin-dir', '/opt/cni/bin'),
  util.hostPath('cni-net-dir', '/etc/cni/net.d'),
  util.hostPath('log-dir', '/var/log'),
  util.hostPath('dockersock', '/var/run/docker.sock'),
] + when(m >= 5, [util.hostPath('dockershim', '/var/run/dockershim.sock')]);

local legacyMounts(m) = [
  util.mount('cni-bin-dir', '/host/opt/cni/bin'),
  util.mount('cni-net-dir', '/host/etc/cni/net.d'),
  util.mount('log-dir', '/host/var/log'),
  util.mount('dockersock', '/var/run/docker.sock'),
] + when(m >= 5, [util.mount('dockershim', '/var/run/dockershim.sock')]);

local legacyEnv(m) =
  if m <= 4 then [
    v('AWS_VPC_K8S_CNI_LOGLEVEL', 'DEBUG'),
    util.field('MY_NODE_NAME', 'spec.nodeName'),
    util.field('WATCH_NAMESPACE', 'metadata.namespace'),
  ] else [
    v('AWS_VPC_K8S_CNI_LOGLEVEL', 'DEBUG'),
    v('AWS_VPC_K8S_CNI_VETHPREFIX', 'eni'),
    v('AWS_VPC_ENI_MTU', '9001'),
    util.field('MY_NODE_NAME', 'spec.nodeName'),
  ];

// v1.3 - v1.6: one privileged container, docker socket, no init container.
local legacyPodSpec(m, image, env) = {
  serviceAccountName: name,
  hostNetwork: true,
  tolerations: [{ operator: 'Exists' }],
  [if m >= 4 then 'priorityClassName']: 'system-node-critical',
  [if m >= 5 then 'affinity']: nodeAffinity(
    [linuxTerm('beta.kubernetes.io/', ['amd64'], ['fargate'])]
    + when(m >= 6, [linuxTerm('kubernetes.io/', ['amd64'], ['fargate'])])
  ),
  containers: [{
    name: name,
    image: image,
    [if m == 4 || m == 6 then 'imagePullPolicy']: 'Always',
    ports: [{ containerPort: 61678, name: 'metrics' }],
    env: env,
    resources: { requests: { cpu: '10m' } },
    securityContext: { privileged: true },
    volumeMounts: legacyMounts(m),
    [if m >= 6 then 'readinessProbe']: { exec: { command: ['/app/grpc-health-probe', '-addr=:50051'] }, initialDelaySeconds: 35 },
    [if m >= 6 then 'livenessProbe']: { exec: { command: ['/app/grpc-health-probe', '-addr=:50051'] }, initialDelaySeconds: 35 },
  }],
  volumes: legacyVolumes(m),
};

local v17Env(m) = [
  v('ADDITIONAL_ENI_TAGS', '{}'),
  v('AWS_VPC_CNI_NODE_PORT_SUPPORT', 'true'),
  v('AWS_VPC_ENI_MTU', '9001'),
] + when(m < 12, [v('AWS_VPC_K8S_CNI_CONFIGURE_RPFILTER', 'false')]) + [
  v('AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG', 'false'),
  v('AWS_VPC_K8S_CNI_EXTERNALSNAT', 'false'),
  v('AWS_VPC_K8S_CNI_LOGLEVEL', 'DEBUG'),
  v('AWS_VPC_K8S_CNI_LOG_FILE', '/host/var/log/aws-routed-eni/ipamd.log'),
  v('AWS_VPC_K8S_CNI_RANDOMIZESNAT', 'prng'),
  v('AWS_VPC_K8S_CNI_VETHPREFIX', 'eni'),
  v('AWS_VPC_K8S_PLUGIN_LOG_FILE', '/var/log/aws-routed-eni/plugin.log'),
  v('AWS_VPC_K8S_PLUGIN_LOG_LEVEL', 'DEBUG'),
  v('DISABLE_INTROSPECTION', 'false'),
  v('DISABLE_METRICS', 'false'),
] + when(m >= 9, [v('DISABLE_NETWORK_RESOURCE_PROVISIONING', 'false')])
  + when(m >= 10, [v('ENABLE_IPv4', 'true'), v('ENABLE_IPv6', 'false')])
  + [v('ENABLE_POD_ENI', 'false')]
  + when(m >= 9, [v('ENABLE_PREFIX_DELEGATION', 'false')])
  + [util.field('MY_NODE_NAME', 'spec.nodeName'), v('WARM_ENI_TARGET', '1')]
  + when(m >= 9, [v('WARM_PREFIX_TARGET', '1')]);

// v1.7 - v1.13: init container, ipamd checkpoint dir, NET_ADMIN instead of privileged.
// The CRI socket mount goes with v1.12 (CRI dependency removed).
local v17PodSpec(m, region, tag, env) = {
  affinity: nodeAffinity([
    linuxTerm('beta.kubernetes.io/', ['amd64', 'arm64'], ['fargate']),
    linuxTerm('kubernetes.io/', ['amd64', 'arm64'], ['fargate']),
  ]),
  containers: [{
    name: name,
    image: util.image(region, 'amazon-k8s-cni', tag),
    env: env,
    livenessProbe: { exec: { command: ['/app/grpc-health-probe', '-addr=:50051'] }, initialDelaySeconds: 60 },
    readinessProbe: { exec: { command: ['/app/grpc-health-probe', '-addr=:50051'] }, initialDelaySeconds: 1 },
    ports: [{ containerPort: 61678, name: 'metrics' }],
    resources: { requests: { cpu: '10m' } },
    securityContext: { capabilities: { add: ['NET_ADMIN'] } },
    volumeMounts: [
      util.mount('cni-bin-dir', '/host/opt/cni/bin'),
      util.mount('cni-net-dir', '/host/etc/cni/net.d'),
      util.mount('log-dir', '/host/var/log/aws-routed-eni'),
      util.mount('run-dir', '/var/run/aws-node'),
    ] + when(m < 12, [util.mount('dockershim', '/var/run/dockershim.sock')])
    + [util.mount('xtables-lock', '/run/xtables.lock')],
  }],
  hostNetwork: true,
  initContainers: [{
    name: 'aws-vpc-cni-init',
    image: util.image(region, 'amazon-k8s-cni-init', tag),
    env: [v('DISABLE_TCP_EARLY_DEMUX', 'false')] + when(m >= 10, [v('ENABLE_IPv6', 'false')]),
    securityContext: { privileged: true },
    volumeMounts: [util.mount('cni-bin-dir', '/host/opt/cni/bin')],
  }],
  priorityClassName: 'system-node-critical',
  serviceAccountName: name,
  terminationGracePeriodSeconds: 10,
  tolerations: [{ operator: 'Exists' }],
  volumes: [
    util.hostPath('cni-bin-dir', '/opt/cni/bin'),
    util.hostPath('cni-net-dir', '/etc/cni/net.d'),
  ] + when(m < 12, [util.hostPath('dockershim', '/var/run/dockershim.sock')]) + [
    util.hostPath('xtables-lock', '/run/xtables.lock'),
    util.hostPath('log-dir', '/var/log/aws-routed-eni', 'DirectoryOrCreate'),
    util.hostPath('run-dir', '/var/run/aws-node', 'DirectoryOrCreate'),
  ],
};

local chartEnv(m, tag) = [
  v('ADDITIONAL_ENI_TAGS', '{}'),
  v('AWS_VPC_CNI_NODE_PORT_SUPPORT', 'true'),
  v('AWS_VPC_ENI_MTU', '9001'),
  v('AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG', 'false'),
  v('AWS_VPC_K8S_CNI_EXTERNALSNAT', 'false'),
  v('AWS_VPC_K8S_CNI_LOGLEVEL', 'DEBUG'),
  v('AWS_VPC_K8S_CNI_LOG_FILE', '/host/var/log/aws-routed-eni/ipamd.log'),
  v('AWS_VPC_K8S_CNI_RANDOMIZESNAT', 'prng'),
  v('AWS_VPC_K8S_CNI_VETHPREFIX', 'eni'),
  v('AWS_VPC_K8S_PLUGIN_LOG_FILE', '/var/log/aws-routed-eni/plugin.log'),
  v('AWS_VPC_K8S_PLUGIN_LOG_LEVEL', 'DEBUG'),
  v('DISABLE_INTROSPECTION', 'false'),
  v('DISABLE_METRICS', 'false'),
  v('DISABLE_NETWORK_RESOURCE_PROVISIONING', 'false'),
] + when(m >= 23, [v('ENABLE_IMDS_ONLY_MODE', 'false')]) + [
  v('ENABLE_IPv4', 'true'),
  v('ENABLE_IPv6', 'false'),
] + when(m >= 23, [v('ENABLE_MULTI_NIC', 'false')]) + [
  v('ENABLE_POD_ENI', 'false'),
  v('ENABLE_PREFIX_DELEGATION', 'false'),
] + when(m >= 18, [v('ENABLE_SUBNET_DISCOVERY', 'true')])
  + when(m >= 17, [v('NETWORK_POLICY_ENFORCING_MODE', 'standard')]) + [
  v('VPC_CNI_VERSION', tag),
  v('WARM_ENI_TARGET', '1'),
  v('WARM_PREFIX_TARGET', '1'),
  util.field('MY_NODE_NAME', 'spec.nodeName', 'v1'),
  util.field('MY_POD_NAME', 'metadata.name', 'v1'),
];

local probe(m, delay) = {
  exec: {
    command: ['/app/grpc-health-probe']
             + (if m >= 23 then ['-addr=unix:///var/run/aws-node/ipamd.sock'] else ['-addr=:50051'])
             + ['-connect-timeout=5s', '-rpc-timeout=5s'],
  },
  initialDelaySeconds: delay,
  timeoutSeconds: 10,
};

local policyAgent(m, region) = {
  name: 'aws-eks-nodeagent',
  image: util.image(region, 'amazon/aws-network-policy-agent', policyAgentTags[std.toString(m)]),
  imagePullPolicy: 'IfNotPresent',
  ports: [{ containerPort: 8162, name: 'agentmetrics' }],
  env: [util.field('MY_NODE_NAME', 'spec.nodeName', 'v1')],
  args: [
    '--enable-ipv6=false',
    '--enable-network-policy=false',
    '--enable-cloudwatch-logs=false',
    '--enable-policy-event-logs=false',
    '--log-file=/var/log/aws-routed-eni/network-policy-agent.log',
    '--metrics-bind-addr=:8162',
    '--health-probe-bind-addr=:8163',
    '--conntrack-cache-cleanup-period=300',
    '--conntrack-cache-table-size=524288',
    '--log-level=debug',
  ],
  resources: { requests: { cpu: '25m' } },
  securityContext: { capabilities: { add: ['NET_ADMIN'] }, privileged: true },
  volumeMounts: [
    util.mount('cni-bin-dir', '/host/opt/cni/bin'),
    util.mount('bpf-pin-path', '/sys/fs/bpf'),
    util.mount('log-dir', '/var/log/aws-routed-eni'),
    util.mount('run-dir', '/var/run/aws-node'),
  ],
};

// v1.14 and later: the Helm chart's rendering (config/master).
local chartPodSpec(m, region, tag, env) = {
  priorityClassName: 'system-node-critical',
  serviceAccountName: name,
  hostNetwork: true,
  initContainers: [{
    name: 'aws-vpc-cni-init',
    image: util.image(region, 'amazon-k8s-cni-init', tag),
    imagePullPolicy: 'IfNotPresent',
    env: [v('DISABLE_TCP_EARLY_DEMUX', 'false'), v('ENABLE_IPv6', 'false')],
    securityContext: { privileged: true },
    resources: { requests: { cpu: '25m' } },
    volumeMounts: [util.mount('cni-bin-dir', '/host/opt/cni/bin')],
  }],
  terminationGracePeriodSeconds: 10,
  tolerations: [{ operator: 'Exists' }],
  securityContext: {},
  containers: [{
    name: name,
    image: util.image(region, 'amazon-k8s-cni', tag),
    imagePullPolicy: 'IfNotPresent',
    ports: [{ containerPort: 61678, name: 'metrics' }],
    livenessProbe: probe(m, 60),
    readinessProbe: probe(m, 1),
    env: env,
    resources: { requests: { cpu: '25m' } },
    securityContext: { capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } },
    volumeMounts: [
      util.mount('cni-bin-dir', '/host/opt/cni/bin'),
      util.mount('cni-net-dir', '/host/etc/cni/net.d'),
      util.mount('log-dir', '/host/var/log/aws-routed-eni'),
      util.mount('run-dir', '/var/run/aws-node'),
      util.mount('xtables-lock', '/run/xtables.lock'),
    ],
  }, policyAgent(m, region)],
  volumes: [
    util.hostPath('bpf-pin-path', '/sys/fs/bpf'),
    util.hostPath('cni-bin-dir', '/opt/cni/bin'),
    util.hostPath('cni-net-dir', '/etc/cni/net.d'),
    util.hostPath('log-dir', '/var/log/aws-routed-eni', 'DirectoryOrCreate'),
    util.hostPath('run-dir', '/var/run/aws-node', 'DirectoryOrCreate'),
    util.hostPath('xtables-lock', '/run/xtables.lock', 'FileOrCreate'),
  ],
  affinity: nodeAffinity([linuxTerm(
    'kubernetes.io/', ['amd64', 'arm64'], ['fargate'] + when(m >= 23, ['hybrid', 'auto'])
  )]),
};

local chartConfigMap(m, tag) = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'amazon-vpc-cni', namespace: namespace, labels: chartLabels(tag) },
  data: {
    'enable-windows-ipam': 'false',
    'enable-network-policy-controller': 'false',
  } + (if m >= 23 then {
         'enable-windows-prefix-delegation': 'false',
         'warm-prefix-target': '0',
         'warm-ip-target': '1',
         'minimum-ip-target': '3',
         'branch-eni-cooldown': '60',
       } else {}),
};

{
  // All aws-node objects of CNI release `tag` (e.g. "v1.5.7") for a cluster in `region`
  // serving CRDs as `crdApi`; `env` (name -> string) goes on top of the release defaults.
  objects(tag, region, env, crdApi)::
    local ver = util.semver(tag);
    local m = ver[1];
    assert ver[0] == 1 && m >= 3 : 'VPC CNI %s is not supported: the library renders v1.3 and later' % tag;
    assert m <= 23 : 'VPC CNI %s is newer than the newest manifest this library knows (v1.23)' % tag;
    local era = if m <= 6 then 'legacy' else if m <= 13 then 'v1.7' else 'chart';
    local labels = if era == 'chart' then chartLabels(tag) else { 'k8s-app': name };
    local selector = { 'k8s-app': name };
    local podLabels = if era == 'chart' then std.objectRemoveKey(chartLabels(tag), 'app.kubernetes.io/version') else selector;
    local metaOf(extra) = { name: name } + (if era == 'chart' then { labels: labels } else {}) + extra;
    local image = util.image(region, 'amazon-k8s-cni', tag);
    local defaults = if era == 'legacy' then legacyEnv(m) else if era == 'v1.7' then v17Env(m) else chartEnv(m, tag);
    local podEnv = util.mergeEnv(defaults, env);
    local podSpec =
      if era == 'legacy' then legacyPodSpec(m, image, podEnv)
      else if era == 'v1.7' then v17PodSpec(m, region, tag, podEnv)
      else chartPodSpec(m, region, tag, podEnv);
    [
      eniconfig.crd(crdApi, m),
      {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: metaOf({ namespace: namespace }),
      },
    ] + when(era == 'chart', [chartConfigMap(m, tag)]) + [
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: metaOf({}),
        rules: if era == 'legacy' then legacyRules else if era == 'v1.7' then v17Rules(m) else chartRules(m),
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: metaOf({}),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: name },
        subjects: [{ kind: 'ServiceAccount', name: name, namespace: namespace }],
      },
      {
        // apps/v1 in every release from v1.3 (served since Kubernetes 1.9; EKS starts at 1.10).
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: { name: name, namespace: namespace, labels: labels },
        spec: {
          updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%' } },
          selector: { matchLabels: selector },
          template: {
            metadata: { labels: podLabels } + (
              if m <= 4 then { annotations: { 'scheduler.alpha.kubernetes.io/critical-pod': '' } } else {}
            ),
            spec: podSpec,
          },
        },
      },
    ],
}
