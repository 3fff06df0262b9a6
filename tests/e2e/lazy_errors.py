"""Exception classes only an activity imports (see ``tests/e2e/determinism_app.py``)."""


class PaymentError(Exception):
    """Base of payment failures."""


class PaymentDeclined(PaymentError):
    """The card was refused."""
