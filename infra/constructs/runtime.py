"""The one way functions are built: layers, runtime, architecture, logging, tracing, environment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from arcollect.contract import FUNCTION_ENVIRONMENT, METRICS_NAMESPACE, EnvVar, service_name
from infra import platform

RUNTIME = lambda_.Runtime.PYTHON_3_14


class MissingLayerBuild(RuntimeError):
    pass


class FunctionRuntime(Construct):
    """Holds the two layers every function uses and builds functions from ``functions/<name>/``.

    - dependencies layer: third-party packages installed by ``tools/build_layer.py`` for arm64 and the
      runtime's Python, without Docker;
    - common layer: the ``arcollect`` package, mounted at /opt/python like in the tests.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        environment_name: str,
        log_retention: logs.RetentionDays,
        retention_days: int,
    ) -> None:
        super().__init__(scope, id)
        if not (platform.DEPS_LAYER_DIR / "python").is_dir():
            raise MissingLayerBuild(
                f"{platform.DEPS_LAYER_DIR} is missing: run `make layer` (tools/build_layer.py) before synth"
            )
        if f"{RUNTIME.name.removeprefix('python')}" != platform.PYTHON_VERSION:
            raise MissingLayerBuild(
                f"infra/platform.py PYTHON_VERSION does not match the runtime {RUNTIME.name}"
            )
        self._environment_name = environment_name
        self._log_retention = log_retention
        self._retention_days = retention_days
        self.dependencies_layer = lambda_.LayerVersion(
            self,
            "DependenciesLayer",
            code=lambda_.Code.from_asset(str(platform.DEPS_LAYER_DIR), exclude=list(platform.ASSET_EXCLUDES)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description="arcollect third-party dependencies (see pyproject.toml [project].dependencies)",
        )
        if not (platform.REPORTS_LAYER_DIR / "python").is_dir():
            raise MissingLayerBuild(
                f"{platform.REPORTS_LAYER_DIR} is missing: run `make layer` (tools/build_layer.py) "
                "before synth"
            )
        # DuckDB for the reports function alone. Lambda allows 250 MB unzipped for a function and all its
        # layers (the Lambda developer guide, "Lambda quotas"): the dependencies (about 117 MB), this one
        # (about 62 MB) and the shared package stay under it.
        self.reports_layer = lambda_.LayerVersion(
            self,
            "ReportsLayer",
            code=lambda_.Code.from_asset(
                str(platform.REPORTS_LAYER_DIR), exclude=list(platform.ASSET_EXCLUDES)
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description="arcollect reports engine (pyproject.toml [project.optional-dependencies].reports)",
        )
        self.common_layer = lambda_.LayerVersion(
            self,
            "CommonLayer",
            code=lambda_.Code.from_asset(
                str(platform.COMMON_LAYER_DIR), exclude=list(platform.ASSET_EXCLUDES)
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description="arcollect shared package",
        )

    def function(
        self,
        scope: Construct,
        name: str,
        *,
        environment: Mapping[str, str],
        description: str,
        timeout: Duration,
        memory_size: int = 512,
        extra_layers: Sequence[lambda_.ILayerVersion] = (),
        **options: object,
    ) -> lambda_.Function:
        """Build the function whose code is ``functions/<name>/handler.py``.

        ``environment`` must name exactly the variables ``contract.FUNCTION_ENVIRONMENT`` lists for it, so
        the contract the local stack relies on and what AWS gets cannot differ.
        """
        # Every function keeps its records as long as the stack's retention says (their TTL).
        environment = {**environment, EnvVar.RETENTION_DAYS: str(self._retention_days)}
        expected = set(FUNCTION_ENVIRONMENT[name])
        if set(environment) != expected:
            raise ValueError(
                f"function {name}: environment {sorted(environment)} "
                f"differs from the contract {sorted(expected)}"
            )
        log_group = logs.LogGroup(
            scope,
            "LogGroup",
            retention=self._log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        return lambda_.Function(
            scope,
            "Function",
            code=lambda_.Code.from_asset(
                str(platform.FUNCTIONS_DIR / name), exclude=list(platform.ASSET_EXCLUDES)
            ),
            handler="handler.lambda_handler",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            layers=[self.dependencies_layer, *extra_layers, self.common_layer],
            memory_size=memory_size,
            timeout=timeout,
            description=description,
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            log_group=log_group,
            environment={
                **environment,
                "POWERTOOLS_SERVICE_NAME": service_name(name),
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                # Traces never hold a response (Set-Cookie, CSRF tokens, account data) or an error's
                # text: X-Ray readers are not the customers' data's readers.
                "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
                "POWERTOOLS_TRACER_CAPTURE_ERROR": "false",
            },
            **options,  # type: ignore[arg-type]
        )
