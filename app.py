#!/usr/bin/env python3
"""CDK entry point for ``cdk synth`` / ``cdk deploy`` (context keys: see cdk.json and the README)."""

import aws_cdk as cdk

from infra.application import build

app = cdk.App()
build(app)
app.synth()
