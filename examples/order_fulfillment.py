"""Order fulfillment: the motivating case for durable workflows, on the embedded local service.

Run it with ``python examples/order_fulfillment.py``. Three orders go through one workflow:

* **parallel activities** — every item's stock is checked at once (``spawn`` + ``wait_all``);
* **a retry policy** — the card is charged with retries: the payment gateway fails the
  first attempt, and a durable timer spaces the attempts;
* **a human approval signal with a deadline** — orders over 100 wait for a manager's
  ``approve``/``reject`` signal, or expire (``wait_until(..., timeout=...)``);
* **a child workflow** — shipping is its own workflow, which waits for the courier's pickup
  on a **durable timer** (``sleep``);
* **cancellation** — the third customer cancels while their order awaits approval: the
  workflow catches ``CancelledError``, refunds, and closes as CANCELED;
* **queries** — ``handle.query("status")`` reads the workflow's state by replaying its
  history locally.

It prints one line per order with its outcome. Every wait here is durable: stop the
process at any point, run the workers again, and each order resumes where it was.
"""

# Activity workers run on gevent: patch the standard library first, before any other
# import (README.rst, "gevent and your program"; without it ActivityWorker refuses to start).
from greenflow.swf import patch_gevent

patch_gevent()

import time  # noqa: E402

import greenflow  # noqa: E402
from greenflow.activity import ActivityWorker, activities, activity  # noqa: E402
from greenflow.client import WorkflowHandle  # noqa: E402
from greenflow.errors import CancelledError, WorkflowCanceledError, WorkflowError  # noqa: E402
from greenflow.workflow import (RetryPolicy, WorkflowDefinition, activity_options, execute,  # noqa: E402
                                query, signal, sleep, spawn, wait_all, wait_until, workflow_options)
from greenflow.worker import WorkflowWorker  # noqa: E402

DOMAIN = "orders"
TASK_LIST = "orders"
APPROVAL_LIMIT = 100
APPROVAL_DEADLINE = 3600  # seconds of workflow time a manager has to decide


class PaymentGatewayDown(ConnectionError):
    """The (simulated) payment gateway is unavailable; worth retrying."""


@activities(task_list=TASK_LIST, schedule_to_start_timeout=60, start_to_close_timeout=60)
class OrderActivities:
    """The side effects. In real life: a stock service, a payment gateway, a courier, e-mail."""

    def __init__(self) -> None:
        self.charges: dict[str, int] = {}  # order id -> attempts
        self.refunds: list[str] = []
        self.notifications: list[str] = []

    @activity(version="1.0")
    def check_stock(self, item: str) -> bool:
        time.sleep(0.05)  # I/O (gevent-patched): the checks of one order overlap
        return item != "unobtainium"

    @activity(version="1.0")
    def charge_card(self, order_id: str, amount: int) -> str:
        attempts = self.charges[order_id] = self.charges.get(order_id, 0) + 1
        if attempts == 1:
            raise PaymentGatewayDown("payment gateway timed out")
        return f"PAY-{order_id}"

    @activity(version="1.0")
    def refund(self, payment: str) -> None:
        self.refunds.append(payment)

    @activity(version="1.0")
    def notify(self, who: str, message: str) -> None:
        self.notifications.append(f"{who}: {message}")

    @activity(version="1.0")
    def book_courier(self, order_id: str) -> str:
        return f"COURIER-{order_id}"

    @activity(version="1.0")
    def hand_over(self, order_id: str, courier: str) -> str:
        return f"TRACK-{order_id}"


class ShippingWorkflow(WorkflowDefinition):
    """A child workflow: book a courier, wait (durably) for the pickup, hand the parcel over."""

    @execute(version="1.0", execution_start_to_close_timeout=600)
    def ship(self, order_id: str) -> str:
        courier = OrderActivities.book_courier(order_id)
        sleep(1)  # a durable timer: the courier arrives in a second
        return OrderActivities.hand_over(order_id, courier)


