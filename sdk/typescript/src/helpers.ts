/**
 * The typed helpers for what happens inside a run: tool calls, model calls, retrievals and
 * any other step. Each comes as a wrapper (`tool(name, fn)`: call it as you would `fn`), a
 * block (`withTool(name, args, (call) => ...)`: runs now) and a handle to end by hand
 * (`startTool(name, args)`). Errors are recorded and rethrown; returned streams are tracked.
 */
import { SpanKind, context } from '@opentelemetry/api';

import { ATTR, type SpanKindName } from './attributes.js';
import { execute, inputOf } from './execute.js';
import { LlmCall, Retrieval, SpanHandle, ToolCall } from './handles.js';
import type { MessageInput } from './messages.js';
import { startHelperSpan, wrapWith, type AnyFunction, type Wrapped } from './spans.js';

/** The context a new helper span starts in (its parent). */
const activeParent = () => context.active();

// ---- tools ----

export interface ToolOptions {
  /** The tool's name (`gen_ai.tool.name`). */
  name: string;
  /** The id the model gave this call (`gen_ai.tool.call.id`). */
  callId?: string;
  /** What the tool does (`gen_ai.tool.description`). */
  description?: string;
  attributes?: Record<string, unknown>;
}

function toolOptions(nameOrOptions: string | ToolOptions, extra?: Partial<ToolOptions>): ToolOptions {
  return { ...(typeof nameOrOptions === 'string' ? { name: nameOrOptions } : nameOrOptions), ...extra };
}

/** Opens a tool call span (`execute_tool <name>`) with `args` as its arguments. */
export function startTool(nameOrOptions: string | ToolOptions, args?: unknown): ToolCall {
  const options = toolOptions(nameOrOptions);
  const span = startHelperSpan(
    `execute_tool ${options.name}`,
    {
      [ATTR.spanKind]: 'tool',
      [ATTR.operation]: 'execute_tool',
      [ATTR.toolName]: options.name,
      ...(options.callId ? { [ATTR.toolCallId]: options.callId } : {}),
      ...(options.description ? { 'gen_ai.tool.description': options.description } : {}),
    },
    options.attributes,
  );
  const call = new ToolCall(options.name, options.callId, span, activeParent());
  call.setInput(args ?? {});
  return call;
}

/**
 * Wraps `fn` as a tool: each call records its arguments (the argument, or the list when there
 * are several) and its result. `fn` may take the `ToolCall` as its last parameter.
 */
export function tool<F extends AnyFunction>(
  nameOrOptions: string | ToolOptions,
  fn: F,
  options?: Partial<Omit<ToolOptions, 'name'>>,
): Wrapped<F, ToolCall> {
  const opts = toolOptions(nameOrOptions, options);
  return wrapWith(fn, (args) => startTool(opts, inputOf(args)));
}

/** Runs `fn(call)` as one tool call with `args`; returns what `fn` returns (its result). */
export function withTool<R>(nameOrOptions: string | ToolOptions, args: unknown, fn: (call: ToolCall) => R): R {
  const call = startTool(nameOrOptions, args);
  return execute(call, () => fn(call));
}

// ---- model calls ----

export interface LlmOptions {
  /** The model asked for (`gen_ai.request.model`); the span is named `chat <model>`. */
  model: string;
  /** Who serves it: `openai`, `anthropic`, ... (`gen_ai.provider.name`). */
  provider?: string;
  /** The conversation sent: GenAI messages, OpenAI-style messages, or a prompt string. */
  inputMessages?: MessageInput;
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  attributes?: Record<string, unknown>;
}

/** Opens a model call span; record the answer on the returned `LlmCall`, then `end()` it. */
export function startLlm(options: LlmOptions): LlmCall {
  const span = startHelperSpan(
    `chat ${options.model}`,
    {
      [ATTR.spanKind]: 'llm',
      [ATTR.operation]: 'chat',
      [ATTR.requestModel]: options.model,
      ...(options.provider ? { [ATTR.provider]: options.provider } : {}),
      ...(options.temperature !== undefined ? { [ATTR.temperature]: options.temperature } : {}),
      ...(options.maxTokens !== undefined ? { [ATTR.maxTokens]: options.maxTokens } : {}),
      ...(options.topP !== undefined ? { [ATTR.topP]: options.topP } : {}),
    },
    options.attributes,
    undefined,
    SpanKind.CLIENT,
  );
  const call = new LlmCall(span, activeParent());
  if (options.inputMessages !== undefined) call.setInputMessages(options.inputMessages);
  return call;
}

