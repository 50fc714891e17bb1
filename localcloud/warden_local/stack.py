"""The stack from ``template.yaml`` itself: SAM-translated offline, code packaged, created in moto's CloudFormation."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from .conditions import TemplateError, apply_conditions
from .invocations import FunctionCode
from .organization import CENTRAL_ACCOUNT

logger = logging.getLogger("warden_local")

ARTIFACT_BUCKET = "warden-local-artifacts"
# The AWS managed policies SAM may look up by name (Policies: [AWSLambdaExecute]); a static map keeps it offline.
MANAGED_POLICIES = {
    name: f"arn:aws:iam::aws:policy/{path}{name}"
    for name, path in {
        "AWSLambdaBasicExecutionRole": "service-role/",
        "AWSLambdaExecute": "",
        "AWSLambdaRole": "service-role/",
        "AWSLambdaVPCAccessExecutionRole": "service-role/",
        "AWSLambdaSQSQueueExecutionRole": "service-role/",
        "AWSLambdaDynamoDBExecutionRole": "service-role/",
        "AWSXRayDaemonWriteAccess": "",
        "AWSXrayWriteOnlyAccess": "",
        "CloudWatchLambdaInsightsExecutionRolePolicy": "",
        "AmazonSSMReadOnlyAccess": "",
        "AmazonDynamoDBReadOnlyAccess": "",
        "AmazonSNSFullAccess": "",
        "AmazonSQSFullAccess": "",
    }.items()
}


class _StaticPolicyLoader:
    def load(self) -> dict[str, str]:
        return dict(MANAGED_POLICIES)


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (``!Ref``, ``!GetAtt``, ``!Sub``, ...)."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = tag_suffix if tag_suffix in ("Ref", "Condition") else f"Fn::{tag_suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


class _Memo:
    """Results of pure, deterministic steps (parsing a template, the SAM transform, zipping a folder), keyed by
    everything they read, kept as JSON text or bytes so that each caller gets its own copy to change.

    Every local cloud of a test run deploys the same template: parsing its YAML and translating it were half of a
    cloud's start-up. A changed file has a different key, so nothing stale is ever served.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, ...], Any] = {}

    def get(self, key: tuple[str, ...], compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._entries:
                return self._entries[key]
        value = compute()  # outside the lock: two threads at worst compute the same value twice
        with self._lock:
            return self._entries.setdefault(key, value)


_MEMO = _Memo()


def load_template(path: Path) -> dict[str, Any]:
    """Read a CloudFormation/SAM template (YAML or JSON)."""
    text = path.read_text(encoding="utf-8")
    key = ("template", hashlib.sha256(text.encode("utf-8")).hexdigest())
    # YAML anchors share objects between resources, and the translator mutates what it is given: a fresh copy each.
    return json.loads(_MEMO.get(key, lambda: _parse_template_text(path, text)))  # type: ignore[no-any-return]


def _parse_template_text(path: Path, text: str) -> str:
    try:
        document = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - safe loader + tags
    except yaml.YAMLError as error:
        raise TemplateError(f"{path}: {error}") from None
    if not isinstance(document, dict) or "Resources" not in document:
        raise TemplateError(f"{path}: not a CloudFormation template (no Resources)")
    return json.dumps(document)


@dataclass
class PackagedTemplate:
    """The translated template, and what the local runtime needs to run its functions."""

    template: dict[str, Any]
    functions: dict[str, FunctionCode] = field(default_factory=dict)  # logical id -> code
    artifacts: dict[str, bytes] = field(default_factory=dict)  # S3 key -> zip
    code_at: dict[str, FunctionCode] = field(default_factory=dict)  # S3 key of a function's zip -> its code


def package(
    template_path: Path, *, stack_name: str, region: str, account_id: str, parameters: dict[str, str]
) -> PackagedTemplate:
    """Replace local CodeUri/ContentUri with S3 artifacts (like ``sam package``) and run the SAM transform."""
    template = load_template(template_path)
    base = template_path.parent
    artifacts: dict[str, bytes] = {}
    code_dirs: dict[str, Path] = {}  # S3 key -> local directory
    handlers: dict[str, str] = {}  # function logical id -> handler
    globals_function = template.get("Globals", {}).get("Function", {})

    def upload(logical_id: str, local: Any, kind: str) -> str:
        if not isinstance(local, str) or local.startswith("s3://"):
            raise TemplateError(f"{logical_id}: {kind} must be a local path for the local cloud, got {local!r}")
        directory = (base / local).resolve()
        if not directory.is_dir():
            raise TemplateError(f"{logical_id}: {kind} {local} is not a directory")
        key = code_key(logical_id, stack_name)
        artifacts[key] = _zip_directory(directory)
        code_dirs[key] = directory
        return f"s3://{ARTIFACT_BUCKET}/{key}"

    for logical_id, resource in template["Resources"].items():
        properties = resource.setdefault("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function":
            if "InlineCode" in properties or properties.get("PackageType") == "Image":
                raise TemplateError(f"{logical_id}: only zip functions with a local CodeUri run in the local cloud")
            properties["CodeUri"] = upload(
                logical_id, properties.get("CodeUri", globals_function.get("CodeUri")), "CodeUri"
            )
            handler = properties.get("Handler", globals_function.get("Handler"))
            if not isinstance(handler, str):
                raise TemplateError(f"{logical_id}: Handler is required")
            handlers[logical_id] = handler
        elif resource.get("Type") == "AWS::Serverless::LayerVersion":
            properties["ContentUri"] = upload(logical_id, properties.get("ContentUri"), "ContentUri")
    if "CodeUri" in globals_function:
        del globals_function["CodeUri"]

    values: dict[str, Any] = {
        "AWS::Region": region,
        "AWS::AccountId": account_id,
        "AWS::StackName": stack_name,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        **parameters,
    }
    try:
        translated = _transform(template, values, region)
    except Exception as error:
        raise TemplateError(f"{template_path}: SAM transform failed: {error}") from None

    apply_conditions(translated, values)

    layer_dirs: dict[str, Path] = {}
    functions: dict[str, FunctionCode] = {}
    resources = translated["Resources"]
    for logical_id, resource in resources.items():
        if resource.get("Type") == "AWS::Lambda::LayerVersion":
            key = resource.get("Properties", {}).get("Content", {}).get("S3Key")
            if key in code_dirs:
                layer_dirs[logical_id] = code_dirs[key]
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Lambda::Function" or logical_id not in handlers:
            continue
        properties = resource.get("Properties", {})
        key = properties.get("Code", {}).get("S3Key")
        layers = tuple(
            layer_dirs[ref["Ref"]]
            for ref in properties.get("Layers", [])
            if isinstance(ref, dict) and ref.get("Ref") in layer_dirs
        )
        functions[logical_id] = FunctionCode(code_dir=code_dirs[key], handler=handlers[logical_id], layer_dirs=layers)
    code_at = {
        f"s3://{ARTIFACT_BUCKET}/{code_key(logical_id, stack_name)}": code for logical_id, code in functions.items()
    }
    return PackagedTemplate(template=translated, functions=functions, artifacts=artifacts, code_at=code_at)


def code_key(logical_id: str, stack_name: str) -> str:
    """The S3 key of a function's (or layer's) zip, as :func:`package` uploads it."""
    return f"{stack_name}/{logical_id}.zip"


def _transform(template: dict[str, Any], values: dict[str, Any], region: str) -> dict[str, Any]:
    """The SAM transform of ``template`` (which it may change), remembered for the same template and values."""
    key = ("transform", json.dumps([template, values, region], sort_keys=True, default=str))
    return json.loads(_MEMO.get(key, lambda: json.dumps(_translate(template, values, region))))  # type: ignore[no-any-return]


def _translate(template: dict[str, Any], values: dict[str, Any], region: str) -> dict[str, Any]:
    import boto3
    from samtranslator.metrics.metrics import DummyMetricsPublisher, Metrics
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.utils.py27hash_fix import to_py27_compatible_template, undo_mark_unicode_str_in_template

    # A session pinned to the region: the translator would otherwise ask boto3's resolution chain for one.
    metrics = Metrics("ServerlessTransform", DummyMetricsPublisher())
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region), metrics=metrics)
    to_py27_compatible_template(template, values)
    loader = _StaticPolicyLoader()
    try:
        translated = translator.translate(template, parameter_values=values, get_managed_policy_map=loader.load)
    finally:
        # The translator counts what it did; unpublished counts make it log a warning when collected.
        metrics.publish()
    return undo_mark_unicode_str_in_template(translated)  # type: ignore[no-any-return]


