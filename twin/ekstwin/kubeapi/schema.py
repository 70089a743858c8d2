"""A compact table of the API types the emulator serves: field names, types, required
fields and list merge semantics, from which the OpenAPI documents, the decoder's type
checks and server-side apply's list handling are all derived.

Each type is a block of lines ``name type[!] [@key,...] [~strategy] [doc]``:

- ``type``: ``string``, ``integer`` (int32), ``int64``, ``boolean``, ``number``,
  ``quantity``, ``intstr``, ``time``, ``microtime``, ``bytes``, ``object`` (free-form map),
  ``any`` (any JSON), ``pkg.Type`` (another type), ``[]T`` (list), ``{}T`` (map);
- ``!`` marks a required field, ``!v1`` one required only in GA (``v1``) API versions;
- ``@a,b`` are the list's merge keys (the first is the strategic-merge patch key);
- ``~merge``, ``~merge,retainKeys``, ``~retainKeys``: the strategic-merge patch strategy
  (``~merge`` on a list of scalars is a set); ``~atomic`` a list replaced whole.
- ``=v1beta1`` keeps a field only in that API version; ``<1.25`` before, ``>=1.16`` from
  a Kubernetes minor.

Types list every field of the real API type, so unknown fields can be told apart; the
nested types nobody here reads closely are ``object``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ekstwin.kubeapi.resources import Minor, parse_minor

PRIMITIVES = frozenset(
    {
        "string",
        "integer",
        "int64",
        "boolean",
        "number",
        "quantity",
        "intstr",
        "time",
        "microtime",
        "bytes",
        "object",
        "any",
    }
)
# Go type names for the decoder's messages.
GO_PRIMITIVES = {
    "string": "string",
    "integer": "int32",
    "int64": "int64",
    "boolean": "bool",
    "number": "float64",
    "quantity": "resource.Quantity",
    "intstr": "intstr.IntOrString",
    "time": "v1.Time",
    "microtime": "v1.MicroTime",
    "bytes": "[]uint8",
    "object": "map[string]interface {}",
    "any": "interface {}",
}


@dataclass(frozen=True, slots=True)
class Field:
    """One property of a type."""

    name: str
    type: str
    doc: str = ""
    required: str = ""  # "" | "all" | "ga"
    keys: tuple[str, ...] = ()
    strategy: str = ""
    only_version: str = ""
    since: Minor | None = None
    until: Minor | None = None

    def present(self, version: str, minor: Minor) -> bool:
        """Whether the field exists in API ``version`` on a cluster at ``minor``."""
        if self.only_version and self.only_version != version:
            return False
        if self.since is not None and minor < self.since:
            return False
        return not (self.until is not None and minor >= self.until)

    def is_required(self, version: str) -> bool:
        return self.required == "all" or (self.required == "ga" and version == "v1")

    @property
    def list_of(self) -> str | None:
        return self.type[2:] if self.type.startswith("[]") else None

    @property
    def map_of(self) -> str | None:
        return self.type[2:] if self.type.startswith("{}") else None


@dataclass(frozen=True, slots=True)
class TypeDef:
    """A struct type of package ``pkg`` (``core``, ``meta``, ``apps`` ...)."""

    pkg: str
    name: str
    doc: str
    fields: tuple[Field, ...]

    def field(self, name: str) -> Field | None:
        return _field_index(self).get(name)

    def fields_at(self, version: str, minor: Minor) -> list[Field]:
        return [f for f in self.fields if f.present(version, minor)]


_FIELD_INDEX: dict[int, dict[str, Field]] = {}


def _field_index(typedef: TypeDef) -> dict[str, Field]:
    found = _FIELD_INDEX.get(id(typedef))
    if found is None:
        found = _FIELD_INDEX[id(typedef)] = {f.name: f for f in typedef.fields}
    return found


def _parse_field(line: str) -> Field:
    words = line.split()
    name, kind = words[0], words[1]
    required = ""
    if kind.endswith("!v1"):
        kind, required = kind[:-3], "ga"
    elif kind.endswith("!"):
        kind, required = kind[:-1], "all"
    keys: tuple[str, ...] = ()
    strategy = only = ""
    since = until = None
    rest = words[2:]
    while rest and rest[0][:1] in {"@", "~", "=", "<", ">"}:
        word = rest.pop(0)
        if word.startswith("@"):
            keys = tuple(word[1:].split(","))
        elif word.startswith("~"):
            strategy = word[1:]
        elif word.startswith("="):
            only = word[1:]
        elif word.startswith(">="):
            since = parse_minor(word[2:])
        else:
            until = parse_minor(word[1:])
    return Field(name, kind, " ".join(rest), required, keys, strategy, only, since, until)


def _types(pkg: str, text: str) -> dict[str, TypeDef]:
    """Parse blocks ``Name: doc`` followed by indented field lines."""
    out: dict[str, TypeDef] = {}
    current: tuple[str, str, list[Field]] | None = None
    for raw in text.replace("  $object", _OBJECT_HEAD.strip("\n")).strip().splitlines():
        if not raw.strip():
            continue
        if not raw.startswith(" "):
            if current is not None:
                out[current[0]] = TypeDef(pkg, current[0], current[1], tuple(current[2]))
            name, _, doc = raw.partition(":")
            current = (name.strip(), doc.strip(), [])
        elif current is not None:
            current[2].append(_parse_field(raw))
    if current is not None:
        out[current[0]] = TypeDef(pkg, current[0], current[1], tuple(current[2]))
    return out


_OBJECT_HEAD = """
  apiVersion string APIVersion defines the versioned schema of this representation of an object.
  kind string Kind is a string value representing the REST resource this object represents.
  metadata meta.ObjectMeta Standard object's metadata.
