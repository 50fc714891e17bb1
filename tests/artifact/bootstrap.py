"""Run one built handler the way Lambda's Python runtime does, inside an interpreter started with ``-I -S``.

Standard library only: nothing else is importable until the path from the request is in place. The request is
JSON on stdin: ``path`` (the function's folder, the layer's ``python/`` and the runtime's boto3, in Lambda's
order), ``handler`` (``module.function``), ``event``, ``context`` and ``result`` (a file to write the outcome to;
stdout and stderr carry the handler's own logs). The outcome names every module the run loaded and its file, so
the caller can check that nothing came from outside the allowed folders.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
from typing import Any


class LambdaContext:
    """The ``context`` argument: the attributes Powertools and the warden read."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.function_name: str = spec["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn: str = spec["function_arn"]
        self.memory_limit_in_mb: int = spec["memory_limit_in_mb"]
        self.aws_request_id: str = spec["aws_request_id"]
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d") + "/[$LATEST]artifact"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + float(spec["timeout_seconds"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _loaded_files() -> dict[str, str]:
    files: dict[str, str] = {}
    for name, module in list(sys.modules.items()):
        location = getattr(module, "__file__", None)
        if isinstance(location, str):
            files[name] = location
    return files


def main() -> int:
    request = json.load(sys.stdin)
    # Lambda puts the function's folder first, then the layers' python/ folders, then the runtime's own packages,
    # all ahead of the standard library.
    sys.path[:0] = request["path"]
    module_name, _, attribute = request["handler"].rpartition(".")
    outcome: dict[str, Any]
    try:
        handler = getattr(importlib.import_module(module_name), attribute)
        result = handler(request["event"], LambdaContext(request["context"]))
        outcome = {"ok": True, "result": json.loads(json.dumps(result))}
    except Exception as error:
        outcome = {
            "ok": False,
            "error_type": type(error).__name__,
            "error": str(error),
            "traceback": traceback.format_exc(),
        }
    outcome["sys_path"] = list(sys.path)
    outcome["modules"] = _loaded_files()
    with open(request["result"], "w", encoding="utf-8") as stream:
        json.dump(outcome, stream)
    return 0 if outcome["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
