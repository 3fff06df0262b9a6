"""Monkey-patching for workers: cooperative sockets before botocore opens any.

Workers run many long polls and activities on gevent; botocore's sockets must therefore
be gevent's. Patching has to happen before ``ssl``/``urllib3``/``botocore`` are imported,
so a program's entry point should do it first thing (``greenflow.swf.patch_gevent()``,
or ``from gevent import monkey; monkey.patch_all()``); the ``greenflow`` command does.
"""

from __future__ import annotations

import sys
import warnings

#: Modules that capture unpatched socket/ssl objects when imported before patching.
_EARLY_MODULES = ("ssl", "urllib3", "botocore")


def is_patched() -> bool:
    """Whether gevent has patched the ``socket`` module in this process."""
    from gevent import monkey

    return monkey.is_module_patched("socket")


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