"""

META = _types(
    "meta",
    """
ObjectMeta: ObjectMeta is metadata that all persisted resources must have.
  name string Name must be unique within a namespace.
  generateName string An optional prefix used by the server to generate a unique name.
  namespace string Namespace defines the space within which each name must be unique.
  selfLink string Deprecated: selfLink is a legacy read-only field.
  uid string UID is the unique in time and space value for this object.
  resourceVersion string An opaque value that represents the internal version of this object.
  generation int64 A sequence number representing a specific generation of the desired state.
  creationTimestamp time The server time when this object was created.
  deletionTimestamp time RFC 3339 date and time at which this resource will be deleted.
  deletionGracePeriodSeconds int64 Seconds allowed for this object to gracefully terminate.
  labels {}string Map of string keys and values to organize and categorize objects.
  annotations {}string Unstructured key value map stored with a resource.
  ownerReferences []meta.OwnerReference @uid ~merge Objects depended on by this object.
  finalizers []string ~merge Must be empty before the object is deleted from the registry.
  clusterName string <1.25 Deprecated: the name of the cluster the object belongs to.
  managedFields []meta.ManagedFieldsEntry >=1.14 Maps workflow-id and version to fields.
OwnerReference: OwnerReference contains enough information to identify an owning object.
  apiVersion string! API version of the referent.
  kind string! Kind of the referent.
  name string! Name of the referent.
  uid string! UID of the referent.
  controller boolean If true, this reference points to the managing controller.
  blockOwnerDeletion boolean If true, the owner cannot be deleted before this dependent.
ManagedFieldsEntry: The workflow-id and version of the fields set by one field manager.
  manager string Identifier of the workflow managing these fields.
  operation string The type of operation which lead to this entry: Apply and Update.
  apiVersion string The version of the resource that this field set applies to.
  time time Timestamp of when the last field was added to the entry.
  fieldsType string The discriminator for the type of the fields: FieldsV1.
  fieldsV1 object The first JSON version of the field set.
  subresource string >=1.22 The name of the subresource used to update that object.
LabelSelector: A label query over a set of resources.
  matchLabels {}string A map of {key,value} pairs.
  matchExpressions []meta.LabelSelectorRequirement A list of label selector requirements.
LabelSelectorRequirement: A selector that contains values, a key, and an operator.
  key string! The label key that the selector applies to.
  operator string! A key's relationship to a set of values: In, NotIn, Exists, DoesNotExist.
  values []string An array of string values.
""",
)

CORE = _types(
    "core",
    """
Pod: Pod is a collection of containers that can run on a host.
  $object
  spec core.PodSpec Specification of the desired behavior of the pod.
  status core.PodStatus Most recently observed status of the pod.
