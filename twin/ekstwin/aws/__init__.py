"""The AWS side of the sandbox: moto plus the extensions that make it behave like AWS."""

from ekstwin.aws.errors import AwsError
from ekstwin.aws.requestlog import RequestLog
from ekstwin.aws.twin import AwsTwin
from ekstwin.aws.views import EniView, InstanceView, TwinHooks

__all__ = ["AwsError", "AwsTwin", "EniView", "InstanceView", "RequestLog", "TwinHooks"]
