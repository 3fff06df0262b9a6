"""greenflow: durable workflows in plain blocking Python, on the Amazon SWF API."""

__version__ = "0.1.0"
