"""Integrity tests: the ``slow`` marker (long fsx runs), skipped unless asked for.

Run the slow ones with ``pytest -m slow tests/integrity`` or ``GLUPY_SLOW=1 pytest ...``.
"""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: long run (skipped unless -m slow or GLUPY_SLOW=1)")


def slow_enabled(config: pytest.Config) -> bool:
    return os.environ.get("GLUPY_SLOW", "") not in ("", "0") or "slow" in (config.option.markexpr or "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if slow_enabled(config):
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow or GLUPY_SLOW=1")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)
