"""Test-wide setup.

gevent is monkey-patched first, before botocore is imported, exactly as an application's
entry point must do to run greenflow workers (see README.rst, "gevent and your program").
The local service itself runs in a real OS thread with its own hub either way.
"""

from gevent import monkey

monkey.patch_all()
