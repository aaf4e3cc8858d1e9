/**
 * The attribute names Lemma reads (docs/trace-contract.md), and how values become attributes.
 */
import type { AttributeValue, Attributes } from '@opentelemetry/api';

export const ATTR = {
  spanKind: 'lemma.span.kind',
  agentName: 'lemma.agent.name',
  input: 'lemma.input',
  output: 'lemma.output',
  threadId: 'lemma.thread_id',
  userId: 'lemma.user_id',
  sessionId: 'lemma.session_id',
  environment: 'lemma.environment',
  tags: 'lemma.tags',
  metadataPrefix: 'lemma.metadata.',
  costUsd: 'lemma.cost_usd',
  agentInput: 'ai.agent.input',
  agentOutput: 'ai.agent.output',
  operation: 'gen_ai.operation.name',
  genAiAgentName: 'gen_ai.agent.name',
  toolName: 'gen_ai.tool.name',
  toolCallId: 'gen_ai.tool.call.id',
  toolArguments: 'gen_ai.tool.call.arguments',
  toolResult: 'gen_ai.tool.call.result',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  provider: 'gen_ai.provider.name',
  responseId: 'gen_ai.response.id',
  finishReasons: 'gen_ai.response.finish_reasons',
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  cacheReadTokens: 'gen_ai.usage.cache_read.input_tokens',
  cacheWriteTokens: 'gen_ai.usage.cache_write.input_tokens',
  reasoningTokens: 'gen_ai.usage.reasoning.output_tokens',
  temperature: 'gen_ai.request.temperature',
  maxTokens: 'gen_ai.request.max_tokens',
  topP: 'gen_ai.request.top_p',
  retrievalQuery: 'gen_ai.retrieval.query.text',
  retrievalDocuments: 'gen_ai.retrieval.documents',
  dataSourceId: 'gen_ai.data_source.id',
} as const;

/** The span name of an agent run (and of a sub-agent). */
export const AGENT_SPAN_NAME = 'ai.agent.run';

/** What a span does, as `lemma.span.kind` says it. */
export type SpanKindName =
  | 'agent'
  | 'llm'
  | 'tool'
  | 'retrieval'
  | 'embedding'
  | 'reranker'
  | 'chain'
  | 'guardrail'
  | 'evaluator'
  | 'span';

/**
 * JSON text of any value, never throwing: bigints become strings, cycles and functions are
 * dropped, and an unserialisable value becomes its `String()` form.
 */
export function toJson(value: unknown): string {
  const seen = new WeakSet<object>();
  try {
    const text = JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'bigint') return v.toString();
      if (typeof v === 'function' || typeof v === 'symbol') return undefined;
      if (v instanceof Error) return { name: v.name, message: v.message };
      if (v instanceof Map) return Object.fromEntries(v);
      if (v instanceof Set) return [...v];
      if (typeof v === 'object' && v !== null) {
        if (seen.has(v)) return '[Circular]';
        seen.add(v);
      }
      return v;
    });
    return text ?? String(value);
  } catch {
    return String(value);
  }
}

/** A payload as one attribute: text as it is, anything else as JSON. */
export function toText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return toJson(value);
}

/** A metadata value as an attribute: strings as they are, anything else JSON-encoded. */
export function metadataValue(value: unknown): string {
  return typeof value === 'string' ? value : toJson(value);
}

/** The `lemma.metadata.<key>` attributes of a metadata object. */
export function metadataAttributes(metadata: Record<string, unknown> | undefined): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(metadata ?? {})) {
    if (value !== undefined) out[ATTR.metadataPrefix + key] = metadataValue(value);
  }
  return out;
}

/** Whether a value can be set as an attribute as it is. */
export function isAttributeValue(value: unknown): value is AttributeValue {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return true;
  }
  if (!Array.isArray(value)) return false;
  const kinds = new Set(value.filter((v) => v != null).map((v) => typeof v));
  return kinds.size <= 1 && [...kinds].every((k) => k === 'string' || k === 'number' || k === 'boolean');
}

/** A value as an attribute value: primitives and homogeneous arrays as they are, else JSON. */
export function attributeValue(value: unknown): AttributeValue {
  return isAttributeValue(value) ? value : toJson(value);
}
