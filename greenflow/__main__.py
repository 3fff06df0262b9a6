"""``python -m greenflow``: the same as the ``greenflow`` command (see :mod:`greenflow.cli`)."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
