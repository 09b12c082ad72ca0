"""Building the CDK app, shared by app.py (the CDK CLI's entry point) and the tests."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra import platform
from infra.config import StackConfig
from infra.stack import ArcollectStack


def default_context() -> dict[str, Any]:
    """The context defaults in cdk.json, for building the app outside the CDK CLI (tests)."""
    document: dict[str, Any] = json.loads((platform.REPO_ROOT / "cdk.json").read_text())
    return dict(document["context"])


def build(app: cdk.App) -> ArcollectStack:
    """Add the stack to ``app``, with cdk-nag's AwsSolutions checks over everything in it."""
    config = StackConfig.from_context(app.node)
    stack = ArcollectStack(
        app,
        app.node.try_get_context("stackName") or f"arcollect-{config.environment_name}",
        config=config,
        description="arcollect: automated accounts-receivable collections",
    )
    # cdk-nag v3 runs as a CDK policy-validation plugin: any unacknowledged finding fails the synth.
    # Acknowledgments are written into the template's metadata as an audit trail.
    cdk.Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True)
    )
    return stack
