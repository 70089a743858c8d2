"""The AWS side of the sandbox: moto plus the extensions that make it behave like AWS."""

from upgrader.sandbox.aws.errors import AwsError
from upgrader.sandbox.aws.requestlog import RequestLog
from upgrader.sandbox.aws.twin import AwsTwin
from upgrader.sandbox.aws.views import EniView, InstanceView, TwinHooks

__all__ = ["AwsError", "AwsTwin", "EniView", "InstanceView", "RequestLog", "TwinHooks"]
