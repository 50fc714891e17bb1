"""Machines to start sessions on: EC2 instances (moto's) and hybrid managed nodes (the local cloud's)."""

from __future__ import annotations

import re
import secrets
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .session_model import ManagedNode, managed_nodes_of

_INSTANCE_ID = re.compile(r"i-[0-9a-f]{8}(?:[0-9a-f]{9})?")
_MANAGED_NODE_ID = re.compile(r"mi-[0-9a-f]{17}")
_INSTANCE_ID_LOCK = threading.Lock()


def add_instance(ec2: Any, account_id: str, region: str, tags: dict[str, str], instance_id: str | None) -> str:
    """Run an EC2 instance (state ``running``) with ``tags`` through ``ec2`` (a client); return its id."""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models import instances as ec2_instances

    if instance_id is not None and not _INSTANCE_ID.fullmatch(instance_id):
        raise ValueError(f"invalid instance id {instance_id!r}: expected i- and 8 or 17 hex digits")
    backend = ec2_backends[account_id][region]
    if instance_id is not None and any(instance.id == instance_id for instance in backend.all_instances()):
        raise ValueError(f"instance {instance_id} already exists")
    image = next(iter(backend.amis), "ami-12c6146b")
    request: dict[str, Any] = {"ImageId": image, "MinCount": 1, "MaxCount": 1, "InstanceType": "t3.micro"}
    if tags:
        request["TagSpecifications"] = [
            {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
        ]
    with _INSTANCE_ID_LOCK:
        original = getattr(ec2_instances, "random_instance_id")  # noqa: B009 - not re-exported by moto
        if instance_id is not None:
            # moto draws instance ids at random; pinning one lets tests use the ids of the recorded events.
            setattr(ec2_instances, "random_instance_id", lambda: instance_id)  # noqa: B010
        try:
            reservation = ec2.run_instances(**request)
        finally:
            setattr(ec2_instances, "random_instance_id", original)  # noqa: B010
    return str(reservation["Instances"][0]["InstanceId"])


def add_managed_node(
    ssm: Any,
    ssm_backend: Callable[[], Any],
    registered: datetime,
    tags: dict[str, str],
    *,
    node_id: str | None,
    name: str | None,
) -> str:
    """Register a hybrid managed node (``mi-...``) with ``tags``; SSM's tagging and session APIs know it."""
    if node_id is not None and not _MANAGED_NODE_ID.fullmatch(node_id):
        raise ValueError(f"invalid managed node id {node_id!r}: expected mi- and 17 hex digits")
    node_id = node_id or f"mi-{secrets.token_hex(9)[:17]}"
    nodes = managed_nodes_of(ssm_backend())
    if node_id in nodes:
        raise ValueError(f"managed node {node_id} already exists")
    nodes[node_id] = ManagedNode(
        node_id=node_id,
        name=name or tags.get("Name") or node_id,
        registered=registered,
        ip_address=f"192.0.2.{len(nodes) % 250 + 1}",
        activation_id=str(uuid.uuid4()),
    )
    if tags:
        ssm.add_tags_to_resource(
            ResourceType="ManagedInstance",
            ResourceId=node_id,
            Tags=[{"Key": key, "Value": value} for key, value in tags.items()],
        )
    return node_id