class OrderWorkflow(WorkflowDefinition):
    """One order, from stock check to shipping."""

    def __init__(self) -> None:
        self.status = "received"
        self.decision: tuple[str, str] | None = None

    @execute(version="1.0", execution_start_to_close_timeout=86400)
    def process(self, order_id: str, items: list[str], amount: int) -> str:
        self.status = "checking stock"
        checks = [spawn(OrderActivities.check_stock, item) for item in items]  # in parallel
        missing = [item for item, ok in zip(items, wait_all(checks)) if not ok]
        if missing:
            return f"rejected: out of stock ({', '.join(missing)})"

        self.status = "charging"
        with activity_options(retry=RetryPolicy(max_attempts=3, initial_interval=1)):
            payment = OrderActivities.charge_card(order_id, amount)
        try:
            if amount > APPROVAL_LIMIT:
                self.status = "awaiting approval"
                OrderActivities.notify("manager", f"please approve order {order_id} ({amount})")
                if not wait_until(lambda: self.decision is not None, timeout=APPROVAL_DEADLINE):
                    OrderActivities.refund(payment)
                    return "expired: no approval in time, refunded"
                assert self.decision is not None  # wait_until returned True: a signal set it
                verdict, who = self.decision
                if verdict != "approve":
                    OrderActivities.refund(payment)
                    return f"rejected by {who}, refunded"
            self.status = "shipping"
            with workflow_options(workflow_id=f"shipping-{order_id}"):
                tracking = ShippingWorkflow.ship(order_id)  # a child workflow; blocks for its result
        except CancelledError:
            self.status = "cancelled"
            OrderActivities.refund(payment)  # clean up, then let the cancellation close the run
            raise
        self.status = "shipped"
        return f"shipped ({tracking})" + (f", approved by {self.decision[1]}" if self.decision else "")

    @signal()
    def approve(self, who: str) -> None:
        self.decision = ("approve", who)

    @signal()
    def reject(self, who: str) -> None:
        self.decision = ("reject", who)

    @query()
    def current_status(self) -> str:
        return self.status


def wait_for_status(handle: WorkflowHandle[str], status: str, timeout: float = 30) -> None:
    """Poll the workflow's ``current_status`` query until it reports ``status``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if handle.query("current_status") == status:
                return
        except WorkflowError:
            pass  # no decision task has run yet: there is no state to query
        if time.monotonic() > deadline:
            raise TimeoutError(f"order {handle.workflow_id} never reached {status!r}")
        time.sleep(0.05)


def main() -> None:
    swf = greenflow.connect()  # the embedded local service unless configured otherwise
    shop = OrderActivities()
    workflow_worker = WorkflowWorker(swf, DOMAIN, TASK_LIST, OrderWorkflow, ShippingWorkflow)
    activity_worker = ActivityWorker(swf, DOMAIN, TASK_LIST, shop)
    run = f"{int(time.time())}"
    with workflow_worker, activity_worker:
        client = workflow_worker.workflow_client()
        small = client.start(OrderWorkflow.process, f"A-{run}", ["book", "pen"], 30, workflow_id=f"order-A-{run}")
        large = client.start(OrderWorkflow.process, f"B-{run}", ["laptop", "bag", "mouse"], 1500,
                             workflow_id=f"order-B-{run}")
        doomed = client.start(OrderWorkflow.process, f"C-{run}", ["piano"], 9000, workflow_id=f"order-C-{run}")

        wait_for_status(large, "awaiting approval")
        large.signal("approve", "alice")  # a manager approves order B
        wait_for_status(doomed, "awaiting approval")
        doomed.cancel()  # customer C changes their mind while waiting

        print(f"order A (30, 2 items):     {small.result(timeout=60)}")
        print(f"order B (1500, approval):  {large.result(timeout=60)}")
        try:
            doomed.result(timeout=60)
            print("order C (9000, cancelled): completed?!")
        except WorkflowCanceledError:
            refunded = f"PAY-C-{run}" in shop.refunds
            print(f"order C (9000, cancelled): cancelled by the customer"
                  f"{', payment refunded' if refunded else ', NOT refunded'}")
        attempts = shop.charges.get(f"A-{run}")
        print(f"payment attempts for order A: {attempts} (the first failed and was retried)")


if __name__ == "__main__":
    main()
