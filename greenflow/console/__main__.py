"""``python -m greenflow.console``: serve the web console (see ``--help``)."""

from gevent import monkey

monkey.patch_all()  # before botocore is imported: the console serves requests in greenlets

import sys  # noqa: E402

from greenflow.console._command import main  # noqa: E402

sys.exit(main())