PodSpec: PodSpec is a description of a pod.
  volumes []core.Volume @name ~merge,retainKeys List of volumes that can be mounted.
  initContainers []core.Container @name ~merge Initialization containers.
  containers []core.Container! @name ~merge List of containers belonging to the pod.
  ephemeralContainers []object @name ~merge >=1.16 Ephemeral containers.
  restartPolicy string Restart policy for all containers within the pod.
  terminationGracePeriodSeconds int64 Grace period for the pod to terminate gracefully.
  activeDeadlineSeconds int64 Duration the pod may be active before it is failed.
  dnsPolicy string How DNS is set up for the pod.
  nodeSelector {}string Labels a node must have for the pod to fit on it.
  serviceAccountName string Name of the ServiceAccount to use to run this pod.
  serviceAccount string Deprecated alias for serviceAccountName.
  automountServiceAccountToken boolean Whether a service account token is mounted.
  nodeName string Request to schedule this pod onto a specific node.
  hostNetwork boolean Host networking requested for this pod.
  hostPID boolean Use the host's pid namespace.
  hostIPC boolean Use the host's ipc namespace.
  shareProcessNamespace boolean Share a single process namespace between containers.
  securityContext object Pod-level security attributes.
  imagePullSecrets []core.LocalObjectReference @name ~merge Secrets for pulling images.
  hostname string The hostname of the pod.
  subdomain string The subdomain of the pod.
  affinity object The pod's scheduling constraints.
  schedulerName string The scheduler that dispatches the pod.
  tolerations []core.Toleration The pod's tolerations.
  hostAliases []core.HostAlias @ip ~merge Entries added to the pod's hosts file.
  priorityClassName string The priority class of the pod.
  priority integer The priority value.
  dnsConfig object DNS parameters of the pod.
  readinessGates []object Pod conditions evaluated for readiness.
  runtimeClassName string >=1.12 The RuntimeClass to run this pod.
  enableServiceLinks boolean >=1.13 Whether service environment variables are injected.
  preemptionPolicy string >=1.15 Policy for preempting pods with lower priority.
  overhead {}quantity >=1.16 Resource overhead of the pod's sandbox.
  topologySpreadConstraints []object @topologyKey,whenUnsatisfiable ~merge >=1.16 Spread.
  setHostnameAsFQDN boolean >=1.19 Whether the hostname is the FQDN.
  os object >=1.23 The OS of the containers.
  hostUsers boolean >=1.25 Whether the host's user namespace is used.
  schedulingGates []object @name ~merge >=1.26 Gates that block scheduling.
  resourceClaims []object @name ~merge,retainKeys >=1.26 Dynamic resource claims.
PodStatus: Information about the status of a pod.
  phase string The phase of a Pod: Pending, Running, Succeeded, Failed or Unknown.
  conditions []core.PodCondition @type ~merge Current service state of the pod.
  message string Why the pod is in this condition.
  reason string A brief CamelCase reason.
  nominatedNodeName string The node the pod may be scheduled on after preemption.
  hostIP string IP address of the host the pod is assigned to.
  hostIPs []object @ip ~merge IP addresses of the host.
  podIP string IP address allocated to the pod.
  podIPs []object @ip ~merge IP addresses allocated to the pod.
  startTime time When the kubelet acknowledged the pod.
  initContainerStatuses []object Statuses of the init containers.
  containerStatuses []object Statuses of the containers.
  ephemeralContainerStatuses []object Statuses of the ephemeral containers.
  qosClass string The Quality of Service class of the pod.
  resize string Desired resize of the pod's containers.
  resourceClaimStatuses []object @name ~merge,retainKeys Status of resource claims.
PodCondition: PodCondition contains details for the current condition of this pod.
  type string! Type of the condition.
  status string! Status of the condition: True, False, Unknown.
  lastProbeTime time Last time the condition was probed.
  lastTransitionTime time Last time the condition transitioned.
  reason string Unique, one-word, CamelCase reason for the last transition.
  message string Human-readable message about the last transition.
Container: A single application container that you want to run within a pod.
  name string! Name of the container specified as a DNS_LABEL.
  image string Container image name.
  command []string Entrypoint array.
  args []string Arguments to the entrypoint.
  workingDir string Container's working directory.
  ports []core.ContainerPort @containerPort,protocol ~merge Ports to expose.
  envFrom []object Sources to populate environment variables.
  env []core.EnvVar @name ~merge Environment variables to set in the container.
  resources core.ResourceRequirements Compute resources required by this container.
  resizePolicy []object >=1.27 Resource resize policy.
  restartPolicy string >=1.28 Restart behavior of an init container.
  volumeMounts []core.VolumeMount @mountPath ~merge Volumes to mount.
  volumeDevices []object @devicePath ~merge Block devices to be used.
  livenessProbe core.Probe Periodic probe of container liveness.
  readinessProbe core.Probe Periodic probe of container service readiness.
  startupProbe core.Probe >=1.16 StartupProbe indicates that the Pod has initialized.
  lifecycle object Actions on container lifecycle events.
  terminationMessagePath string File the termination message is written to.
  terminationMessagePolicy string How the termination message is populated.
  imagePullPolicy string Image pull policy: Always, Never, IfNotPresent.
  securityContext object Security options the container runs with.
  stdin boolean Whether a buffer is allocated for stdin.
  stdinOnce boolean Whether the stdin channel closes after one attach.
  tty boolean Whether a TTY is allocated.
