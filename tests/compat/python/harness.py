"""What every Python scenario shares: where Lemma and the fake LLM are, and an OTLP exporter.

The Rust test (crates/lemma-cli/tests/integration/compat.rs) sets:

* LEMMA_URL         the server's HTTP address, e.g. http://127.0.0.1:4318
* LEMMA_API_KEY     the project's API key (the secret)
* LEMMA_PUBLIC_KEY  the key's public half, for Basic auth (Langfuse SDKs)
* OPENAI_BASE_URL   the fake LLM, e.g. http://127.0.0.1:8000/v1
* OPENAI_API_KEY    any value; the fake LLM does not check it
"""

import os
import sys

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export import BatchSpanProcessor

MODEL = "gpt-4o-mini"
SYSTEM_PROMPT = "You answer questions about orders."
QUESTION = "Where is my order A-17?"
FAILING_QUESTION = "FAIL: this request is rejected by the model."

LOOKUP_ORDER_TOOL = {
    "type": "function",
    "function": {
        "name": "lookup_order",
        "description": "Look up an order by id",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string"}},
            "required": ["order_id"],
        },
    },
}


def env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"{name} is not set: this scenario is run by crates/lemma-cli/tests/integration/compat.rs")
    return value


def lemma_url():
    return env("LEMMA_URL").rstrip("/")


def api_key():
    return env("LEMMA_API_KEY")


def public_key():
    return env("LEMMA_PUBLIC_KEY")


def otlp_exporter():
    """OTLP/HTTP protobuf to Lemma's /v1/traces, authenticated with the API key."""
    return OTLPSpanExporter(
        endpoint=f"{lemma_url()}/v1/traces",
        headers={"Authorization": f"Bearer {api_key()}"},
    )


def resource(service_name):
    return Resource.create({"service.name": service_name})


def batch_processor():
    return BatchSpanProcessor(otlp_exporter())


def lookup_order_result(order_id):
    return {"order_id": order_id, "status": "shipped", "eta": "Friday"}
