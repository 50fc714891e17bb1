"""The local cloud's workers at teardown: a task still running when the cloud stops fails in one line."""

from __future__ import annotations

import logging
import threading

import pytest

from warden_local.dispatch import Dispatcher


def test_a_task_that_fails_after_the_cloud_stopped_is_logged_in_one_line_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN a task still running when the dispatcher is stopped, which then fails (its queue was torn down)
    dispatcher = Dispatcher("teardown-test")
    dispatcher.start()
    running, release = threading.Event(), threading.Event()

    def late_sweep() -> None:
        running.set()
        release.wait(5)
        raise LookupError("The specified queue does not exist.")

    dispatcher.submit("invoke SweeperFunction (attempt 1)", late_sweep)
    assert running.wait(5)

    # WHEN the cloud stops, and the task fails afterwards
    with caplog.at_level(logging.WARNING, logger="warden_local"):
        stopper = threading.Thread(target=dispatcher.stop)
        stopper.start()
        while not dispatcher._stopping:
            pass
        release.set()
        stopper.join(5)

    # THEN one warning names the task and the error, with no traceback
    records = [record for record in caplog.records if record.name == "warden_local"]
    assert [record.levelno for record in records] == [logging.WARNING]
    assert records[0].exc_info is None
    message = records[0].getMessage()
    assert "invoke SweeperFunction (attempt 1) was still running when the local cloud stopped" in message
    assert "LookupError: The specified queue does not exist." in message


def test_a_task_that_fails_while_the_cloud_runs_is_logged_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN a running dispatcher
    dispatcher = Dispatcher("failure-test")
    dispatcher.start()

    def broken() -> None:
        raise ValueError("a delivery bug")

    # WHEN a task fails while the cloud runs
    with caplog.at_level(logging.WARNING, logger="warden_local"):
        dispatcher.submit("deliver event", broken)
        dispatcher.settle(5)
    dispatcher.stop()

    # THEN the failure is an error with its traceback, as before
    records = [record for record in caplog.records if record.name == "warden_local"]
    assert [record.levelno for record in records] == [logging.ERROR]
    assert records[0].exc_info is not None
