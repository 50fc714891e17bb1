"""The built artifact on the local cloud: each built handler runs in its own ``python3.13 -I -S`` process.

The local cloud deploys the template ``sam build`` wrote (roles, environment, rules), but its rules deliver to
SQS queues instead of the in-process handlers; a test takes the event EventBridge delivered and hands it to the
built handler in a fresh interpreter whose path holds only the function's built folder, the built layer's
``python/``, the runtime's boto3 and the standard library. It reaches the local cloud over HTTP with the
function's environment and role credentials, as the in-process runtime gives them.

These tests need ``make artifact-test`` (the x86_64 build; ``WARDEN_ARTIFACT_BUILD`` names its folder); the
plain test run does not collect them.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.functional.conftest import POLICY, TUESDAY_MORNING, Stack
from warden_local import ACCOUNT_ID, FunctionCode, LocalCloud

BUILD_ENV = "WARDEN_ARTIFACT_BUILD"
PYTHON_ENV = "WARDEN_ARTIFACT_PYTHON"
BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
# What the Lambda Python runtime ships besides the standard library: boto3 and what it needs.
RUNTIME_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
LAYER = "WardenLayer"
FUNCTIONS = ("SessionStartedFunction", "SessionEndedFunction", "SweeperFunction", "TamperWatchFunction")

if not os.environ.get(BUILD_ENV):
    collect_ignore_glob = ["test_built_*.py"]


class ArtifactError(AssertionError):
    """A built handler failed, or ran with something on its path it must not have."""


@dataclass(frozen=True)
class ArtifactRun:
    """One run of a built handler in its own interpreter."""

    function: str
    ok: bool
    result: Any
    error: str | None
    stdout: str
    stderr: str
    modules: dict[str, str]

    def logs(self) -> list[dict[str, Any]]:
        """The handler's structured log lines (Powertools writes one JSON object per line to stdout)."""
        lines = []
        for line in self.stdout.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and "level" in record:
                lines.append(record)
        return lines


@pytest.fixture(scope="session")
def build_dir() -> Path:
    directory = Path(os.environ[BUILD_ENV]).resolve()
    missing = [name for name in (LAYER, *FUNCTIONS, "template.yaml") if not (directory / name).exists()]
    if missing:
        pytest.fail(f"{directory} is not a complete sam build (missing {', '.join(missing)}): run `make artifact-test`")
    return directory


