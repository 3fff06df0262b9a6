"""greenflow: durable workflows in plain blocking Python, on the Amazon SWF API."""

from setuptools import find_packages, setup

setup(
    name="greenflow",
    version="0.1.0",
    description="Durable workflows in plain blocking Python, replayed in greenlets, on the Amazon SWF API",
    long_description=open("README.rst", encoding="utf-8").read(),
    long_description_content_type="text/x-rst",
    python_requires=">=3.11",
    packages=find_packages(include=["greenflow", "greenflow.*"]),
    # An explicit root makes `pip install -e .` a plain path entry (.pth) instead of an
    # import hook, so type checkers (mypy) find the package and its py.typed.
    package_dir={"": "."},
    package_data={"greenflow": ["py.typed", "console/templates/*.html", "console/static/*"]},
    install_requires=[
        "gevent>=24.2",
        "greenlet>=3.0",
        "botocore>=1.34",
    ],
    extras_require={
        # The tests drive the console in a real Chromium (the Debian package, see .ci/run)
        # through Playwright, and read the metrics endpoints.
        "test": ["pytest>=8", "tzdata", "playwright>=1.40", "flask>=3.0", "prometheus_client>=0.20"],
        # `greenflow console`: the web console (Flask pages served by gevent).
        "console": ["flask>=3.0"],
        # Prometheus metrics of workers and the service (off unless asked for).
        "metrics": ["prometheus_client>=0.20"],
        # .ci/run checks style (ruff) and types (mypy; pytest for greenflow.testing's plugin) before the
        # tests; settings in pyproject.toml.
        "lint": ["ruff>=0.17,<0.18", "mypy>=2.4,<3", "pytest>=8"],
        # Benchmarks: moto's SWF server and DBOS to compare with; tqdm draws `greenflow
        # bench`'s progress bar (a plain one without it).
        "bench": ["moto[server]>=5.0", "dbos>=3.4", "tqdm>=4.60"],
    },
    entry_points={"console_scripts": ["greenflow = greenflow.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.11",
        "Topic :: System :: Distributed Computing",
    ],
)