ContainerPort: ContainerPort represents a network port in a single container.
  name string An IANA_SVC_NAME naming the port.
  hostPort integer Port number to expose on the host.
  containerPort integer! Port number to expose on the pod's IP address.
  protocol string Protocol for port: UDP, TCP, or SCTP.
  hostIP string What host IP to bind the external port to.
EnvVar: EnvVar represents an environment variable present in a Container.
  name string! Name of the environment variable.
  value string Value of the variable.
  valueFrom object Source for the environment variable's value.
ResourceRequirements: ResourceRequirements describes the compute resource requirements.
  limits {}quantity The maximum amount of compute resources allowed.
  requests {}quantity The minimum amount of compute resources required.
  claims []object @name >=1.26 Dynamically allocated resources used by this container.
VolumeMount: VolumeMount describes a mounting of a Volume within a container.
  name string! This must match the Name of a Volume.
  readOnly boolean Mounted read-only if true.
  recursiveReadOnly string >=1.30 Whether read-only mounts are recursively read-only.
  mountPath string! Path within the container at which the volume is mounted.
  subPath string Path within the volume from which the container's volume is mounted.
  mountPropagation string How mounts are propagated.
  subPathExpr string Expanded path within the volume.
Probe: Probe describes a health check to be performed against a container.
  exec object Exec specifies a command to execute in the container.
  httpGet object HTTPGet specifies an HTTP GET request to perform.
  tcpSocket object TCPSocket specifies a connection to a TCP port.
  grpc object >=1.23 GRPC specifies a GRPC HealthCheckRequest.
  initialDelaySeconds integer Seconds after the container has started before probes.
  timeoutSeconds integer Seconds after which the probe times out.
  periodSeconds integer How often (in seconds) to perform the probe.
  successThreshold integer Minimum consecutive successes to be considered successful.
  failureThreshold integer Minimum consecutive failures to be considered failed.
  terminationGracePeriodSeconds int64 >=1.21 Grace period after probe failure.
Volume: Volume represents a named volume in a pod.
  name string! Name of the volume.
  hostPath object A pre-existing file or directory on the host.
  emptyDir object A temporary directory that shares a pod's lifetime.
  gcePersistentDisk object A GCE disk resource.
  awsElasticBlockStore object An AWS Disk resource.
  gitRepo object A git repository at a particular revision.
  secret object A secret that should populate this volume.
  nfs object An NFS mount on the host.
  iscsi object An ISCSI Disk resource.
  glusterfs object A Glusterfs mount on the host.
  persistentVolumeClaim object A reference to a PersistentVolumeClaim.
  rbd object A Rados Block Device mount on the host.
  flexVolume object A generic volume provisioned by an exec plugin.
  cinder object A cinder volume.
  cephfs object A Ceph FS mount on the host.
  flocker object A Flocker volume.
  downwardAPI object Downward API about the pod.
  fc object A Fibre Channel resource.
  azureFile object An Azure File Service mount.
  configMap object A configMap that should populate this volume.
  vsphereVolume object A vSphere volume.
  quobyte object A Quobyte mount on the host.
  azureDisk object An Azure Data Disk mount.
  photonPersistentDisk object A PhotonController persistent disk.
  projected object Items for all in one resources secrets, configmaps, and downward API.
  portworxVolume object A portworx volume.
  scaleIO object A ScaleIO persistent volume.
  storageos object A StorageOS volume.
  csi object >=1.15 A CSI ephemeral volume.
  ephemeral object >=1.19 A volume handled by a cluster storage driver.
  image object >=1.31 An OCI object pulled and mounted on the host.
Toleration: The pod this Toleration is attached to tolerates matching taints.
  key string The taint key that the toleration applies to.
  operator string Key's relationship to the value: Exists or Equal.
  value string The taint value the toleration matches to.
  effect string The taint effect to match: NoSchedule, PreferNoSchedule, NoExecute.
  tolerationSeconds int64 How long the pod tolerates a NoExecute taint.
HostAlias: An entry added to the pod's hosts file.
  ip string IP address of the host file entry.
  hostnames []string Hostnames for the above IP address.
LocalObjectReference: A reference to an object in the same namespace.
  name string Name of the referent.
ObjectReference: ObjectReference contains enough information to inspect the referred object.
  kind string Kind of the referent.
  namespace string Namespace of the referent.
  name string Name of the referent.
  uid string UID of the referent.
  apiVersion string API version of the referent.
  resourceVersion string Specific resourceVersion to which this reference is made.
  fieldPath string A piece of an object instead of an entire object.
PodTemplateSpec: PodTemplateSpec describes the data a pod should have when created.
  metadata meta.ObjectMeta Standard object's metadata.
  spec core.PodSpec Specification of the desired behavior of the pod.
