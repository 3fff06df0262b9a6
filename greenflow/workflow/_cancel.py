"""Cancellation scopes: a cancel reaches everything started in its scope, once; ``shield()`` opts out.

The scope of a workflow greenlet is the greenlet itself, every greenlet it spawned
(transitively), and every command they made (activities, timers, child workflows). A
workflow cancel request cancels the scope of every top-level greenlet (``@execute`` and
signal handlers); ``future.cancel()`` of a spawned function's future cancels that
greenlet's scope. Cancelling a scope, in a deterministic order:

1. raises :class:`~greenflow.errors.CancelledError` in each of its greenlets at its
   blocking point (at once if blocked, else at its next blocking call), in the order the
   greenlets were created: **once per greenlet**. A greenlet that already received a
   cancellation is not interrupted again, so a cleanup in ``except CancelledError:`` runs
   to completion however many cancel requests follow (they remain visible in history);
2. cancels each command of the scope that is still open, in the order they were made:
   ``RequestCancelActivityTask``, ``CancelTimer``, ``RequestCancelExternalWorkflowExecution``
   for a child (or drops it if not sent yet).

``with shield():`` marks work that a cancellation must not interrupt: commands made and
greenlets spawned inside it are outside every enclosing scope, and a greenlet inside it
gets its cancellation only when it leaves the block (at its next blocking call).
Commands made later, such as a cleanup activity after the cancellation was delivered,
are not cancelled by that (already delivered) request.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from greenlet import getcurrent

from greenflow.errors import CancelledError, WorkflowError

#: The command kinds a cancellation cancels (the others cannot be withdrawn).
CANCELLABLE = ("activity", "timer", "child")


def cancel_scope(hub: Any, roots: list[Any], message: str) -> None:
    """Cancel the scopes of ``roots`` (workflow greenlets of ``hub``'s run); see the module docstring."""
    tree: list[Any] = []
    seen: set[int] = set()
    todo = list(roots)
    while todo:
        g = todo.pop()
        if id(g) in seen or g.cancel_delivered:
            continue
        seen.add(id(g))
        tree.append(g)
        todo.extend(child for child in g.spawned if not child.detached)
    tree.sort(key=lambda g: g.serial)
    commands: list[Any] = []
    for g in tree:
        g.cancel_delivered = True
        commands.extend(c for c in g.commands if not c.shielded and not c.future.done())
        if g.dead:
            continue
        if g.shield_depth:
            g.deferred_cancel = CancelledError(message)
        else:
            hub.wake(g, CancelledError(message))
    commands.sort(key=lambda c: c.seq)
    for command in commands:
        if not command.future.done():
            command.future.cancel()


def track(command: Any) -> None:
    """Note ``command`` in the scope of the greenlet making it (called as it is made)."""
    g = getcurrent()
    owner_commands = getattr(g, "commands", None)
    command.shielded = bool(getattr(g, "shield_depth", 0))
    if owner_commands is None or command.kind not in CANCELLABLE or command.future is None:
        return
    if len(owner_commands) >= g.commands_limit:
        # Forget settled ones, so a long-running loop does not grow this; the limit doubles
        # with what stays open, so the cost is amortised O(1) per command.
        owner_commands[:] = [c for c in owner_commands if not c.future.done()]
        g.commands_limit = max(64, 2 * len(owner_commands))
    owner_commands.append(command)


@contextlib.contextmanager
def shield() -> Iterator[None]:
    """Run the block without being interrupted by cancellation; see the module docstring."""
    g = getcurrent()
    if getattr(g, "gf_run", None) is None or not hasattr(g, "shield_depth"):
        raise WorkflowError("shield() works only inside workflow code")
    g.shield_depth += 1
    try:
        yield
    finally:
        g.shield_depth -= 1
        if not g.shield_depth and g.deferred_cancel is not None:
            exc, g.deferred_cancel = g.deferred_cancel, None
            if g.pending_exc is None:
                g.pending_exc = exc  # raised at the next blocking call
