"""Delivery as EventBridge and Lambda's asynchronous invocation behave: concurrent, retried later, sometimes twice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.localcloud.conftest import APP_TEMPLATE, START
from tests.localcloud.test_routing import drain
from warden_local import Fidelity, LocalCloud

pytestmark = pytest.mark.functional


@pytest.fixture
def concurrent_cloud() -> Iterator[LocalCloud]:
    fidelity = Fidelity(workers=4, retry_delays=(0.3, 0.6))
    with LocalCloud(template=APP_TEMPLATE, start_at=START, stack_name="warden-test", fidelity=fidelity) as cloud:
        yield cloud


def test_a_duplicated_event_runs_twice_at_the_same_time(concurrent_cloud: LocalCloud) -> None:
    # GIVEN the next StartSession event is to be delivered twice at once
    concurrent_cloud.faults.duplicate_next_event("StartSession")

    # WHEN a session starts
    concurrent_cloud.client("ssm").start_session(Target=concurrent_cloud.add_instance({}))
    concurrent_cloud.settle()

    # THEN the handler ran twice for the same CloudTrail event, with two request ids, overlapping in time
    first, second = concurrent_cloud.invocations
    assert first.event_id == second.event_id
    assert first.request_id != second.request_id
    assert first.wall_started < second.wall_ended and second.wall_started < first.wall_ended
    assert len(drain(concurrent_cloud, concurrent_cloud.stack_outputs()["SeenQueueUrl"])) == 2


def test_a_failed_invocation_is_retried_after_a_delay_and_settle_waits_for_it(concurrent_cloud: LocalCloud) -> None:
    # WHEN the handler fails (the test app fails on this reason; its MaximumRetryAttempts is 1)
    concurrent_cloud.client("ssm").start_session(Target=concurrent_cloud.add_instance({}), Reason="please fail")
    concurrent_cloud.settle()

    # THEN settle returned after the retry, which came at least the first retry delay after the failure
    first, retry = concurrent_cloud.invocations
    assert (first.attempt, retry.attempt) == (1, 2)
    assert (first.ok, retry.ok) == (False, False)
    assert retry.wall_started - first.wall_ended >= 0.3
    [failure] = drain(concurrent_cloud, concurrent_cloud.stack_outputs()["FailedQueueUrl"])
    assert failure["requestContext"]["approximateInvokeCount"] == 2


def test_events_of_one_burst_are_delivered_by_several_workers(concurrent_cloud: LocalCloud) -> None:
    # GIVEN four workers; WHEN four sessions start one right after the other
    ssm = concurrent_cloud.client("ssm")
    instance = concurrent_cloud.add_instance({})
    for _ in range(4):
        ssm.start_session(Target=instance)
    concurrent_cloud.settle()

    # THEN each event was handled once and every report arrived
    assert len({i.event_id for i in concurrent_cloud.invocations}) == 4
    assert all(i.ok for i in concurrent_cloud.invocations)
    assert len(drain(concurrent_cloud, concurrent_cloud.stack_outputs()["SeenQueueUrl"])) == 4
