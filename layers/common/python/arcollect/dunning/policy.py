"""The dunning policy moved to the domain: ``arcollect.policy``. This name stays only for the Lambda
handlers until they import it from there (issue 17); new code imports ``arcollect.policy``."""

from arcollect.policy import PolicySet, load_policies

__all__ = ["PolicySet", "load_policies"]
