"""The Langfuse Python SDK naming the agent the way its documentation shows: trace metadata
`{"gen_ai.agent.name": ...}` set with `propagate_attributes`, on a run of plain observations
(no `agent` observation that would name it otherwise).

    handle-request (span)
      lookup_order (tool)
"""

from langfuse import Langfuse, propagate_attributes

import harness

langfuse = Langfuse(
    public_key=harness.public_key(),
    secret_key=harness.api_key(),
    base_url=harness.lemma_url(),
)


def main():
    with langfuse.start_as_current_observation(
        as_type="span", name="handle-request", input={"question": harness.QUESTION}
    ) as root:
        with propagate_attributes(
            trace_name="metadata-named",
            metadata={"gen_ai.agent.name": "support-agent"},
        ):
            with langfuse.start_as_current_observation(
                as_type="tool", name="lookup_order", input={"order_id": "A-17"}
            ) as tool:
                tool.update(output=harness.lookup_order_result("A-17"))
            root.update(output={"answer": "shipped"})
    langfuse.shutdown()


if __name__ == "__main__":
    main()
