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
    package_data={"greenflow": ["py.typed"]},
    install_requires=[
        "gevent>=24.2",
        "greenlet>=3.0",
        "botocore>=1.34",
    ],
    extras_require={
        "test": ["pytest>=8", "tzdata"],
        # .ci/run checks style (ruff) and types (mypy; pytest for greenflow.testing's plugin) before the
        # tests; settings in pyproject.toml.
        "lint": ["ruff>=0.17,<0.18", "mypy>=2.4,<3", "pytest>=8"],
        # The benchmark compares the local service with moto's SWF server.
        "bench": ["moto[server]>=5.0"],
    },
    entry_points={"console_scripts": ["greenflow = greenflow.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.11",
        "Topic :: System :: Distributed Computing",
    ],
)