@pytest.fixture(scope="session")
def lambda_python() -> str:
    python = os.environ.get(PYTHON_ENV) or shutil.which("python3.13")
    if not python:
        pytest.skip("no python3.13 (the Lambda runtime) on this machine: the built artifact is not tested")
    # The interpreter itself, not a pyenv shim: the handler's environment has no pyenv settings.
    probe = subprocess.run(
        [python, "-I", "-S", "-c", "import sys; print(sys.executable); print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = probe.stdout.split()
    if probe.returncode != 0 or len(lines) != 2 or lines[1] != "3.13":
        pytest.fail(f"{python} is not a working Python 3.13 (the Lambda runtime): {probe.stdout}{probe.stderr}")
    return lines[0]


@pytest.fixture(scope="session")
def runtime_packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with only boto3 and its dependencies (links into this environment), like the runtime's own."""
    folder = tmp_path_factory.mktemp("lambda-runtime")
    for name in RUNTIME_DISTRIBUTIONS:
        distribution = importlib.metadata.distribution(name)
        tops = {
            Path(str(entry)).parts[0]
            for entry in distribution.files or ()
            if not str(entry).startswith("..") and not Path(str(entry)).parts[0].endswith((".dist-info", ".data"))
        }
        tops.discard("__pycache__")
        if not tops:
            raise ArtifactError(f"{name} lists no files: cannot put the runtime's {name} on the path")
        for top in tops:
            link = folder / top
            if not link.exists():
                link.symlink_to(Path(str(distribution.locate_file(top))))
    return folder


class BuiltStack(Stack):
    """The stack deployed from the build, its rules feeding queues; :meth:`invoke` runs a built handler."""

    def __init__(self, cloud: LocalCloud, *, python: str, runtime_packages: Path, scratch: Path) -> None:
        super().__init__(cloud)
        self._python = python
        self._runtime_packages = runtime_packages
        self._scratch = scratch
        resources = cloud.client("cloudformation").describe_stack_resources(StackName=cloud.stack_name)
        physical = {item["LogicalResourceId"]: item.get("PhysicalResourceId") for item in resources["StackResources"]}
        self.function_names = {logical_id: physical[logical_id] for logical_id in FUNCTIONS}
        self._queues = self._feed_rules_to_queues()
        # What ran in-process before the rules fed queues (the tamper watch reading the stack's own creation calls)
        # is not the built code's doing.
        self.cloud.settle()
        self._ran_before = len(self.cloud.invocations)

    def in_process_runs(self) -> list[Any]:
        """Handler runs in the test's own process since the rules were fed to queues (none: only the build ran)."""
        self.cloud.settle()
        return list(self.cloud.invocations[self._ran_before :])

    def _feed_rules_to_queues(self) -> dict[str, str]:
        """Each rule that targets a function delivers to a queue of its own instead; function name -> queue."""
        from moto.events.models import events_backends

        events, sqs, lambda_ = self.cloud.client("events"), self.cloud.client("sqs"), self.cloud.client("lambda")
        arns = {
            lambda_.get_function(FunctionName=name)["Configuration"]["FunctionArn"]: name
            for name in self.function_names.values()
        }
        queues: dict[str, str] = {}
        self.rules: dict[str, str] = {}
        for rule in events.list_rules()["Rules"]:
            for target in events.list_targets_by_rule(Rule=rule["Name"])["Targets"]:
                function = arns.get(target["Arn"])
                if function is None:
                    continue
                url = sqs.create_queue(QueueName=f"delivered-to-{uuid.uuid4().hex[:8]}")["QueueUrl"]
                arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
                # Rewired out of band (the test's plumbing, not a person's call): CloudTrail records nothing, so
                # the tamper watch, which still runs in-process, has nothing to report.
                rules = events_backends[ACCOUNT_ID][self.cloud.region]
                rules.remove_targets(rule["Name"], None, [target["Id"]])
                rules.put_targets(rule["Name"], None, [{"Id": target["Id"], "Arn": arn}])
                queues[function] = url
                self.rules[function] = rule["Name"]
        unfed = sorted(set(self.function_names.values()) - set(queues))
        if unfed:
            raise ArtifactError(f"no EventBridge rule targets {', '.join(unfed)} in the built template")
        return queues

    def delivered(self, logical_id: str) -> list[dict[str, Any]]:
        """Every event EventBridge delivered to the function since the last call, oldest first."""
        self.cloud.settle()
        sqs = self.cloud.client("sqs")
        url = self._queues[self.function_names[logical_id]]
        received: list[dict[str, Any]] = []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                received.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return received

    def invoke(self, logical_id: str, event: dict[str, Any]) -> ArtifactRun:
        """Run the built handler on ``event`` in a fresh interpreter; raise ``ArtifactError`` if it fails."""
        name = self.function_names[logical_id]
        code: FunctionCode = self.cloud.functions[name]
        # The environment and role credentials the in-process runtime gives this function (see the report of
        # this change: a public LocalCloud hook would be cleaner than reaching into the runtime).
        runtime = self.cloud._runtime
        function = runtime._function(name)
        environment = runtime._environment(function, code)
        environment.update({"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "en_US.UTF-8", "TZ": ":UTC"})
        layers = [layer / "python" for layer in code.layer_dirs]
        path = [str(code.code_dir), *map(str, layers), str(self._runtime_packages)]
        result_file = self._scratch / f"{uuid.uuid4().hex}.json"
        request = {
            "path": path,
            "handler": code.handler,
            "event": event,
            "result": str(result_file),
            "context": {
                "function_name": name,
                "function_arn": function.function_arn,
                "memory_limit_in_mb": int(function.memory_size),
                "timeout_seconds": int(function.timeout),
                "aws_request_id": str(uuid.uuid4()),
            },
        }
        process = subprocess.run(
            [self._python, "-I", "-S", str(BOOTSTRAP)],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            env=environment,
            timeout=int(function.timeout) + 30,
            check=False,
        )
        if not result_file.is_file():
            raise ArtifactError(
                f"the built {logical_id} did not run (exit status {process.returncode}):\n{process.stderr[-4000:]}"
            )
        outcome = json.loads(result_file.read_text(encoding="utf-8"))
        run = ArtifactRun(
            function=logical_id,
            ok=outcome["ok"],
            result=outcome.get("result"),
            error=None if outcome["ok"] else f"{outcome['error_type']}: {outcome['error']}",
            stdout=process.stdout,
            stderr=process.stderr,
            modules=outcome["modules"],
        )
        if not run.ok:
            hint = ""
            if outcome["error_type"] in ("ModuleNotFoundError", "ImportError"):
                hint = (
                    "\nThe built layer lacks a module the shipped code imports: add the package to "
                    "layers/warden/requirements.txt, or stop importing a development-only package from shipped code."
                )
            raise ArtifactError(
                f"the built {logical_id} failed on its event: {run.error}{hint}\n{outcome['traceback']}"
                f"\n--- handler output ---\n{(process.stdout + process.stderr)[-4000:]}"
            )
        self._check_isolation(logical_id, path, outcome)
        return run

    def _check_isolation(self, logical_id: str, path: list[str], outcome: dict[str, Any]) -> None:
        """Everything the handler loaded came from ``path`` or the standard library, nothing from elsewhere."""
        standard = [entry for entry in outcome["sys_path"] if entry not in path]
        leaked = [entry for entry in standard if "site-packages" in entry or "dist-packages" in entry]
        if leaked:
            raise ArtifactError(f"the built {logical_id} ran with {leaked} on its path (not isolated)")
        allowed = tuple(os.path.join(entry, "") for entry in (*path, *standard))
        foreign = {
            module: location
            for module, location in outcome["modules"].items()
            if location != str(BOOTSTRAP) and not location.startswith(allowed)
        }
        if foreign:
            raise ArtifactError(f"the built {logical_id} loaded modules from outside its artifact: {foreign}")


@pytest.fixture(scope="session")
def _zip_each_folder_once() -> Iterator[None]:
    """Each deploy zips the built layer (tens of MB) again; the build does not change during the run."""
    from warden_local import stack

    with pytest.MonkeyPatch.context() as patch:
        # Only a speed-up: if the local cloud stops zipping this way, the tests stay right, just slower.
        patch.setattr(stack, "_zip_directory", functools.cache(stack._zip_directory), raising=False)
        yield


@pytest.fixture
def built(
    build_dir: Path, lambda_python: str, runtime_packages: Path, tmp_path: Path, _zip_each_folder_once: None
) -> Iterator[BuiltStack]:
    with LocalCloud(
        start_at=TUESDAY_MORNING, policy=POLICY.format(mode="enforce"), template=build_dir / "template.yaml"
    ) as cloud:
        yield BuiltStack(cloud, python=lambda_python, runtime_packages=runtime_packages, scratch=tmp_path)
