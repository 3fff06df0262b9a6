"""greenflow's exceptions: one root, one class per situation.

Every exception greenflow raises derives from :class:`GreenflowError`. Each docstring says
whose mistake it usually is: the workflow author's (a user bug), greenflow's (please
report it), or the service's (a fault answered by SWF or the local service).

Errors that cross the wire (an activity's exception, a child workflow's failure) are
rebuilt on the other side and attached as ``cause`` (and ``__cause__``).
"""

from __future__ import annotations

from typing import Any


class GreenflowError(Exception):
    """Root of every exception greenflow raises."""

    def __reduce__(self):
        # Keep the keyword attributes across pickling (errors travel between processes).
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(cls, args, state):
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


# --------------------------------------------------------------------------- definitions


class DefinitionError(GreenflowError, TypeError):
    """A workflow or activity definition is invalid (a user bug, raised at import time)."""


class GeventNotPatchedError(GreenflowError, RuntimeError):
    """A part of greenflow that runs on gevent was started in a process gevent has not patched.

    A user bug in the program's entry point: without patching, the gevent greenlets that
    poll and run activities would only run while the program itself waits on gevent, so
    in a program that blocks in ``handle.result()`` they would never run at all. The
    message names the line to add.
    """


class DataConversionError(GreenflowError):
    """A value could not be converted to or from its wire form (a user bug)."""


class PayloadTooLargeError(DataConversionError):
    """A converted input, result or details exceeds SWF's limit of 32,768 characters.

    Attributes:
        what: what was being sent (``"input of activity Orders.ship"``).
        size: its length in characters.
        limit: the limit it exceeds.
    """

    def __init__(self, what: str, size: int, limit: int = 32768):
        super().__init__(f"{what} is {size} characters once converted; SWF allows at most {limit}")
        self.what = what
        self.size = size
        self.limit = limit


# --------------------------------------------------------------------------- workflow code


class WorkflowError(GreenflowError):
    """Base of errors raised inside workflow code by the workflow API."""


class NonDeterministicWorkflowError(WorkflowError):
    """Replayed workflow code asked for a different command than history recorded.

    The workflow code changed in a way that alters its command sequence (a user bug, or a
    deployment without :func:`greenflow.workflow.version`). The decision task is not
    answered, so the execution is not corrupted.

    Attributes:
        event_id: the history event that disagrees (``None`` when history has no event
            where the code made a command).
        event: what history holds there (``"ActivityTaskScheduled Orders.ship#1 id=3"``).
        command: what the code did (``"StartTimer id=3"``).
    """

    def __init__(self, message: str, *, event_id: int | None = None, event: str | None = None,
                 command: str | None = None):
        super().__init__(message)
        self.event_id = event_id
        self.event = event
        self.command = command


class WorkflowBlockingError(WorkflowError):
    """Workflow code blocked on gevent or real I/O instead of the workflow API (a user bug)."""


class NonDeterministicCallError(WorkflowError):
    """Workflow code called a clock, randomness, a thread or a socket (a user bug).

    Raised on the first run, where the call is made, so the mistake shows before any
    replay diverges; the decision task is not answered. The message names the call, its
    file and line and the workflow API to use instead.

    Attributes:
        call: what was called (``"time.time()"``).
        location: ``file:line`` of the call.
    """

    def __init__(self, message: str, *, call: str = "", location: str = ""):
        super().__init__(message)
        self.call = call
        self.location = location


class WorkflowAbortedError(WorkflowError):
    """Workflow code raised ``SystemExit``, ``KeyboardInterrupt`` or another ``BaseException``
    that is not an ``Exception`` (a user bug, e.g. ``sys.exit()`` in workflow code).

    It is contained to its decision task: the task is left unanswered (SWF retries it after
    its timeout) and the worker goes on deciding other executions. The original exception
    is the ``__cause__``.
    """


#: Errors of workflow code that fail the *decision task*, not the execution: the worker
#: does not answer the task, so SWF retries it until fixed code is deployed (unless the
#: worker runs with ``fail_on_nondeterminism``). ``retry()`` never retries them, and an
#: escaping one never becomes the workflow's own ``FailWorkflowExecution``.
DECISION_TASK_ERRORS = (NonDeterministicWorkflowError, WorkflowBlockingError, WorkflowAbortedError,
                        NonDeterministicCallError)


