"""Shared test configuration: the glupy pytest plugin (mount fixtures, logs on failure)."""

pytest_plugins = ["glupy.testing", "pytester"]