/**
 * Runs `fn(call)` as one model call and returns what it returns. Record the answer with
 * `call.setOutputMessages(...)`, `call.setUsage(...)`, ... or return it: a returned string is the
 * assistant's text, a returned OpenAI chat completion is recorded whole (messages, usage, id).
 */
export function llm<R>(options: LlmOptions, fn: (call: LlmCall) => R): R {
  const call = startLlm(options);
  return execute(call, () => fn(call));
}

// ---- retrieval ----

export interface RetrievalOptions {
  /** Where documents come from (index, store); the span is named `retrieval <source>`. */
  source?: string;
  attributes?: Record<string, unknown>;
}

function retrievalOptions(sourceOrOptions: string | RetrievalOptions | undefined): RetrievalOptions {
  if (sourceOrOptions === undefined) return {};
  return typeof sourceOrOptions === 'string' ? { source: sourceOrOptions } : sourceOrOptions;
}

/** Opens a retrieval span for `query`; record the documents with `setDocuments`, then `end()`. */
export function startRetrieval(sourceOrOptions: string | RetrievalOptions | undefined, query?: unknown): Retrieval {
  const options = retrievalOptions(sourceOrOptions);
  const span = startHelperSpan(
    options.source ? `retrieval ${options.source}` : 'retrieval',
    {
      [ATTR.spanKind]: 'retrieval',
      [ATTR.operation]: 'retrieval',
      ...(options.source ? { [ATTR.dataSourceId]: options.source } : {}),
    },
    options.attributes,
  );
  const retrieval = new Retrieval(span, activeParent());
  retrieval.setInput(query);
  return retrieval;
}

/** Wraps a retriever: its arguments are the query, its result the documents. */
export function retrieval<F extends AnyFunction>(
  sourceOrOptions: string | RetrievalOptions,
  fn: F,
): Wrapped<F, Retrieval> {
  return wrapWith(fn, (args) => startRetrieval(sourceOrOptions, inputOf(args)));
}

/** Runs `fn(retrieval)` for `query`; what it returns is recorded as the documents. */
export function withRetrieval<R>(
  sourceOrOptions: string | RetrievalOptions,
  query: unknown,
  fn: (retrieval: Retrieval) => R,
): R {
  const handle = startRetrieval(sourceOrOptions, query);
  return execute(handle, () => fn(handle));
}

// ---- any other step ----

export interface SpanOptions {
  name: string;
  /** `lemma.span.kind`: `chain`, `guardrail`, `embedding`, ... (default `span`). */
  kind?: SpanKindName;
  attributes?: Record<string, unknown>;
}

function spanOptions(nameOrOptions: string | SpanOptions): SpanOptions {
  return typeof nameOrOptions === 'string' ? { name: nameOrOptions } : nameOrOptions;
}

/** Opens a generic span with `input` (`lemma.input`); end it with `complete(output)`. */
export function startSpan(nameOrOptions: string | SpanOptions, input?: unknown): SpanHandle {
  const options = spanOptions(nameOrOptions);
  const span = startHelperSpan(options.name, { [ATTR.spanKind]: options.kind ?? 'span' }, options.attributes);
  const handle = new SpanHandle(span, activeParent());
  handle.setInput(input);
  return handle;
}

/** Wraps `fn` in a generic span: arguments as `lemma.input`, result as `lemma.output`. */
export function span<F extends AnyFunction>(nameOrOptions: string | SpanOptions, fn: F): Wrapped<F, SpanHandle> {
  return wrapWith(fn, (args) => startSpan(nameOrOptions, inputOf(args)));
}

/** Runs `fn(span)` in a generic span with `input`; returns what `fn` returns (the output). */
export function withSpan<R>(nameOrOptions: string | SpanOptions, input: unknown, fn: (span: SpanHandle) => R): R {
  const handle = startSpan(nameOrOptions, input);
  return execute(handle, () => fn(handle));
}
