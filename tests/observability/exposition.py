"""Reading Prometheus's text exposition in the metrics tests."""

from __future__ import annotations

import re
import urllib.request


def scrape(url: str) -> str:
    """The text a metrics endpoint serves."""
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.read().decode()


def metric_value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"{name}(?:{{(.*)}})? (\S+)$", line)
        if match and all(f'{key}="{value}"' in (match.group(1) or "") for key, value in labels.items()):
            total += float(match.group(2))
    return total
