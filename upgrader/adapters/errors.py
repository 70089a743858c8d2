"""Errors raised when AWS or Kubernetes access fails; messages never carry secrets."""

from __future__ import annotations

import re
from typing import Any

from upgrader.errors import BadInputError, ExitCode, UpgraderError

# Access key IDs, presigned-URL signatures, EKS tokens and bearer headers.
_SECRETS = re.compile(
    r"(?:A(?:KIA|SIA)[A-Z0-9]{12,})"
    r"|(?:k8s-aws-v1\.[A-Za-z0-9_\-]+)"
    r"|(?:(?<=Bearer )\S+)"
    r"|(?:(?<=X-Amz-Signature=)[0-9a-f]+)"
    r"|(?:(?<=X-Amz-Credential=)[^&\s]+)"
    r"|(?:(?<=X-Amz-Security-Token=)[^&\s]+)",
)


def scrub(text: str) -> str:
    """``text`` with credentials, signatures and tokens replaced by ``***``."""
    return _SECRETS.sub("***", text)


class CloudError(UpgraderError):
    """An AWS or Kubernetes call failed unexpectedly (exit 1)."""


class CloudNotFoundError(BadInputError):
    """An object the config names does not exist (exit 2)."""


class CloudAccessError(BadInputError):
    """The credentials were refused or lack a permission (exit 2)."""


class CloudUnreachableError(BadInputError):
    """An endpoint did not answer, or answered unlike the API expected (exit 2)."""


class StackUpdateFailed(UpgraderError):  # noqa: N818 - the executor's contract names it so
    """A stack update failed, rolled back or timed out; ``events`` hold the cause first."""

    exit_code = ExitCode.STEP_FAILED

    def __init__(self, stack: str, status: str, events: list[dict[str, Any]]) -> None:
        self.stack = stack
        self.status = status
        self.events = events
        cause = next((e for e in events if str(e["status"]).endswith("_FAILED")), None)
        if status == "TIMEOUT":
            message = "is still updating after the time allowed"
            hint = (
                f"watch the stack (aws cloudformation describe-stack-events --stack-name "
                f"{stack}) and re-run apply once it is *_COMPLETE; it resumes from this step"
            )
        else:
            message = f"update ended {status}"
            hint = "fix the cause above, then re-run apply; it resumes from this step"
            if status.endswith("ROLLBACK_FAILED"):
                hint = (
                    f"finish the rollback (aws cloudformation continue-update-rollback "
                    f"--stack-name {stack}), fix the cause above, then re-run apply"
                )
        if cause is not None:
            message += (
                f": {cause['resource']} ({cause['type']}) {cause['status']}: {cause['reason']}"
            )
        super().__init__(f"CloudFormation stack {stack}", message, hint)
