"""SWF faults as the local service raises and answers them.

Every fault the service can answer is a :class:`Fault`; the HTTP layer turns it into
SWF's wire form, ``HTTP 400 {"__type": "<namespace>#<code>", "message": ...}``, which
botocore maps back to ``ClientError`` with ``Error.Code == code``.
"""

from __future__ import annotations

#: Namespace of the faults modeled in botocore's SWF service model.
SWF_NAMESPACE = "com.amazonaws.swf.base.model"
#: Namespace SWF uses for request-validation errors.
VALIDATION_NAMESPACE = "com.amazon.coral.validate"
#: Namespace of the authentication faults (SigV4), shared by all AWS JSON services.
COMMON_NAMESPACE = "com.amazon.coral.service"


class Fault(Exception):
    """A fault answered to the client; never a crash of the service.

    Args:
        code: the fault name botocore reads as ``Error.Code`` (``UnknownResourceFault``).
        message: a human-readable explanation naming the offending resource or field.
        namespace: the ``__type`` prefix; SWF's model namespace unless given.
        status: the HTTP status code (400 for every SWF fault).
    """

    def __init__(self, code: str, message: str, *, namespace: str = SWF_NAMESPACE, status: int = 400):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.namespace = namespace
        self.status = status

    def to_wire(self) -> dict:
        """The JSON body SWF answers for this fault."""
        return {"__type": f"{self.namespace}#{self.code}", "message": self.message}


def unknown_resource(message: str) -> Fault:
    """``UnknownResourceFault``: the named domain, type, execution or task does not exist."""
    return Fault("UnknownResourceFault", message)


def validation_error(message: str) -> Fault:
    """``ValidationException``: the request does not match the service model."""
    return Fault("ValidationException", message, namespace=VALIDATION_NAMESPACE)


def operation_not_permitted(message: str) -> Fault:
    """``OperationNotPermittedFault``: the request is well formed but not allowed now."""
    return Fault("OperationNotPermittedFault", message)


def limit_exceeded(message: str) -> Fault:
    """``LimitExceededFault``: an SWF quota would be exceeded."""
    return Fault("LimitExceededFault", message)
