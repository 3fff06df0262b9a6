"""Task lists: the scheduled-but-not-started tasks of one (domain, task list), and its pollers.

Tasks come out highest priority first, then first scheduled first. A queue holds task
*references* only; whether a task is still claimable is decided by the engine when it
claims it (stale entries are skipped), so queues never need to be transactional: they are
only changed after a commit, and rebuilt from the database on start-up.

Long polls wait on a :class:`gevent.event.Event` each, kept FIFO per queue; a new task wakes
exactly one poller, so hundreds of idle pollers cost one small object each and no CPU.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import time
from typing import Callable, Hashable

from gevent.event import Event

from .._waiting import ClientGone, before_blocking, client_gone, woke
from ..wire._faults import limit_exceeded

#: Most long polls waiting on one task list at once (SWF: 1,000).
MAX_POLLERS = 1000

_sequence = itertools.count()


class TaskQueue:
    """The pending tasks and waiting pollers of one task list."""

    __slots__ = ("_heap", "_live", "waiters")

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, Hashable]] = []
        self._live: dict[Hashable, int] = {}
        self.waiters: collections.deque[Event] = collections.deque()

    def __len__(self) -> int:
        return len(self._live)

    def push(self, item: Hashable, priority: int = 0) -> None:
        """Add a task and wake the longest-waiting poller, if any."""
        seq = next(_sequence)
        self._live[item] = seq
        heapq.heappush(self._heap, (-priority, seq, item))
        self.notify()

    def discard(self, item: Hashable) -> None:
        """Forget a task that is no longer pending (started elsewhere, timed out, closed)."""
        if self._live.pop(item, None) is not None and len(self._heap) > 2 * len(self._live) + 1000:
            # Withdrawn tasks stay in the heap until popped; drop them once they dominate.
            live = self._live
            self._heap = [entry for entry in self._heap if live.get(entry[2]) == entry[1]]
            heapq.heapify(self._heap)

    def peek(self) -> Hashable | None:
        """The task :meth:`pop` would answer, left in the queue; ``None`` if there is none.

        For a claim inside a unit of work, which then withdraws it with :meth:`discard` once
        committed (queues change only after a commit)."""
        heap, live = self._heap, self._live
        while heap:
            _, seq, item = heap[0]
            if live.get(item) == seq:
                return item
            heapq.heappop(heap)  # withdrawn or re-pushed: only the heap's copy was left
        return None

    def pop(self) -> Hashable | None:
        """The next task (highest priority, then oldest), or ``None`` if there is none."""
        item = self.peek()  # the heap's top is then that task's live entry
        if item is not None:
            heapq.heappop(self._heap)
            del self._live[item]
        return item

    def notify(self) -> None:
        """Wake the longest-waiting poller (it then tries to take a task)."""
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.is_set():
                waiter.set()
                woke()
                return

    def wake_all(self) -> None:
        """Wake every waiting poller (service shutdown)."""
        while self.waiters:
            self.waiters.popleft().set()


class TaskQueues:
    """All task lists of one kind (decision or activity), created on first use."""

    def __init__(self) -> None:
        self._queues: dict[tuple[str, str], TaskQueue] = {}

    def get(self, domain: str, task_list: str) -> TaskQueue:
        """The queue of ``task_list`` in ``domain`` (created empty if new)."""
        key = (domain, task_list)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = TaskQueue()
        return queue

    def count(self, domain: str, task_list: str) -> int:
        """How many tasks are pending in a task list (0 for one never used)."""
        queue = self._queues.get((domain, task_list))
        return 0 if queue is None else len(queue)

    def items(self) -> list[tuple[tuple[str, str], TaskQueue]]:
        """``((domain, task list), queue)`` of every task list used so far (for metrics)."""
        return list(self._queues.items())

    def clear(self) -> None:
        """Forget every pending task (before a rebuild from the database); pollers stay."""
        for queue in self._queues.values():
            queue._heap.clear()
            queue._live.clear()

    def wake_all(self) -> None:
        """Wake every waiting poller of every queue."""
        for queue in self._queues.values():
            queue.wake_all()


def wait_for_task(queue: TaskQueue, claim: Callable[[Hashable], dict | None],
                  requeue: Callable[[Hashable], None], *, timeout: float,
                  stopping: Callable[[], bool], between: Callable[[], None]) -> dict | None:
    """A long poll: claim the next task of ``queue``, waiting up to ``timeout`` real seconds.

    ``claim(item)`` turns a queue entry into the answer (committing the task's start) or
    returns ``None`` for a stale entry; if it raises, ``requeue(item)`` puts the task back.
    Pollers wait FIFO; :data:`.._waiting.before_blocking` is called before each wait and
    ``between()`` after it (to fire due timeouts). Before taking a task the poll asks
    :data:`.._waiting.client_gone` whether its client hung up meanwhile; if so it takes
    nothing and passes its wake-up on to the next poller. Returns
    ``None`` when the time is up or the service stops.

    Raises:
        Fault: ``LimitExceededFault`` when :data:`MAX_POLLERS` already wait on the queue.
        ClientGone: the client hung up; no task was taken.
    """
    give_up = time.monotonic() + timeout
    gone = client_gone.get()
    while not stopping():
        if gone is not None and gone():
            if len(queue):
                queue.notify()  # a task woke us: hand it to the next poller
            raise ClientGone("the client hung up before a task was taken")
        item = queue.pop()
        if item is not None:
            try:
                answer = claim(item)
            except BaseException:
                requeue(item)
                raise
            if answer is not None:
                return answer
            continue
        remaining = give_up - time.monotonic()
        if remaining <= 0:
            return None
        if len(queue.waiters) >= MAX_POLLERS:
            raise limit_exceeded(f"More than {MAX_POLLERS} pollers are waiting on this task list")
        announce = before_blocking.get()
        if announce is not None:
            announce()
        waiter = Event()
        queue.waiters.append(waiter)
        try:
            waiter.wait(remaining)
        except BaseException:
            if waiter.is_set():
                queue.notify()  # pass the wake-up on, so the task is not left unclaimed
            raise
        finally:
            if not waiter.is_set():
                try:
                    queue.waiters.remove(waiter)
                except ValueError:
                    pass
        if not stopping():
            between()
    return None
