"""Contract-test fixtures: the recorded payloads in ``events/``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
REJECTED_DIR = EVENTS_DIR / "rejected"


def load_event(path: Path) -> dict[str, Any]:
    """Read one recorded payload."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
