// Small helpers shared by the add-on libraries.
{
  // "v1.5.7" or "v1.23.1-eksbuild.2" -> [1, 5, 7]
  semver(tag)::
    local core = std.split(std.lstripChars(tag, 'v'), '-')[0];
    local parts = std.split(core, '.');
    assert std.length(parts) == 3 && std.all([std.length(p) > 0 && std.all([std.member('0123456789', c) for c in std.stringChars(p)]) for p in parts]) :
           'version %s is not vMAJOR.MINOR.PATCH (e.g. v1.5.7)' % tag;
    [std.parseInt(p) for p in parts],

  // "1.13" -> 13 (Kubernetes minor)
  kubeMinor(version)::
    local parts = std.split(std.lstripChars(version, 'v'), '.');
    assert std.length(parts) >= 2 : 'Kubernetes version %s is not MAJOR.MINOR (e.g. 1.13)' % version;
    std.parseInt(parts[1]),

  // Registry of the EKS-owned images (amazon-k8s-cni, eks/kube-proxy, eks/coredns) per region:
  // account 602401143452 except the opt-in, China and GovCloud regions listed here.
  registry(region)::
    local accounts = {
      'af-south-1': '877085696533',
      'ap-east-1': '800184023465',
      'ap-southeast-3': '296578399912',
      'eu-south-1': '590381155156',
      'me-south-1': '558608220178',
      'cn-north-1': '961992271922',
      'cn-northwest-1': '961992271922',
      'us-gov-east-1': '151742754352',
      'us-gov-west-1': '013241004608',
    };
    local account = if std.objectHas(accounts, region) then accounts[region] else '602401143452';
    local suffix = if std.startsWith(region, 'cn-') then 'amazonaws.com.cn' else 'amazonaws.com';
    '%s.dkr.ecr.%s.%s' % [account, region, suffix],

  image(region, repository, tag):: '%s/%s:%s' % [self.registry(region), repository, tag],

  value(name, value):: { name: name, value: value },
  field(name, path, apiVersion=null)::
    { name: name, valueFrom: { fieldRef: { fieldPath: path } + (if apiVersion == null then {} else { apiVersion: apiVersion }) } },

  // Release defaults with the user's settings on top: a user value replaces the default in
  // place; user variables the release does not set are appended, sorted by name.
  mergeEnv(defaults, user)::
    local known = std.set([e.name for e in defaults]);
    [if std.objectHas(user, e.name) then { name: e.name, value: user[e.name] } else e for e in defaults]
    + [{ name: k, value: user[k] } for k in std.objectFields(user) if !std.setMember(k, known)],

  when(cond, items):: if cond then items else [],
  hostPath(name, path, type=null):: { name: name, hostPath: { path: path } + (if type == null then {} else { type: type }) },
  mount(name, path):: { name: name, mountPath: path },
}
