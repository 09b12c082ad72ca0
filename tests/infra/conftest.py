"""One synthesized stack per test session: synthesis (with cdk-nag) takes several seconds."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from infra.application import build, default_context
from infra.stack import ArcollectStack

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Synthesized:
    stack: ArcollectStack
    template: Template
    outdir: Path

    @property
    def template_file(self) -> Path:
        return self.outdir / f"{self.stack.stack_name}.template.json"

    def validation_report(self) -> dict[str, Any]:
        return dict(json.loads((self.outdir / "validation-report.json").read_text()))

    def cfn_lint(self) -> subprocess.CompletedProcess[str]:
        """cfn-lint on the template, in its parseable format (one finding a line; ``:E`` an error)."""
        return subprocess.run(
            [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", str(self.template_file)],
            capture_output=True,
            text=True,
            cwd=REPO,
            check=False,
        )

    def cfn_lint_errors(self) -> list[str]:
        return [line for line in self.cfn_lint().stdout.splitlines() if ":E" in line]


def synthesize(outdir: Path, **context: Any) -> Synthesized:
    app = cdk.App(context={**default_context(), **context}, outdir=str(outdir))
    stack = build(app)
    app.synth()  # runs cdk-nag: raises if any finding is neither fixed nor acknowledged
    return Synthesized(stack=stack, template=Template.from_stack(stack), outdir=outdir)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    yield synthesize(tmp_path_factory.mktemp("cdk.out"))
