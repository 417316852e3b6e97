"""Stress tests: the ``slow`` marker (the long run) and how long a run lasts."""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # registering a marker twice (tests/integrity may do it too) is harmless
    config.addinivalue_line(
        "markers", "slow: long-running reliability test (run with `-m slow` or GLUPY_SLOW=1)")


@pytest.fixture
def slow_enabled(request: pytest.FixtureRequest) -> bool:
    return slow_requested(request.config)


def slow_requested(config: pytest.Config) -> bool:
    """GLUPY_SLOW=1, or a ``-m`` expression that selects ``slow`` (not ``not slow``)."""
    if os.environ.get("GLUPY_SLOW", "") not in ("", "0"):
        return True
    expr = config.getoption("markexpr", "") or ""
    return "slow" in expr and "not slow" not in expr
