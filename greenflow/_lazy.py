"""Package attributes imported on first use (PEP 562), so importing a package stays light.

``greenflow``, ``greenflow.swf`` and ``greenflow.activity`` must import without botocore or
the gevent worker machinery (an application may still need to monkey-patch gevent); they
name what each lazy attribute's module is and take their ``__getattr__``/``__dir__`` from
:func:`lazy_attributes`.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping


def lazy_attributes(
    namespace: dict[str, Any], modules: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return a package's ``__getattr__`` and ``__dir__`` that import ``modules[name]`` when ``name`` is first used.

    Use it as ``__getattr__, __dir__ = lazy_attributes(globals(), {"Worker": "._worker"})``.

    Args:
        namespace: the package's ``globals()``. A loaded value is stored there, so later
            lookups are plain attribute reads and never reach ``__getattr__`` again.
        modules: attribute name -> the module that defines it, absolute or relative to the
            package.

    The ``__getattr__`` raises ``AttributeError`` for any other name; ``__dir__`` lists the
    package's names and the lazy ones, loaded or not.
    """
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(modules))

    return __getattr__, __dir__


__all__ = ["lazy_attributes"]