ConfigMap: ConfigMap holds configuration data for pods to consume.
  $object
  data {}string Configuration data.
  binaryData {}bytes >=1.10 Binary configuration data.
  immutable boolean >=1.18 Whether the data may not be updated.
Secret: Secret holds secret data of a certain type.
  $object
  data {}bytes Secret data, base64 encoded.
  stringData {}string Write-only convenience field for non-binary secret data.
  type string Used to facilitate programmatic handling of secret data.
  immutable boolean >=1.18 Whether the data may not be updated.
Service: Service is a named abstraction of software service.
  $object
  spec core.ServiceSpec The behavior of a service.
  status object Most recently observed status of the service.
ServiceSpec: ServiceSpec describes the attributes that a user creates on a service.
  ports []core.ServicePort @port,protocol ~merge The ports exposed by this service.
  selector {}string Route service traffic to pods with these labels.
  clusterIP string IP address of the service.
  clusterIPs []string >=1.20 IP addresses of the service.
  type string How the Service is exposed.
  externalIPs []string IP addresses for which nodes also accept traffic.
  sessionAffinity string ClientIP or None.
  loadBalancerIP string Deprecated: the load balancer's IP.
  loadBalancerSourceRanges []string Client IPs allowed through the load balancer.
  externalName string The external reference returned by DNS.
  externalTrafficPolicy string How external traffic is routed.
  healthCheckNodePort integer The healthcheck nodePort for the service.
  publishNotReadyAddresses boolean Publish addresses of not-ready pods.
  sessionAffinityConfig object Configurations of session affinity.
  ipFamily string >=1.16 <1.20 The IP family of the service.
  topologyKeys []string >=1.17 <1.22 Topology keys for routing.
  ipFamilies []string >=1.20 IP families assigned to this service.
  ipFamilyPolicy string >=1.20 Dual-stack-ness requested.
  allocateLoadBalancerNodePorts boolean >=1.20 Whether NodePorts are allocated.
  loadBalancerClass string >=1.21 The class of the load balancer implementation.
  internalTrafficPolicy string >=1.21 How cluster-internal traffic is routed.
  trafficDistribution string >=1.30 How traffic is distributed to endpoints.
ServicePort: ServicePort contains information on service's port.
  name string The name of this port within the service.
  protocol string The IP protocol for this port.
  appProtocol string >=1.18 The application protocol for this port.
  port integer! The port that will be exposed by this service.
  targetPort intstr Number or name of the port to access on the pods.
  nodePort integer The port on each node on which this service is exposed.
Node: Node is a worker node in Kubernetes.
  $object
  spec core.NodeSpec The behavior of a node.
  status core.NodeStatus Most recently observed status of the node.
NodeSpec: NodeSpec describes the attributes that a node is created with.
  podCIDR string The pod IP range assigned to the node.
  podCIDRs []string ~merge >=1.16 The IP ranges assigned to the node.
  providerID string ID of the node assigned by the cloud provider.
  unschedulable boolean Controls node schedulability of new pods.
  taints []core.Taint The node's taints.
  configSource object Deprecated: dynamic kubelet configuration source.
  externalID string <1.24 Deprecated.
NodeStatus: NodeStatus is information about the current status of a node.
  capacity {}quantity Total resources of the node.
  allocatable {}quantity Resources of a node available for scheduling.
  phase string Deprecated: NodePhase is the recently observed lifecycle phase.
  conditions []object @type ~merge Current observed node conditions.
  addresses []object @type ~merge Addresses reachable to the node.
  daemonEndpoints object Endpoints of daemons running on the Node.
  nodeInfo object Set of ids/uuids to uniquely identify the node.
  images []object Container images on this node.
  volumesInUse []string Volumes attached and mounted by the node.
  volumesAttached []object Volumes attached to the node.
  config object Status of the config assigned to the node.
  runtimeHandlers []object >=1.30 The available runtime handlers.
  features object >=1.31 Features implemented by the CRI.
Taint: The node this Taint is attached to has the "effect" on any pod that does not tolerate.
  key string! The taint key to be applied to a node.
  value string The taint value corresponding to the taint key.
  effect string! The effect of the taint: NoSchedule, PreferNoSchedule and NoExecute.
  timeAdded time When the taint was added (NoExecute taints only).
Namespace: Namespace provides a scope for Names.
  $object
  spec core.NamespaceSpec The behavior of the Namespace.
  status object Status describes the current status of a Namespace.
NamespaceSpec: NamespaceSpec describes the attributes on a Namespace.
  finalizers []string An opaque list of values that must be empty to remove the object.
