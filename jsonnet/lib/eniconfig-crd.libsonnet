// The ENIConfig CustomResourceDefinition, in the apiextensions API the cluster serves:
// v1beta1 up to Kubernetes 1.15 (removed in 1.22), v1 from 1.16 (needs versions[].schema).
local meta = {
  name: 'eniconfigs.crd.k8s.amazonaws.com',
};
local names = { plural: 'eniconfigs', singular: 'eniconfig', kind: 'ENIConfig' };
local group = 'crd.k8s.amazonaws.com';

// Schema of config/master (v1.23.1).
local schema = {
  openAPIV3Schema: {
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
    description: 'ENIConfig is the Schema for the eniconfigs API',
    properties: {
      apiVersion: {
        description: 'APIVersion defines the versioned schema of this representation of an object.\nServers should convert recognized schemas to the latest internal value, and\nmay reject unrecognized values.\nMore info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources',
        type: 'string',
      },
      kind: {
        description: 'Kind is a string value representing the REST resource this object represents.\nServers may infer this from the endpoint the client submits requests to.\nCannot be updated.\nIn CamelCase.\nMore info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds',
        type: 'string',
      },
      metadata: { type: 'object' },
      spec: {
        description: 'ENIConfigSpec defines the desired state of ENIConfig',
        properties: {
          securityGroups: { items: { type: 'string' }, type: 'array' },
          subnet: { type: 'string' },
        },
        required: ['subnet'],
        type: 'object',
      },
      status: {
        description: 'ENIConfigStatus defines the observed state of ENIConfig',
        type: 'object',
      },
    },
  },
};

{
  // cniMinor: 3 renders the v1.3 form (spec.version); later releases list spec.versions.
  crd(apiVersion, cniMinor)::
    local base = {
      apiVersion: apiVersion,
      kind: 'CustomResourceDefinition',
      metadata: meta,
      spec: { scope: 'Cluster', group: group, names: names },
    };
    if apiVersion == 'apiextensions.k8s.io/v1' then
      base { spec+: {
        preserveUnknownFields: false,
        versions: [{ name: 'v1alpha1', served: true, storage: true, schema: schema }],
      } }
    else if apiVersion == 'apiextensions.k8s.io/v1beta1' then
      if cniMinor <= 3 then
        base { spec+: { version: 'v1alpha1' } }
      else
        base { spec+: { versions: [{ name: 'v1alpha1', served: true, storage: true }] } }
    else
      error 'CRD apiVersion %s is not apiextensions.k8s.io/v1beta1 or /v1' % apiVersion,
}
