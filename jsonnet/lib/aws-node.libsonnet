// aws-node (Amazon VPC CNI): the official release manifest, vendored verbatim in ../releases/
// (aws/amazon-vpc-cni-k8s config/<minor>/ or config/master/aws-k8s-cni.yaml at the release
// commit; provenance in ../releases/SOURCES.md), with only these changes:
//   - images come from the cluster region's registry instead of us-west-2's;
//   - the user's env (config cni.env) replaces or extends the aws-node container's env;
//   - a CRD the cluster cannot serve in the release's apiextensions version is taken, in the
//     version it serves, from the newest vendored release shipping it that way (crdSource);
//   - a patch without its own vendored manifest uses its minor's newest vendored patch at or
//     before it (else the minor's oldest), with that patch's tag replaced by its own.
// Objects come out in apply order: CRDs, ServiceAccount, ConfigMap, RBAC, DaemonSet.
local util = import 'util.libsonnet';
local releases = import 'aws-node-releases.libsonnet';

local name = 'aws-node';
local upstreamRegistry = '602401143452.dkr.ecr.us-west-2.amazonaws.com';
local ownImages = ['amazon-k8s-cni', 'amazon-k8s-cni-init'];
local kindOrder = ['CustomResourceDefinition', 'ServiceAccount', 'ConfigMap', 'ClusterRole', 'ClusterRoleBinding', 'DaemonSet'];

// The newest vendored release whose CRDs are in each apiextensions version.
local crdSource = {
  'apiextensions.k8s.io/v1beta1': 'v1.9.3',
  'apiextensions.k8s.io/v1': 'v1.23.1',
};

local order(v) = v[0] * 1000000 + v[1] * 1000 + v[2];
local vendored = std.sort(std.objectFields(releases), function(t) order(util.semver(t)));

// The vendored tag `tag` is rendered from (see the header).
local baseTag(tag) =
  local v = util.semver(tag);
  local sameMinor = [t for t in vendored if util.semver(t)[0] == v[0] && util.semver(t)[1] == v[1]];
  local atOrBefore = [t for t in sameMinor if order(util.semver(t)) <= order(v)];
  local newest = util.semver(vendored[std.length(vendored) - 1]);
  assert v[0] == 1 && v[1] >= 3 : 'VPC CNI %s is not supported: the library renders v1.3 and later' % tag;
  assert v[1] <= newest[1] : 'VPC CNI %s is newer than the newest manifest this library knows (v1.%d)' % [tag, newest[1]];
  assert std.length(sameMinor) > 0 : 'VPC CNI %s: no official manifest of its minor is vendored' % tag;
  if std.length(atOrBefore) > 0 then atOrBefore[std.length(atOrBefore) - 1] else sameMinor[0];

// The objects of a vendored manifest (a single-document file parses to one object).
local documents(tag) =
  local parsed = std.parseYaml(releases[tag]);
  [d for d in (if std.isArray(parsed) then parsed else [parsed]) if d != null];

local mapStrings(f, x) =
  if std.isString(x) then f(x)
  else if std.isArray(x) then [mapStrings(f, i) for i in x]
  else if std.isObject(x) then { [k]: mapStrings(f, x[k]) for k in std.objectFields(x) }
  else x;

// Every string of the manifest: the region's registry, and `tag` for the base release's tag.
local relocate(base, tag, registry) = function(s)
  if s == base then tag
  else if std.startsWith(s, upstreamRegistry + '/') then
    local ref = s[std.length(upstreamRegistry) + 1:];
    local own = [i for i in ownImages if ref == i + ':' + base];
    registry + '/' + (if std.length(own) > 0 then own[0] + ':' + tag else ref)
  else s;

local crdIn(crd, api) =
  if crd.apiVersion == api then crd
  else
    assert std.objectHas(crdSource, api) : 'CRD apiVersion %s is not apiextensions.k8s.io/v1beta1 or /v1' % api;
    local found = [
      d
      for d in documents(crdSource[api])
      if d.kind == crd.kind && d.metadata.name == crd.metadata.name
    ];
    assert std.length(found) == 1 : 'CRD %s is not shipped in %s by any vendored release' % [crd.metadata.name, api];
    found[0];

local withEnv(daemonSet, env) = daemonSet {
  spec+: { template+: { spec+: {
    containers: [
      if c.name == name then c { env: util.mergeEnv(std.get(c, 'env', []), env) } else c
      for c in super.containers
    ],
  } } },
};

local rank(obj) =
  local i = std.find(obj.kind, kindOrder);
  '%d/%s' % [if std.length(i) > 0 then i[0] else std.length(kindOrder), obj.metadata.name];

{
  // All aws-node objects of CNI release `tag` (e.g. "v1.5.7") for a cluster in `region`
  // serving CRDs as `crdApi`; `env` (name -> string) goes on top of the release defaults.
  objects(tag, region, env, crdApi)::
    local base = baseTag(tag);
    local objs = mapStrings(relocate(base, tag, util.registry(region)), documents(base));
    std.sort([
      if o.kind == 'CustomResourceDefinition' then crdIn(o, crdApi)
      else if o.kind == 'DaemonSet' && o.metadata.name == name then withEnv(o, env)
      else o
      for o in objs
    ], rank),

  // The vendored release tags, oldest first.
  releases:: vendored,
}