ServiceAccount: ServiceAccount binds together a name, a principal and secrets.
  $object
  secrets []core.ObjectReference @name ~merge Secrets the service account may use.
  imagePullSecrets []core.LocalObjectReference Secrets for pulling images.
  automountServiceAccountToken boolean Whether pods mount an API token automatically.
Endpoints: Endpoints is a collection of endpoints that implement the actual service.
  $object
  subsets []object The set of all endpoints is the union of all subsets.
Event: Event is a report of an event somewhere in the cluster.
  $object
  involvedObject core.ObjectReference! The object that this event is about.
  reason string Short, machine understandable reason for the transition.
  message string A human-readable description of the status of this operation.
  source object The component reporting this event.
  firstTimestamp time The time at which the event was first recorded.
  lastTimestamp time The time of the most recent occurrence.
  count integer The number of times this event has occurred.
  type string Type of this event (Normal, Warning).
  eventTime microtime Time when this Event was first observed.
  series object Data about the Event series this event represents.
  action string What action was taken/failed regarding the involved object.
  related core.ObjectReference Optional secondary object for more complex actions.
  reportingComponent string Name of the controller that emitted this Event.
  reportingInstance string ID of the controller instance.
""",
)

APPS = _types(
    "apps",
    """
Deployment: Deployment enables declarative updates for Pods and ReplicaSets.
  $object
  spec apps.DeploymentSpec Specification of the desired behavior of the Deployment.
  status object Most recently observed status of the Deployment.
DeploymentSpec: DeploymentSpec is the specification of the desired behavior of the Deployment.
  replicas integer Number of desired pods.
  selector meta.LabelSelector!v1 Label selector for pods.
  template core.PodTemplateSpec! Template describes the pods that will be created.
  strategy apps.DeploymentStrategy The deployment strategy to replace existing pods.
  minReadySeconds integer Seconds a new pod must be ready to be available.
  revisionHistoryLimit integer The number of old ReplicaSets to retain.
  paused boolean Indicates that the deployment is paused.
  rollbackTo object =v1beta1 Deprecated: the config this deployment is rolling back to.
  progressDeadlineSeconds integer Seconds for a deployment to make progress.
DeploymentStrategy: DeploymentStrategy describes how to replace existing pods with new ones.
  type string Type of deployment: Recreate or RollingUpdate.
  rollingUpdate apps.RollingUpdateDeployment Rolling update config params.
RollingUpdateDeployment: Spec to control the desired behavior of rolling update.
  maxUnavailable intstr Pods that can be unavailable during the update.
  maxSurge intstr Pods that can be scheduled above the desired number of pods.
DaemonSet: DaemonSet represents the configuration of a daemon set.
  $object
  spec apps.DaemonSetSpec The desired behavior of this daemon set.
  status object The current status of this daemon set.
DaemonSetSpec: DaemonSetSpec is the specification of a daemon set.
  selector meta.LabelSelector!v1 A label query over pods that are managed by the daemon set.
  template core.PodTemplateSpec! An object that describes the pod that will be created.
  updateStrategy apps.DaemonSetUpdateStrategy Strategy to replace existing pods.
  minReadySeconds integer Seconds a new pod must be ready to be available.
  templateGeneration int64 =v1beta1 Deprecated: a sequence number of the template.
  revisionHistoryLimit integer The number of old history to retain.
DaemonSetUpdateStrategy: DaemonSetUpdateStrategy indicates the strategy to update pods.
  type string Type of daemon set update: RollingUpdate or OnDelete.
  rollingUpdate apps.RollingUpdateDaemonSet Rolling update config params.
RollingUpdateDaemonSet: Spec to control the desired behavior of daemon set rolling update.
  maxUnavailable intstr DaemonSet pods that can be unavailable during the update.
  maxSurge intstr >=1.21 Nodes that may run an updated pod beside the old one.
ReplicaSet: ReplicaSet ensures that a specified number of pod replicas are running.
  $object
  spec apps.ReplicaSetSpec Spec defines the specification of the desired behavior.
  status object Status is the most recently observed status of the ReplicaSet.
ReplicaSetSpec: ReplicaSetSpec is the specification of a ReplicaSet.
  replicas integer Replicas is the number of desired replicas.
  minReadySeconds integer Seconds a new pod must be ready to be available.
  selector meta.LabelSelector!v1 Selector is a label query over pods.
  template core.PodTemplateSpec Template is the object that describes the pod.
StatefulSet: StatefulSet represents a set of pods with consistent identities.
  $object
  spec apps.StatefulSetSpec Spec defines the desired identities of pods in this set.
  status object Status is the current status of Pods in this StatefulSet.
