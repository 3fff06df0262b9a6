"""Hello World on greenflow: one workflow, two activities, the embedded local SWF service.

Run it with ``python examples/hello_world.py``; it prints ``Hello World!``.

No AWS account and no server are needed: :func:`greenflow.connect` with no endpoint or
region starts the local SWF service in the background of this program, as a child process
that stops with it (its database lives in ``~/.local/share/greenflow/greenflow.db``, or
``GREENFLOW_DB``). Set ``GREENFLOW_ENDPOINT``
(a ``greenflow server``) or ``GREENFLOW_REGION`` (Amazon SWF in that region) to run the same
code elsewhere.
"""

# Activity workers run on gevent: patch the standard library first, before any other
# import (README.rst, "gevent and your program"; without it ActivityWorker refuses to start).
from greenflow.swf import patch_gevent

patch_gevent()

import greenflow  # noqa: E402
from greenflow.activity import ActivityWorker, activities, activity  # noqa: E402
from greenflow.workflow import WorkflowDefinition, execute  # noqa: E402
from greenflow.worker import WorkflowWorker  # noqa: E402

DOMAIN = "hello"
TASK_LIST = "hello"


@activities(task_list=TASK_LIST, schedule_to_start_timeout=60, start_to_close_timeout=60)
class HelloWorldActivities:
    """The side effects: each method runs on an activity worker, possibly on another machine."""

    @activity(version="1.0")
    def get_name(self) -> str:
        return "World"

    @activity(version="1.0")
    def print_greeting(self, name: str) -> None:
        print(f"Hello {name}!", flush=True)


class HelloWorldWorkflow(WorkflowDefinition):
    """The orchestration: plain blocking code, made durable by replaying its history."""

    @execute(version="1.0", execution_start_to_close_timeout=60)
    def hello_world(self) -> None:
        name = HelloWorldActivities.get_name()  # schedules the activity, blocks for its result
        HelloWorldActivities.print_greeting(name)


def main() -> None:
    swf = greenflow.connect()  # the embedded local service unless configured otherwise
    with WorkflowWorker(swf, DOMAIN, TASK_LIST, HelloWorldWorkflow), \
            ActivityWorker(swf, DOMAIN, TASK_LIST, HelloWorldActivities()):
        # Inside `with worker:`, calling the @execute method starts an execution (AWS Flow
        # Framework style) and returns a handle at once.
        handle = HelloWorldWorkflow.hello_world()
        handle.result(timeout=60)  # blocks until the workflow completes


if __name__ == "__main__":
    main()
