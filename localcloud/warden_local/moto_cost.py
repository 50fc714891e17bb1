"""Work moto does on every start or stack that no test observes, done lazily or not at all (installed once).

Each local cloud resets moto and creates its stack again: parsing the JSON template with PyYAML's pure-Python
loader, generating an RSA key for every symmetric KMS key, and creating 1,227 ECS-optimised AMIs (each with an EBS
snapshot) in every account-region that touches EC2 were a third of a start-up's CPU. What AWS answers is unchanged.
"""

from __future__ import annotations

import json
import threading
from typing import Any

_SYMMETRIC_SPECS = frozenset({"SYMMETRIC_DEFAULT", "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512"})


def install() -> None:
    """Patch moto (called by :func:`warden_local.moto_ext.install`, under its lock)."""
    _parse_json_templates_as_json()
    _generate_asymmetric_material_on_first_use()
    _skip_ecs_optimised_amis()


def _parse_json_templates_as_json() -> None:
    """CloudFormation reads a template body as JSON or YAML; moto tries PyYAML first, which on the stack's JSON
    (what the local cloud sends after the SAM transform) is 30 times slower than ``json`` and gives the same
    document. A body that is not a JSON object goes to moto's YAML reading as before."""
    from moto.cloudformation.models import Stack

    original = Stack.parse_template

    def parse_template(template: str) -> dict[str, Any]:
        if isinstance(template, str) and template.lstrip().startswith("{"):
            try:
                document = json.loads(template)
            except ValueError:
                pass
            else:
                if isinstance(document, dict):
                    return document
        return original(template)

    setattr(Stack, "parse_template", staticmethod(parse_template))  # noqa: B010 - patching moto's class


class _LazyPrivateKey:
    """moto's private key of a KMS key, generated when first used (Sign, Verify, GetPublicKey), not at CreateKey."""

    def __init__(self, generate: Any, key_spec: str) -> None:
        self._generate = generate
        self._key_spec = key_spec
        self._key: Any = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_generate", "_key_spec", "_key", "_lock"):
            # copy/pickle probe dunders on a bare instance: no recursion through the attributes set in __init__
            raise AttributeError(name)
        with self._lock:
            if self._key is None:
                self._key = self._generate(self._key_spec)
        return getattr(self._key, name)


def _generate_asymmetric_material_on_first_use() -> None:
    """moto generates an RSA-2048 private key even for a symmetric KMS key (DynamoDB's default ``alias/aws/dynamodb``
    key, created with every stack's first table): about 0.1 s of CPU for key material nothing reads."""
    from moto.kms import models as kms_models

    original = getattr(kms_models, "generate_private_key")  # noqa: B009 - not re-exported by moto

    def generate_private_key(key_spec: str) -> Any:
        if key_spec in _SYMMETRIC_SPECS:
            return _LazyPrivateKey(original, key_spec)
        return original(key_spec)

    setattr(kms_models, "generate_private_key", generate_private_key)  # noqa: B010


def _skip_ecs_optimised_amis() -> None:
    """moto's EC2 creates the public AMIs of each account-region it is first asked about: 44 standard ones, the
    latest Amazon Linux ones, and 1,227 ECS-optimised ones, each with an EBS snapshot (0.1-0.2 s per account-region).
    The local cloud keeps the first two lists (its instances use the first standard image) and leaves out the ECS
    ones, which no Session Manager path reads."""
    from moto.ec2.models import amis

    original_load = getattr(amis, "load_resource")  # noqa: B009 - not re-exported by moto

    def load_resource(path: str) -> Any:
        if path.startswith("ec2/resources/ecs/optimized_amis/"):
            return []
        return original_load(path)

    setattr(amis, "load_resource", load_resource)  # noqa: B010