StatefulSetSpec: A StatefulSetSpec is the specification of a StatefulSet.
  replicas integer The desired number of replicas.
  selector meta.LabelSelector!v1 A label query over pods.
  template core.PodTemplateSpec! The object that describes the pod that will be created.
  volumeClaimTemplates []object Claims that pods are allowed to reference.
  serviceName string The name of the service that governs this StatefulSet.
  podManagementPolicy string How pods are created during initial scale up.
  updateStrategy object The strategy used to update Pods.
  revisionHistoryLimit integer The maximum number of revisions kept.
  minReadySeconds integer >=1.22 Seconds a new pod must be ready to be available.
  persistentVolumeClaimRetentionPolicy object >=1.23 The lifecycle of PVCs.
  ordinals object >=1.26 Controls the numbering of replica indices.
ControllerRevision: ControllerRevision implements an immutable snapshot of state data.
  $object
  data any Data is the serialized representation of the state.
  revision int64! Revision indicates the revision of the state represented by Data.
""",
)

OTHERS = {
    **_types(
        "policy",
        """
PodDisruptionBudget: PodDisruptionBudget is an object to define the max disruption.
  $object
  spec policy.PodDisruptionBudgetSpec Specification of the desired behavior.
  status object Most recently observed status of the PodDisruptionBudget.
PodDisruptionBudgetSpec: PodDisruptionBudgetSpec is a description of a PodDisruptionBudget.
  minAvailable intstr Pods that must still be available after an eviction.
  selector meta.LabelSelector Label query over pods whose evictions are managed.
  maxUnavailable intstr Pods that can be unavailable after an eviction.
  unhealthyPodEvictionPolicy string >=1.26 When unhealthy running pods may be evicted.
""",
    ),
    **_types(
        "coordination",
        """
Lease: Lease defines a lease concept.
  $object
  spec coordination.LeaseSpec Specification of the Lease.
LeaseSpec: LeaseSpec is a specification of a Lease.
  holderIdentity string The identity of the holder of a current lease.
  leaseDurationSeconds integer Duration candidates for a lease wait to force acquire it.
  acquireTime microtime When the current lease was acquired.
  renewTime microtime When the current holder of a lease has last updated the lease.
  leaseTransitions integer The number of transitions of a lease between holders.
  strategy string >=1.31 The strategy for picking the leader.
  preferredHolder string >=1.31 Signals to a lease holder that it should give it up.
""",
    ),
    **_types(
        "rbac",
        """
ClusterRole: ClusterRole is a cluster level, logical grouping of PolicyRules.
  $object
  rules []rbac.PolicyRule Rules holds all the PolicyRules for this ClusterRole.
  aggregationRule object How to build the Rules for this ClusterRole.
Role: Role is a namespaced, logical grouping of PolicyRules.
  $object
  rules []rbac.PolicyRule Rules holds all the PolicyRules for this Role.
ClusterRoleBinding: ClusterRoleBinding references a ClusterRole for subjects.
  $object
  subjects []rbac.Subject Subjects holds references to the objects the role applies to.
  roleRef rbac.RoleRef! RoleRef can only reference a ClusterRole in the global namespace.
RoleBinding: RoleBinding references a role for subjects in a namespace.
  $object
  subjects []rbac.Subject Subjects holds references to the objects the role applies to.
  roleRef rbac.RoleRef! RoleRef can reference a Role or a ClusterRole.
PolicyRule: PolicyRule holds information that describes a policy rule.
  verbs []string! Verbs that apply to all ResourceKinds contained in this rule.
  apiGroups []string The name of the APIGroup that contains the resources.
  resources []string A list of resources this rule applies to.
  resourceNames []string An optional white list of names that the rule applies to.
  nonResourceURLs []string Partial urls that a user should have access to.
Subject: Subject contains a reference to the object or user identities.
  kind string! Kind of object being referenced.
  apiGroup string APIGroup holds the API group of the referenced subject.
  name string! Name of the object being referenced.
  namespace string Namespace of the referenced object.
RoleRef: RoleRef contains information that points to the role being used.
  apiGroup string! APIGroup is the group for the resource being referenced.
  kind string! Kind is the type of resource being referenced.
  name string! Name is the name of resource being referenced.
""",
    ),
    **_types(
        "apiextensions",
        """
CustomResourceDefinition: CustomResourceDefinition represents a resource that should be exposed.
  $object
  spec object! Spec describes how the user wants the resources to appear.
  status object Status indicates the actual state of the CustomResourceDefinition.
""",
    ),
    **_types(
        "authorization",
        """