class CancelledError(WorkflowError):
    """The operation was cancelled: a workflow's cancel request, or a cancelled future/activity.

    Workflow code may catch it to clean up; letting it escape ``@execute`` closes the
    execution as CANCELED.
    """

    def __init__(self, message: str = "cancelled", *, details: Any = None):
        super().__init__(message)
        self.details = details


class ActivityTaskError(WorkflowError):
    """Base of the errors an activity call raises in workflow code.

    Attributes:
        activity_id: the activity's ID in the execution.
        activity_type: ``(name, version)`` of the activity type.
        scheduled_event_id: the ``ActivityTaskScheduled`` event (0 if it never got one).
    """

    def __init__(self, message: str, *, activity_id: str = "", activity_type: tuple[str, str] | None = None,
                 scheduled_event_id: int = 0):
        super().__init__(message)
        self.activity_id = activity_id
        self.activity_type = activity_type
        self.scheduled_event_id = scheduled_event_id


class ActivityTaskFailedError(ActivityTaskError):
    """The activity raised; ``cause`` is its exception, rebuilt (also ``__cause__``).

    Attributes:
        reason: the failure reason SWF recorded (the exception's type name).
        cause: the rebuilt exception, or ``None`` when it could not be rebuilt.
    """

    def __init__(self, message: str, *, reason: str = "", cause: BaseException | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.reason = reason
        self.cause = cause
        self.__cause__ = cause


class ActivityTaskTimedOutError(ActivityTaskError):
    """The activity timed out.

    Attributes:
        timeout_type: SWF's ``ActivityTaskTimeoutType``: ``START_TO_CLOSE``,
            ``SCHEDULE_TO_START``, ``SCHEDULE_TO_CLOSE`` or ``HEARTBEAT``.
        details: the last heartbeat details, converted back (``None`` if none).
    """

    def __init__(self, message: str, *, timeout_type: str = "", details: Any = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.timeout_type = timeout_type
        self.details = details


class ScheduleActivityTaskFailedError(ActivityTaskError):
    """SWF refused to schedule the activity (usually a registration or deployment problem).

    ``cause`` is SWF's cause (``ACTIVITY_TYPE_DOES_NOT_EXIST``...).
    """

    def __init__(self, message: str, *, cause: str = "", **kwargs: Any):
        super().__init__(message, **kwargs)
        self.cause = cause


class ChildWorkflowError(WorkflowError):
    """Base of the errors a child-workflow call raises in workflow code.

    Attributes:
        workflow_id: the child's workflow ID.
        run_id: the child's run ID (empty if it never started).
        workflow_type: ``(name, version)`` of the child's type.
    """

    def __init__(self, message: str, *, workflow_id: str = "", run_id: str = "",
                 workflow_type: tuple[str, str] | None = None):
        super().__init__(message)
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.workflow_type = workflow_type


class ChildWorkflowFailedError(ChildWorkflowError):
    """The child workflow failed; ``cause`` is its exception, rebuilt."""

    def __init__(self, message: str, *, reason: str = "", cause: BaseException | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.reason = reason
        self.cause = cause
        self.__cause__ = cause


class ChildWorkflowTimedOutError(ChildWorkflowError):
    """The child workflow exceeded its execution start-to-close timeout."""


class ChildWorkflowTerminatedError(ChildWorkflowError):
    """The child workflow was terminated."""


class StartChildWorkflowFailedError(ChildWorkflowError):
    """SWF refused to start the child; ``cause`` is SWF's cause (``WORKFLOW_ALREADY_RUNNING``...)."""

    def __init__(self, message: str, *, cause: str = "", **kwargs: Any):
        super().__init__(message, **kwargs)
        self.cause = cause


class TimerError(WorkflowError):
    """SWF refused to start or cancel a timer; ``cause`` is SWF's cause (a greenflow bug)."""

    def __init__(self, message: str, *, cause: str = ""):
        super().__init__(message)
        self.cause = cause


class ExternalWorkflowError(WorkflowError):
    """Signalling or cancelling another execution failed.

    ``cause`` is SWF's cause (``UNKNOWN_EXTERNAL_WORKFLOW_EXECUTION``...).
    """

    def __init__(self, message: str, *, cause: str = "", workflow_id: str = "", run_id: str = ""):
        super().__init__(message)
        self.cause = cause
        self.workflow_id = workflow_id
        self.run_id = run_id


# --------------------------------------------------------------------------- executions (client side)


class WorkflowExecutionError(GreenflowError):
    """Base of the errors a handle's ``result()`` raises for an execution that did not complete.

    Attributes:
        workflow_id, run_id: the execution.
    """

    def __init__(self, message: str, *, workflow_id: str = "", run_id: str = ""):
        super().__init__(message)
        self.workflow_id = workflow_id
        self.run_id = run_id


class WorkflowFailedError(WorkflowExecutionError):
    """The execution failed; ``cause`` is the workflow's exception, rebuilt."""

    def __init__(self, message: str, *, reason: str = "", cause: BaseException | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.reason = reason
        self.cause = cause
        self.__cause__ = cause


class WorkflowTimedOutError(WorkflowExecutionError):
    """The execution exceeded its execution start-to-close timeout."""


class WorkflowTerminatedError(WorkflowExecutionError):
    """The execution was terminated (by an operator, a child policy or an SWF limit)."""

    def __init__(self, message: str, *, reason: str = "", cause: str = "", **kwargs: Any):
        super().__init__(message, **kwargs)
        self.reason = reason
        self.cause = cause


class WorkflowCanceledError(WorkflowExecutionError):
    """The execution was cancelled and closed as CANCELED."""


class ResultTimeoutError(GreenflowError, TimeoutError):
    """``result(timeout=...)`` gave up waiting; the execution is still open."""


# --------------------------------------------------------------------------- service faults


class SWFError(GreenflowError):
    """A fault answered by SWF or the local service.

    Attributes:
        code: the fault's name (``UnknownResourceFault``).
        operation: the SWF operation that failed.
    """

    def __init__(self, message: str, *, code: str = "", operation: str = ""):
        super().__init__(message)
        self.code = code
        self.operation = operation


class UnknownResourceError(SWFError):
    """The named domain, type, execution or task does not exist (or is closed)."""


class OperationNotPermittedError(SWFError):
    """The caller may not perform this operation."""


class LimitExceededError(SWFError):
    """An SWF quota would be exceeded."""


class DomainAlreadyExistsError(SWFError):
    """The domain is already registered."""


class DomainDeprecatedError(SWFError):
    """The domain is deprecated."""


class TypeAlreadyExistsError(SWFError):
    """The workflow or activity type is already registered."""


class TypeDeprecatedError(SWFError):
    """The workflow or activity type is deprecated."""


class TypeNotDeprecatedError(SWFError):
    """A type must be deprecated before it is deleted."""


class WorkflowExecutionAlreadyStartedError(SWFError):
    """An open execution with this workflow ID already exists in the domain."""


class DefaultUndefinedError(SWFError):
    """A required option is neither given nor registered as a type default."""


class TooManyTagsError(SWFError):
    """Too many tags on a resource."""


class ValidationError(SWFError):
    """The request does not match SWF's service model (a user or greenflow bug)."""


class ThrottlingError(SWFError):
    """SWF throttled the request (retried with backoff before it surfaces)."""


class ServiceUnavailableError(SWFError):
    """The service could not be reached or answered a server error."""


#: SWF fault code → greenflow exception class; unknown codes map to :class:`SWFError`.
SWF_FAULTS: dict[str, type[SWFError]] = {
    "UnknownResourceFault": UnknownResourceError,
    "OperationNotPermittedFault": OperationNotPermittedError,
    "LimitExceededFault": LimitExceededError,
    "DomainAlreadyExistsFault": DomainAlreadyExistsError,
    "DomainDeprecatedFault": DomainDeprecatedError,
    "TypeAlreadyExistsFault": TypeAlreadyExistsError,
    "TypeDeprecatedFault": TypeDeprecatedError,
    "TypeNotDeprecatedFault": TypeNotDeprecatedError,
    "WorkflowExecutionAlreadyStartedFault": WorkflowExecutionAlreadyStartedError,
    "DefaultUndefinedFault": DefaultUndefinedError,
    "TooManyTagsFault": TooManyTagsError,
    "ValidationException": ValidationError,
    "ThrottlingException": ThrottlingError,
}

#: Every exception class defined here, and the two tables above.
__all__ = sorted(
    [name for name, value in globals().items()
     if isinstance(value, type) and issubclass(value, BaseException) and value.__module__ == __name__]
    + ["DECISION_TASK_ERRORS", "SWF_FAULTS"])
