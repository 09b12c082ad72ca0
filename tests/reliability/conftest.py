"""The reliability suite's fixtures: a fresh moto account per scenario (``stack_resources``), and the
figures plugin (tests/reliability/figures.py, loaded from pyproject's addopts)."""

from __future__ import annotations

from arcollect_cli.local.emulator import patch_moto
from tests.integration.conftest import aws, s3

# The local stack's moto: the same answers, at a cost per request that does not grow with the table
# (arcollect_cli/local/emulator.py), so a month of sweeps over a portfolio takes seconds, not minutes.
patch_moto()

__all__ = ["aws", "s3"]
