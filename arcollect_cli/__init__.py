"""The ``arcollect`` command and the embedded local stack. Never deployed to Lambda."""
