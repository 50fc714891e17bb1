"""CloudTrail trail status in one account and region: whether a trail logs its write management events.

The sweep worker reads it through the member role (cloudtrail:DescribeTrails, GetTrailStatus, GetEventSelectors)
when a canary does not come back, to tell a stopped trail from a missing forwarding rule; `warden status` uses the
same selector check for the central account.
"""

from __future__ import annotations

from typing import Any

from warden.adapters.aws import aws_call


def management_events(selectors: dict[str, Any]) -> bool:
    """Whether a trail's event selectors (basic or advanced) record management write calls."""
    for selector in selectors.get("EventSelectors") or []:
        if selector.get("IncludeManagementEvents", True) and selector.get("ReadWriteType", "All") in (
            "All",
            "WriteOnly",
        ):
            return True
    for selector in selectors.get("AdvancedEventSelectors") or []:
        fields_ = selector.get("FieldSelectors") or []
        category = [item for item in fields_ if item.get("Field") == "eventCategory"]
        if not any("Management" in (item.get("Equals") or []) for item in category):
            continue
        read_only = [item for item in fields_ if item.get("Field") == "readOnly"]
        if any("true" in (item.get("Equals") or []) for item in read_only):
            continue  # read-only calls only: StartSession and every tamper call are writes
        return True
    # A trail that was never given selectors logs all management events.
    return not selectors.get("EventSelectors") and not selectors.get("AdvancedEventSelectors")


class TrailStatus:
    """What is wrong with the trails of one account and region, read with the given CloudTrail client."""

    def __init__(self, cloudtrail: Any, region: str) -> None:
        self._api = cloudtrail
        self._region = region

    def problems(self) -> list[str]:
        """Empty when some trail logs this region's write management events; else what each trail lacks.

        Raises :class:`~warden.errors.AwsCallFailed` when the trails cannot be read."""
        with aws_call("DescribeTrails"):
            listed = self._api.describe_trails(includeShadowTrails=True).get("trailList", [])
        found: list[str] = []
        for trail in listed:
            if not (trail.get("IsMultiRegionTrail") or trail.get("HomeRegion") == self._region):
                continue
            arn = str(trail.get("TrailARN") or trail.get("Name"))
            name = str(trail.get("Name") or arn)[:200]
            with aws_call("GetTrailStatus"):
                logging = bool(self._api.get_trail_status(Name=arn).get("IsLogging"))
            if not logging:
                found.append(f"trail {name} is not logging (StopLogging)")
                continue
            with aws_call("GetEventSelectors"):
                selectors = self._api.get_event_selectors(TrailName=arn)
            if management_events(selectors):
                return []
            found.append(f"trail {name}'s event selectors exclude write management events")
        return found or [f"no trail records management events in {self._region} (DescribeTrails lists none)"]