def _zip_directory(directory: Path) -> bytes:
    """The deployment package of ``directory``; zipped again only when a file in it changed (name, size or mtime)."""
    files = [
        path
        for path in sorted(directory.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    ]
    stamps = [f"{path}:{stat.st_size}:{stat.st_mtime_ns}" for path in files for stat in (path.stat(),)]
    key = ("zip", str(directory), hashlib.sha256("\n".join(stamps).encode("utf-8")).hexdigest())
    zipped: bytes = _MEMO.get(key, lambda: _zip_files(directory, files))
    return zipped


def _zip_files(directory: Path, files: list[Path]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(directory).as_posix())
        if not archive.namelist():
            # An empty zip is still a valid deployment package; Lambda needs at least the central directory.
            archive.writestr(".keep", "")
    return buffer.getvalue()


def parameters_for(template: dict[str, Any], supplied: dict[str, str]) -> list[dict[str, str]]:
    """CreateStack parameters: the supplied values for parameters the template declares."""
    declared = template.get("Parameters", {})
    return [{"ParameterKey": key, "ParameterValue": value} for key, value in supplied.items() if key in declared]


def deploy(
    template: Path,
    *,
    stack_name: str,
    region: str,
    account_id: str,
    parameters: dict[str, str],
    cloudformation: Any,
    register: Callable[[str, FunctionCode], None],
    register_artifact: Callable[[str, FunctionCode], None] | None = None,
) -> None:
    """What ``sam deploy`` does: upload the code zips, create the stack, and register each function's local code.

    ``register_artifact`` (``s3://bucket/key`` of a zip, its code) learns the code before the stack is created, so
    that a function can run while CloudFormation still creates the stack (AppConfig's validator at a deployment the
    stack makes); ``register`` learns each function's name once the stack is complete.

    Raises :class:`TemplateError` when the template cannot be translated or the stack does not complete.
    """
    from moto.s3.models import s3_backends

    if not template.is_file():
        raise TemplateError(f"no template at {template}")
    packaged = package(template, stack_name=stack_name, region=region, account_id=account_id, parameters=parameters)
    s3 = s3_backends[account_id]["aws"]
    s3.create_bucket(ARTIFACT_BUCKET, region)
    for key, body in packaged.artifacts.items():
        s3.put_object(ARTIFACT_BUCKET, key, body)
    if register_artifact is not None:
        for location, code in packaged.code_at.items():
            register_artifact(location, code)
    try:
        cloudformation.create_stack(
            StackName=stack_name,
            TemplateBody=json.dumps(packaged.template),
            Parameters=parameters_for(packaged.template, parameters),
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
    except Exception as error:
        raise TemplateError(f"creating stack {stack_name} failed: {error}") from error
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        events = cloudformation.describe_stack_events(StackName=stack_name).get("StackEvents", [])
        failed = [str(e.get("ResourceStatusReason")) for e in events if e.get("ResourceStatus") == "CREATE_FAILED"]
        reason = stack.get("StackStatusReason") or "; ".join(failed) or "no reason"
        raise TemplateError(f"stack {stack_name} is {stack['StackStatus']}: {reason}")
    resources = cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
    physical = {item["LogicalResourceId"]: item.get("PhysicalResourceId") for item in resources}
    for logical_id, code in packaged.functions.items():
        name = physical.get(logical_id)
        if name:
            register(name, code)


def deploy_as_sam(
    template: Path,
    *,
    stack_name: str,
    region: str,
    parameters: dict[str, str],
    cloudformation: Any,
    register: Callable[[str, FunctionCode], None],
    register_artifact: Callable[[str, FunctionCode], None],
    deployed_at: datetime,
    unemulated: list[tuple[str, str]],
    record_calls: Callable[[list[dict[str, Any]]], None],
) -> None:
    """:func:`deploy` into the central account, then what AWS would show afterwards: the stack created at
    ``deployed_at``, its alert subscription confirmed, and CloudTrail's records of CloudFormation's watched calls
    (``record_calls`` gets the stack's resource summaries)."""
    from . import out_of_band

    account_id = CENTRAL_ACCOUNT
    deploy(
        template,
        stack_name=stack_name,
        region=region,
        account_id=account_id,
        parameters=parameters,
        cloudformation=cloudformation,
        register=register,
        register_artifact=register_artifact,
    )
    outputs = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0].get("Outputs", [])
    topic = next((item["OutputValue"] for item in outputs if item["OutputKey"] == "AlertsTopicArn"), None)
    out_of_band.as_deployed_at(account_id, region, stack_name, deployed_at, topic)
    if unemulated:
        logger.warning(
            "resources the local cloud does not emulate (created as placeholders): %s",
            ", ".join(f"{logical} ({kind})" for logical, kind in unemulated),
        )
    resources = cloudformation.list_stack_resources(StackName=stack_name)
    record_calls(resources.get("StackResourceSummaries", []))
