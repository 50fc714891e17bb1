"""Target tags: EC2 instances in batches, managed nodes one by one (Systems Manager has no batch tag read)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from warden.adapters.aws import aws_call, error_code
from warden.errors import AwsCallFailed, describe
from warden.records import TargetInfo

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import FilterTypeDef
    from mypy_boto3_ssm import SSMClient

# DescribeTags with a resource-id filter: tags only (a fraction of DescribeInstances' payload), up to 200
# ids a call, and an id that no longer exists is simply absent instead of failing the whole batch.
_EC2_BATCH = 200
_GONE_NODE_ERRORS = {"InvalidResourceId", "InvalidResourceType", "ValidationException"}


class AwsTargetTags:
    """Tags of ``i-…`` instances (EC2) and ``mi-…`` managed nodes (Systems Manager).

    A target that no longer exists, an untagged instance and an ``ecs:`` target (ECS tasks carry no tags
    Session Manager can see) are decided on empty tags: with ``default: deny`` only rules that need no tag
    can allow them.
    """

    def __init__(self, ec2: EC2Client, ssm: SSMClient) -> None:
        self._ec2 = ec2
        self._ssm = ssm

    def lookup(self, targets: Iterable[str]) -> dict[str, TargetInfo]:
        return self._lookup(targets, isolate=False)[0]  # without isolation the first failure is raised

    def lookup_each(self, targets: Iterable[str]) -> tuple[dict[str, TargetInfo], dict[str, str]]:
        return self._lookup(targets, isolate=True)

    def _lookup(self, targets: Iterable[str], *, isolate: bool) -> tuple[dict[str, TargetInfo], dict[str, str]]:
        wanted = sorted(set(targets))
        found: dict[str, TargetInfo] = {}
        failed: dict[str, str] = {}
        instances = [target for target in wanted if target.startswith("i-")]
        for start in range(0, len(instances), _EC2_BATCH):
            batch = instances[start : start + _EC2_BATCH]
            try:
                with aws_call("DescribeTags"):
                    found.update(self._instances(batch))
            except AwsCallFailed as error:
                if not isolate:
                    raise
                failed.update(dict.fromkeys(batch, f"DescribeTags: {describe(error)}"))
        for target in wanted:
            if target.startswith("mi-"):
                try:
                    found[target] = self._managed_node(target)
                except AwsCallFailed as error:
                    if not isolate:
                        raise
                    failed[target] = f"ListTagsForResource: {describe(error)}"
        for target in wanted:
            if target not in failed:
                found.setdefault(target, TargetInfo(target=target, tags={}))
        return found, failed

    def _instances(self, ids: list[str]) -> dict[str, TargetInfo]:
        tags: dict[str, dict[str, str]] = {}
        paginator = self._ec2.get_paginator("describe_tags")
        filters: list[FilterTypeDef] = [
            {"Name": "resource-type", "Values": ["instance"]},
            {"Name": "resource-id", "Values": ids},
        ]
        for page in paginator.paginate(Filters=filters, PaginationConfig={"PageSize": 1000}):
            for tag in page.get("Tags", []):
                if "ResourceId" in tag and "Key" in tag:
                    tags.setdefault(tag["ResourceId"], {})[tag["Key"]] = tag.get("Value", "")
        return {instance: TargetInfo(target=instance, tags=found) for instance, found in tags.items()}

    def _managed_node(self, node_id: str) -> TargetInfo:
        try:
            with aws_call("ListTagsForResource"):
                response = self._ssm.list_tags_for_resource(ResourceType="ManagedInstance", ResourceId=node_id)
        except AwsCallFailed as error:
            if error_code(error) in _GONE_NODE_ERRORS:
                return TargetInfo(target=node_id, tags={}, exists=False)
            raise
        tags = {tag["Key"]: tag["Value"] for tag in response.get("TagList", [])}
        return TargetInfo(target=node_id, tags=tags)
