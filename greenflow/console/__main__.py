"""``python -m greenflow.console``: serve the web console (same options as ``greenflow console``)."""

import sys

from greenflow.cli._console import main

sys.exit(main())
