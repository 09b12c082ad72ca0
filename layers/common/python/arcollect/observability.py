"""The one Logger, Tracer and Metrics of a function process.

Service name, metrics namespace and log level come from the POWERTOOLS_* variables that CDK sets, so
every module that logs shares one structured (JSON) logger.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()

__all__ = ["logger", "metrics", "tracer"]
