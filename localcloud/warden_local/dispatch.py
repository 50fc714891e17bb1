"""Background workers that deliver events and run handlers, so API calls return first.

EventBridge and Lambda's asynchronous invocation deliver at least once, concurrently and out of order; a pool of
workers (``workers`` > 1) lets the tests see that. Tasks may be delayed (Lambda retries an asynchronous event after
a minute, then two): a delayed task counts as pending from the moment it is submitted, so :meth:`Dispatcher.settle`
waits for retries too.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from warden.errors import WardenError

logger = logging.getLogger("warden_local")


class SettleTimeout(WardenError, TimeoutError):
    """The local cloud did not go quiet in time (a handler keeps producing work, or hangs)."""


@dataclass
class Task:
    description: str
    run: Callable[[], None]


class Dispatcher:
    """A FIFO of delivery tasks worked by ``workers`` threads, plus tasks due later.

    A task may enqueue more tasks (a handler's API call emits an event, a failed invocation is retried); the
    count of pending work only drops after a task has finished, so :meth:`settle` waits for the whole cascade.
    With one worker tasks run one after the other in submission order; with more, in parallel.
    """

    def __init__(self, name: str, *, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self._name = name
        self.workers = workers
        self._queue: collections.deque[Task] = collections.deque()
        self._later: list[tuple[float, int, Task]] = []  # (due on the monotonic clock, order, task)
        self._order = itertools.count()
        self._pending = 0
        self._running: dict[int, str] = {}
        self._condition = threading.Condition()
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._failure: BaseException | None = None

    def start(self) -> None:
        for number in range(self.workers):
            # The "-dispatcher" suffix names the local Lambda runtime's threads (tests and the bench look for it).
            thread = threading.Thread(target=self._work, name=f"{self._name}-{number}-dispatcher", daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def in_dispatcher(self) -> bool:
        return threading.current_thread() in self._threads

    def submit(self, description: str, run: Callable[[], None], *, delay: float = 0.0) -> None:
        """Queue ``run``; with ``delay`` (wall seconds) it becomes ready only then."""
        with self._condition:
            if self._stopping:
                logger.debug("dropping %s: the local cloud is stopping", description)
                return
            task = Task(description, run)
            if delay > 0:
                heapq.heappush(self._later, (time.monotonic() + delay, next(self._order), task))
            else:
                self._queue.append(task)
            self._pending += 1
            self._condition.notify_all()

    def settle(self, timeout: float = 30.0) -> None:
        """Block until no task is queued, delayed or running; raise :class:`SettleTimeout` after ``timeout`` s."""
        if self.in_dispatcher():
            raise RuntimeError("settle() was called from a handler: it would wait for itself")
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._pending:
                if self._failure is not None:
                    raise RuntimeError(f"the local cloud's dispatcher died: {self._failure!r}") from self._failure
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SettleTimeout(
                        f"the local cloud did not settle within {timeout:g}s: {self._pending} task(s) pending, "
                        f"running: {', '.join(self._running.values()) or 'nothing'}; queued next: "
                        f"{', '.join(task.description for task in list(self._queue)[:3]) or 'nothing'}; "
                        f"{len(self._later)} due later"
                    )
                self._condition.wait(remaining)

    def _next(self) -> Task | None:
        """The next ready task (None when stopping); the caller holds the condition."""
        while True:
            if self._stopping:
                return None
            now = time.monotonic()
            while self._later and self._later[0][0] <= now:
                self._queue.append(heapq.heappop(self._later)[2])
            if self._queue:
                return self._queue.popleft()
            self._condition.wait(self._later[0][0] - now if self._later else None)

    def _work(self) -> None:
        me = threading.get_ident()
        while True:
            with self._condition:
                task = self._next()
                if task is None:
                    return
                self._running[me] = task.description
            try:
                task.run()
            except Exception as error:
                if self._stopping:
                    # The cloud stopped under a task still running (a settle that timed out, then teardown): its
                    # APIs are gone, so its failure says nothing about the warden. One line, no traceback.
                    logger.warning(
                        "local cloud task abandoned: %s was still running when the local cloud stopped (%s: %s)",
                        task.description,
                        type(error).__name__,
                        error,
                    )
                else:
                    # A delivery bug must not stop every later delivery; it is logged with its task.
                    logger.exception("local cloud task failed: %s", task.description)
            except BaseException as error:  # pragma: no cover - SystemExit from a handler, say
                with self._condition:
                    self._failure = error
                    self._condition.notify_all()
                raise
            finally:
                with self._condition:
                    self._pending -= 1
                    self._running.pop(me, None)
                    self._condition.notify_all()
