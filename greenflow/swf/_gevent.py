"""Monkey-patching for workers: cooperative sockets before botocore opens any.

Workers run many long polls and activities on gevent; botocore's sockets must therefore
be gevent's. Patching has to happen before ``ssl``/``urllib3``/``botocore`` are imported,
so a program's entry point does it first thing (``from greenflow.swf import patch_gevent``
then ``patch_gevent()``, as README.rst and the examples show: typed, and importing
``greenflow.swf`` imports no botocore); the ``greenflow`` command does it itself.
:func:`require_patched` refuses to start a gevent worker in a process that is not patched.
"""

from __future__ import annotations

import sys
import textwrap
import warnings

from ..errors import GeventNotPatchedError

#: Modules that capture unpatched socket/ssl objects when imported before patching.
_EARLY_MODULES = ("ssl", "urllib3", "botocore")


def is_patched() -> bool:
    """Whether gevent has patched the ``socket`` module in this process."""
    from gevent import monkey

    return monkey.is_module_patched("socket")


#: The lines a program adds at its very top so that greenflow's gevent workers can run
#: (as README.rst and the examples show them).
PATCH_LINES = "from greenflow.swf import patch_gevent\npatch_gevent()"


def require_patched(what: str) -> None:
    """Raise :class:`~greenflow.errors.GeventNotPatchedError` unless gevent patched this process.

    Why refuse rather than warn: unpatched, ``what``'s greenlets run only while the
    program waits on gevent itself. A program that waits in ``handle.result()``, a plain
    ``time.sleep()`` or a test's assertion never does, so they would never run and the
    program would hang until its own timeout.
    """
    if is_patched():
        return
    raise GeventNotPatchedError(
        f"{what} runs on gevent, but gevent has not monkey-patched this process, so its polls "
        "would never run while your program waits (in handle.result(), time.sleep(), a socket). "
        "Add these lines at the very top of your program, before any other import "
        "(for pytest, at the top of conftest.py):\n\n" + textwrap.indent(PATCH_LINES, "    ") + "\n")


def patch_gevent(**options) -> bool:
    """Monkey-patch the standard library for gevent unless already done; returns whether it patched.

    Warns (``RuntimeWarning``) when ``ssl``, ``urllib3`` or ``botocore`` were imported
    before patching: their sockets or SSL contexts may then block the whole process.
    ``options`` go to :func:`gevent.monkey.patch_all`.
    """
    if is_patched():
        return False
    early = [name for name in _EARLY_MODULES if name in sys.modules]
    if early:
        warnings.warn(
            f"{', '.join(early)} imported before gevent monkey-patching; patch first in your entry point "
            "(call greenflow.swf.patch_gevent() before importing botocore or greenflow's workers)",
            RuntimeWarning, stacklevel=2)
    from gevent import monkey

    with warnings.catch_warnings():
        # gevent warns about ssl itself; we already said it more usefully above.
        warnings.simplefilter("ignore", getattr(monkey, "MonkeyPatchWarning", Warning))
        monkey.patch_all(**options)
    return True
