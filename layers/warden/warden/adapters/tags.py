"""Target tags: EC2 instances in batches, managed nodes one by one (Systems Manager has no batch tag read)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from warden.adapters.aws import error_code
from warden.ports import TargetInfo

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ssm import SSMClient

# DescribeInstances accepts up to 200 values in one filter; a filter (unlike InstanceIds) does not fail on
# an id that no longer exists, so one missing instance cannot hide the tags of the others.
_EC2_BATCH = 200
_GONE_NODE_ERRORS = {"InvalidResourceId", "InvalidResourceType", "ValidationException"}


class AwsTargetTags:
    """Tags of ``i-…`` instances (EC2) and ``mi-…`` managed nodes (Systems Manager).

    A target that no longer exists, and an ``ecs:`` target (ECS tasks carry no tags Session Manager can see),
    is decided on empty tags: with ``default: deny`` only rules that need no tag can allow it.
    """

    def __init__(self, ec2: EC2Client, ssm: SSMClient) -> None:
        self._ec2 = ec2
        self._ssm = ssm

    def lookup(self, targets: Iterable[str]) -> dict[str, TargetInfo]:
        wanted = sorted(set(targets))
        found: dict[str, TargetInfo] = {}
        instances = [target for target in wanted if target.startswith("i-")]
        for start in range(0, len(instances), _EC2_BATCH):
            found.update(self._instances(instances[start : start + _EC2_BATCH]))
        for target in wanted:
            if target.startswith("mi-"):
                found[target] = self._managed_node(target)
        for target in wanted:
            found.setdefault(target, TargetInfo(target=target, tags={}, exists=not target.startswith("i-")))
        return found

    def _instances(self, ids: list[str]) -> dict[str, TargetInfo]:
        found: dict[str, TargetInfo] = {}
        paginator = self._ec2.get_paginator("describe_instances")
        for page in paginator.paginate(Filters=[{"Name": "instance-id", "Values": ids}]):
            for reservation in page.get("Reservations", []):
                for instance in reservation.get("Instances", []):
                    tags = {tag["Key"]: tag.get("Value", "") for tag in instance.get("Tags", []) if "Key" in tag}
                    state = instance.get("State", {}).get("Name")
                    found[instance["InstanceId"]] = TargetInfo(
                        target=instance["InstanceId"], tags=tags, exists=state not in {"terminated", "shutting-down"}
                    )
        return found

    def _managed_node(self, node_id: str) -> TargetInfo:
        try:
            response = self._ssm.list_tags_for_resource(ResourceType="ManagedInstance", ResourceId=node_id)
        except ClientError as error:
            if error_code(error) in _GONE_NODE_ERRORS:
                return TargetInfo(target=node_id, tags={}, exists=False)
            raise
        tags = {tag["Key"]: tag["Value"] for tag in response.get("TagList", [])}
        return TargetInfo(target=node_id, tags=tags)
