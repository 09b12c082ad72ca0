"""The collector workspace: the worklist and its priority score, call outcomes, promises kept or broken,
disputes and their workflow, the customer 360 view, the daily digest (see the README)."""