SelfSubjectAccessReview: Checks whether the current user can perform an action.
  $object
  spec authorization.SelfSubjectAccessReviewSpec! The action being checked.
  status authorization.SubjectAccessReviewStatus Whether the request is allowed or not.
SelfSubjectAccessReviewSpec: A set of attributes of the request being checked.
  resourceAttributes object Information for a resource access request.
  nonResourceAttributes object Information for a non-resource access request.
SubjectAccessReviewStatus: SubjectAccessReviewStatus.
  allowed boolean! Whether the action is allowed.
  denied boolean Whether the action is denied.
  reason string Why a request was allowed or denied.
  evaluationError string An error in evaluating the authorization check.
SelfSubjectRulesReview: Enumerates the set of actions the current user can perform.
  $object
  spec authorization.SelfSubjectRulesReviewSpec! The namespace to evaluate rules for.
  status object The set of actions a user can perform.
SelfSubjectRulesReviewSpec: SelfSubjectRulesReviewSpec defines the specification.
  namespace string Namespace to evaluate rules for.
""",
    ),
}

TYPES: dict[str, TypeDef] = {
    f"{t.pkg}.{t.name}": t for table in (META, CORE, APPS, OTHERS) for t in table.values()
}

# resource key -> the type of its objects ("pkg.Kind")
KINDS: dict[str, str] = {
    "pods": "core.Pod",
    "nodes": "core.Node",
    "namespaces": "core.Namespace",
    "configmaps": "core.ConfigMap",
    "secrets": "core.Secret",
    "events": "core.Event",
    "services": "core.Service",
    "serviceaccounts": "core.ServiceAccount",
    "endpoints": "core.Endpoints",
    "deployments.apps": "apps.Deployment",
    "replicasets.apps": "apps.ReplicaSet",
    "daemonsets.apps": "apps.DaemonSet",
    "statefulsets.apps": "apps.StatefulSet",
    "controllerrevisions.apps": "apps.ControllerRevision",
    "poddisruptionbudgets.policy": "policy.PodDisruptionBudget",
    "leases.coordination.k8s.io": "coordination.Lease",
    "customresourcedefinitions.apiextensions.k8s.io": "apiextensions.CustomResourceDefinition",
    "clusterroles.rbac.authorization.k8s.io": "rbac.ClusterRole",
    "clusterrolebindings.rbac.authorization.k8s.io": "rbac.ClusterRoleBinding",
    "roles.rbac.authorization.k8s.io": "rbac.Role",
    "rolebindings.rbac.authorization.k8s.io": "rbac.RoleBinding",
    "selfsubjectaccessreviews.authorization.k8s.io": "authorization.SelfSubjectAccessReview",
    "selfsubjectrulesreviews.authorization.k8s.io": "authorization.SelfSubjectRulesReview",
}

# OpenAPI definition prefixes; versioned packages take the API version of the kind.
_PREFIX = {
    "core": "io.k8s.api.core.v1",
    "meta": "io.k8s.apimachinery.pkg.apis.meta.v1",
    "apiextensions": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions",
}
SPECIAL_DEFINITIONS = {
    "quantity": "io.k8s.apimachinery.pkg.api.resource.Quantity",
    "intstr": "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
    "time": "io.k8s.apimachinery.pkg.apis.meta.v1.Time",
    "microtime": "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime",
}


@dataclass(frozen=True, slots=True)
class Context:
    """Where a type is being instantiated: the API group version of the top-level kind."""

    group: str  # API group of the kind ("" for core, "extensions" for the legacy alias)
    version: str  # "v1", "v1beta1" ...
    minor: Minor

    def package_version(self, pkg: str) -> str:
        """The Go package version of ``pkg`` here (core and meta are always v1)."""
        return self.version if pkg not in {"core", "meta"} else "v1"

    def definition(self, ref: str) -> str:
        """The OpenAPI definition name of type ``pkg.Name``."""
        pkg, name = ref.split(".", 1)
        if pkg in {"core", "meta"}:
            return f"{_PREFIX[pkg]}.{name}"
        if pkg == "apiextensions":
            return f"{_PREFIX[pkg]}.{self.version}.{name}"
        go_pkg = "extensions" if self.group == "extensions" else pkg
        return f"io.k8s.api.{go_pkg}.{self.version}.{name}"

    def go_type(self, ref: str) -> str:
        """``v1.PodSpec``: the Go type name the decoder reports."""
        pkg, name = ref.split(".", 1)
        return f"{self.package_version(pkg)}.{name}"


def kind_type(resource_key: str) -> TypeDef | None:
    """The type of a resource's objects, if the table knows it."""
    ref = KINDS.get(resource_key)
    return TYPES.get(ref) if ref else None
