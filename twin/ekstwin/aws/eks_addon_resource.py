"""CloudFormation ``AWS::EKS::Addon`` backed by the twin's add-on API (moto has none).

As on AWS: creating the resource is ``CreateAddon``; a stack update that changes its
``AddonVersion``, ``ResolveConflicts``, ``ConfigurationValues`` or ``ServiceAccountRoleArn``
is ``UpdateAddon`` with the template's values, and the stack stays ``UPDATE_IN_PROGRESS``
until the add-on is ACTIVE again (an invalid version fails the stack update); the
add-on's object in the cluster follows as for any update (``hooks.addon_applied``).
``Ref`` is ``<cluster>|<addon>``; ``Fn::GetAtt Arn`` the add-on's ARN.
"""

from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel

from ekstwin.aws import eks_addons
from ekstwin.aws.state import require

ATTRIBUTES = ("Arn",)
# template property -> the add-on API's request key
_REQUEST = (
    ("AddonVersion", "addonVersion"),
    ("ResolveConflicts", "resolveConflicts"),
    ("ConfigurationValues", "configurationValues"),
    ("ServiceAccountRoleArn", "serviceAccountRoleArn"),
)


def _request(props: dict[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {"addonName": props["AddonName"]}
    request.update({key: props[prop] for prop, key in _REQUEST if props.get(prop) is not None})
    tags = props.get("Tags") or []
    if tags:
        request["tags"] = {t["Key"]: t["Value"] for t in tags}
    return request


class EksAddonResource(CloudFormationModel):
    """The CloudFormation face of one EKS add-on."""

    def __init__(self, cluster_name: str, addon_name: str) -> None:
        self.cluster_name = cluster_name
        self.addon_name = addon_name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AddonName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EKS::Addon"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ATTRIBUTES

    @property
    def physical_resource_id(self) -> str:
        return f"{self.cluster_name}|{self.addon_name}"

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        addon = eks_addons.addons_of(require(), self.cluster_name)[self.addon_name]
        return {"Arn": addon.arn}[attribute_name]

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> EksAddonResource:
        props = cloudformation_json["Properties"]
        cluster = str(props["ClusterName"])
        addon = eks_addons.create(require(), cluster, _request(props))
        return cls(cluster, addon.name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> EksAddonResource:
        state = require()
        props = cloudformation_json["Properties"]
        cluster, name = original_resource.cluster_name, original_resource.addon_name
        request = _request(props)
        request.pop("tags", None)  # TagResource on AWS: not an add-on update
        addon = eks_addons.addons_of(state, cluster)[name]
        now = {
            "addonVersion": addon.version,
            "resolveConflicts": addon.resolve_conflicts,
            "configurationValues": addon.configuration,
            "serviceAccountRoleArn": addon.role,
        }
        if any(request.get(key, now[key]) != now[key] for key in now):
            operation = state.begin(f"addon {cluster}/{name}")
            eks_addons.update(state, cluster, name, request, operation)
        return original_resource  # type: ignore[no-any-return]

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        props = cloudformation_json["Properties"]
        eks_addons.delete(require(), str(props["ClusterName"]), resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        eks_addons.delete(require(), self.cluster_name, self.addon_name)

    def is_created(self) -> bool:
        return True
