"""The functions' wiring: one module per Lambda function, each with one ``build_<function>(settings)``.

A handler runs its ``build_*`` once per container, at import (``app = build_dunning(get_settings())``):
it checks the function's settings against the contract (``contract.FUNCTION_REQUIRED``, so a missing
variable fails the cold start, named), binds the table, and makes the store, the mailer, the queues and
the policy loader. What it returns maps each kind of event to one use case; the handler only picks the
kind. Heavy or rarely needed modules stay imported inside the use case that needs them (cold starts).

Why ``arcollect/app/<function>.py`` rather than ``arcollect/<feature>/wiring.py``: a function's wiring
crosses features (the dunning function sends the workspace's digests and signs the portal's links; the
portal function serves the staff console and its status page) and binds them to the store. A feature's
own wiring module would import its sibling features; here the wiring sits above every feature and just
below the handlers (handlers -> app -> features -> store -> domain), and no feature imports it. This
``__init__`` imports nothing, so a handler loads its own function's wiring and no other's.
"""
