"""`arcollect status` and the staff console's status page read the dead-letter queues' depths: the
stack outputs their URLs by name, and the portal function gets them and may read their attributes
(and nothing else of them)."""

from __future__ import annotations

import json
from typing import Any

from arcollect.contract import DeadLetterQueue, EnvVar, Output
from tests.infra.conftest import Synthesized
from tests.infra.test_stack import _as_list, _policy_statements


def _queue_ids(synthesized: Synthesized) -> dict[str, str]:
    stack = synthesized.stack
    queues = {
        DeadLetterQueue.INGEST: stack.ingest.dead_letter_queue,
        DeadLetterQueue.DUNNING: stack.dunning.dead_letter_queue,
        DeadLetterQueue.DUNNING_WORK: stack.dunning.queue_dead_letter_queue,
        DeadLetterQueue.REPORTS: stack.reports.dead_letter_queue,
    }
    return {name: stack.get_logical_id(queue.node.default_child) for name, queue in queues.items()}


def _names_and_refs(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def test_the_stack_outputs_every_dead_letter_queue_url_by_name(synthesized: Synthesized) -> None:
    output = synthesized.template.find_outputs(Output.DEAD_LETTER_QUEUES)[Output.DEAD_LETTER_QUEUES]["Value"]
    text = _names_and_refs(output)
    for name, logical_id in _queue_ids(synthesized).items():
        assert f'\\"{name}\\"' in text, name
        assert logical_id in text, name
    assert set(DeadLetterQueue.ALL) == set(_queue_ids(synthesized))


def test_the_portal_reads_the_dead_letter_queues_depths_only(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    function_id = stack.get_logical_id(stack.portal.function.node.default_child)
    function = synthesized.template.to_json()["Resources"][function_id]
    variables = function["Properties"]["Environment"]["Variables"]
    output = synthesized.template.find_outputs(Output.DEAD_LETTER_QUEUES)[Output.DEAD_LETTER_QUEUES]["Value"]
    assert variables[EnvVar.DEAD_LETTER_QUEUES] == output
    statements = _policy_statements(synthesized, stack.portal.function)
    for name, logical_id in _queue_ids(synthesized).items():
        arn = {"Fn::GetAtt": [logical_id, "Arn"]}
        actions = {a for s in statements if arn in _as_list(s["Resource"]) for a in _as_list(s["Action"])}
        assert actions == {"sqs:GetQueueAttributes"}, (name, actions)
