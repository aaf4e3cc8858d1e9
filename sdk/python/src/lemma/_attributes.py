"""Attribute and span names Lemma reads (docs/trace-contract.md), in one place."""

from __future__ import annotations

# Span names.
AGENT_SPAN = "ai.agent.run"

# Lemma's own attributes.
SPAN_KIND = "lemma.span.kind"
AGENT_NAME = "lemma.agent.name"
AGENT_INPUT = "ai.agent.input"
AGENT_OUTPUT = "ai.agent.output"
INPUT = "lemma.input"
OUTPUT = "lemma.output"
THREAD_ID = "lemma.thread_id"
USER_ID = "lemma.user_id"
SESSION_ID = "lemma.session_id"
ENVIRONMENT = "lemma.environment"
TAGS = "lemma.tags"
METADATA_PREFIX = "lemma.metadata."

# OpenTelemetry GenAI semantic conventions.
OPERATION = "gen_ai.operation.name"
AGENT_NAME_GENAI = "gen_ai.agent.name"
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
TOOL_ARGUMENTS = "gen_ai.tool.call.arguments"
TOOL_RESULT = "gen_ai.tool.call.result"
TOOL_DESCRIPTION = "gen_ai.tool.description"
REQUEST_MODEL = "gen_ai.request.model"
REQUEST_TEMPERATURE = "gen_ai.request.temperature"
REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
REQUEST_TOP_K = "gen_ai.request.top_k"
RESPONSE_MODEL = "gen_ai.response.model"
RESPONSE_ID = "gen_ai.response.id"
FINISH_REASONS = "gen_ai.response.finish_reasons"
PROVIDER = "gen_ai.provider.name"
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
USAGE_INPUT = "gen_ai.usage.input_tokens"
USAGE_OUTPUT = "gen_ai.usage.output_tokens"
USAGE_CACHE_READ = "gen_ai.usage.cache_read.input_tokens"
USAGE_CACHE_WRITE = "gen_ai.usage.cache_creation.input_tokens"
USAGE_REASONING = "gen_ai.usage.reasoning.output_tokens"
DATA_SOURCE = "gen_ai.data_source.id"
RETRIEVAL_QUERY = "gen_ai.retrieval.query.text"
RETRIEVAL_DOCUMENTS = "gen_ai.retrieval.documents"

# Resource attributes.
SERVICE_NAME = "service.name"
DEPLOYMENT_ENVIRONMENT = "deployment.environment.name"
