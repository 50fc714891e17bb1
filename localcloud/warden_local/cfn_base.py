"""What the CloudFormation resource types the local cloud emulates share: a physical id, a type, the attributes it
has. A mixin, not a base: moto registers only direct subclasses of ``CloudFormationModel``."""

from __future__ import annotations


class ResourceFailed(Exception):
    """A resource the service refused to create: CloudFormation fails the stack (``ROLLBACK_COMPLETE``) and its
    events give the resource and the service's reason, as on AWS (moto would answer 500 instead)."""

    def __init__(self, logical_id: str, reason: str) -> None:
        super().__init__(f"{logical_id}: {reason}")
        self.logical_id = logical_id
        self.reason = reason


class LocalModel:
    """A physical id, a type, the attributes it has (``has_cfn_attr``); deleting does nothing unless overridden."""

    CFN_TYPE = ""
    NAME_PROPERTY = ""
    ATTRIBUTES: tuple[str, ...] = ()
    physical_id: str

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.CFN_TYPE

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def delete(self, account_id: str, region_name: str) -> None:
        pass
