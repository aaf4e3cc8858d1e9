/**
 * Handles on the spans Lemma's helpers open: what the code inside a run, tool call, model call
 * or retrieval uses to record its output, attributes and errors, and to end the span itself.
 */
import {
  SpanStatusCode,
  context,
  createContextKey,
  trace,
  type Context,
  type Span,
} from '@opentelemetry/api';

import { ATTR, attributeValue, metadataAttributes, toJson, toText } from './attributes.js';
import { finishReasonsOf, toGenAiMessages, type GenAiMessage } from './messages.js';
import { metric, type Metric, type MetricOptions, type MetricValue } from './metrics.js';
import { runSignals, type RunSignals, type SignalsOptions } from './signals.js';

const HANDLE_KEY = createContextKey('lemma.span-handle');
const RUN_KEY = createContextKey('lemma.agent-run');

/** A span opened by one of Lemma's helpers. Every method is safe to call after the span ended. */
export class SpanHandle {
  /** The OpenTelemetry span, for anything this handle does not cover. */
  readonly span: Span;
  /** The context with this span active: code run in it nests under the span. */
  readonly context: Context;
  private outputRecorded = false;
  private isEnded = false;
  /** Whether a helper (`agent()`, `withAgent()`, `tool()`, ...) ends the span when its code does. */
  private managed = false;
  private failedWith: unknown;

  constructor(span: Span, parent: Context) {
    this.span = span;
    this.context = this.extendContext(trace.setSpan(parent, span).setValue(HANDLE_KEY, this));
  }

  /** What else the context of this span carries (runs mark themselves as the current run). */
  protected extendContext(ctx: Context): Context {
    return ctx;
  }

  /** The run ID: the trace id, 32 lowercase hex characters, as the Lemma API names the run. */
  get runId(): string {
    return this.span.spanContext().traceId;
  }

  /** This span's id, 16 lowercase hex characters. */
  get spanId(): string {
    return this.span.spanContext().spanId;
  }

  /** Whether the span has ended (completed, failed, or the helper closed it). */
  get ended(): boolean {
    return this.isEnded;
  }

  /** Sets an attribute; values other than primitives and arrays of them are JSON-encoded. */
  setAttribute(key: string, value: unknown): this {
    if (!this.isEnded && value !== undefined) this.span.setAttribute(key, attributeValue(value));
    return this;
  }

  setAttributes(attributes: Record<string, unknown>): this {
    for (const [key, value] of Object.entries(attributes)) this.setAttribute(key, value);
    return this;
  }

  /** Sets `lemma.metadata.<key>` on this span (non-string values JSON-encoded). */
  setMetadata(key: string, value: unknown): this;
  setMetadata(metadata: Record<string, unknown>): this;
  setMetadata(keyOrMetadata: string | Record<string, unknown>, value?: unknown): this {
    const metadata = typeof keyOrMetadata === 'string' ? { [keyOrMetadata]: value } : keyOrMetadata;
    if (!this.isEnded) this.span.setAttributes(metadataAttributes(metadata));
    return this;
  }

  /** Records the input (the helpers record their arguments already). */
  setInput(value: unknown): this {
    if (!this.isEnded && value !== undefined) this.writeInput(value);
    return this;
  }

  /** Records the output; the helpers then no longer record the function's return value. */
  setOutput(value: unknown): this {
    if (!this.isEnded && value !== undefined) {
      this.writeOutput(value);
      this.outputRecorded = true;
    }
    return this;
  }

  /** Ends the span now, with `output` as its output when given (e.g. at the end of a stream). */
  complete(output?: unknown): void {
    if (output !== undefined) this.setOutput(output);
    this.end();
  }

  /**
   * Records `error` as an `exception` event and sets the status to error with its message.
   * Does not throw: throw the error yourself if the caller should see it. Inside a helper
   * (`agent()`, `withAgent()`, `tool()`, ...) the span still ends when the code does, so the
   * code may go on and its return value is the output, as in the Python and Rust SDKs; a span
   * opened by hand (`startAgent()`, `startTool()`, ...) ends here.
   */
  fail(error: unknown): void {
    if (this.isEnded) return;
    this.recordError(error);
    if (!this.managed) this.end();
  }

  /** Hands the span to a helper, which ends it when the code inside settles. */
  manage(): this {
    this.managed = true;
    return this;
  }

  /** Records `error` and ends the span: the code inside a helper threw or rejected. */
  abort(error: unknown): void {
    this.recordError(error);
    this.end();
  }

  /** Records `error` on the span (event and status) without ending it. */
  recordError(error: unknown): this {
    // The same error failed by hand and then thrown out of a helper is recorded once.
    if (this.isEnded || (error !== undefined && error === this.failedWith)) return this;
    this.failedWith = error;
    const { type, message, stack } = describeError(error);
    this.span.addEvent('exception', {
      'exception.type': type,
      'exception.message': message,
      ...(stack ? { 'exception.stacktrace': stack } : {}),
    });
    this.span.setStatus({ code: SpanStatusCode.ERROR, message });
    return this;
  }

  /** Ends the span; later calls do nothing. */
  end(): void {
    if (this.isEnded) return;
    this.isEnded = true;
    this.span.end();
  }

  /** Runs `fn` with this span as the current span, so spans started inside nest under it. */
  with<R>(fn: () => R): R {
    return context.with(this.context, fn);
  }

  /** Ends the span with `result` as its output unless an output was set; used by the helpers. */
  finish(result: unknown): void {
    if (this.isEnded) return;
    if (!this.outputRecorded && result !== undefined) this.writeOutput(result);
    this.end();
  }

  protected writeInput(value: unknown): void {
    this.span.setAttribute(ATTR.input, toText(value));
  }

  protected writeOutput(value: unknown): void {
    this.span.setAttribute(ATTR.output, toText(value));
  }
}

/** An agent run (or sub-agent): `ai.agent.run` with `ai.agent.input` / `ai.agent.output`. */
export class AgentRun extends SpanHandle {
  /** The agent's name. */
  readonly name: string;

  constructor(name: string, span: Span, parent: Context) {
    super(span, parent);
    this.name = name;
  }

  protected override extendContext(ctx: Context): Context {
    return ctx.setValue(RUN_KEY, this);
  }

  /**
   * Posts a metric event (feedback, a score) to this run: `metric(this.runId, ...)`. Works
   * while the run is going on and after it ended; rejects with the server's reason.
   */
  metric(name: string, value: MetricValue, options?: MetricOptions): Promise<Metric> {
    return metric(this.runId, name, value, options);
  }

  /**
   * What Lemma finds worth a look in this run so far (a streak of failed calls, a loop, a
   * classifier's flag, ...), most severe first, so the agent can stop or escalate:
   *
   * ```ts
   * const [worst] = (await run.signals()).critical;
   * if (worst) throw new Escalate(worst.explanation);
   * ```
   *
   * Spans that ended are flushed to Lemma first, so they count; spans still open (this run's
   * own, until it ends) do not. Any key of the project may ask, an ingest key too. Rejects
   * with a `LemmaApiError` when Lemma refuses (404 while it has no span of the run, e.g. none
   * has ended yet) or cannot be reached.
   */
  signals(options?: SignalsOptions): Promise<RunSignals> {
    return runSignals(this.runId, options);
  }

  protected override writeInput(value: unknown): void {
    this.span.setAttribute(ATTR.agentInput, toText(value));
  }

  protected override writeOutput(value: unknown): void {
    this.span.setAttribute(ATTR.agentOutput, toText(value));
  }
}

/** A tool call: arguments in `gen_ai.tool.call.arguments`, result in `gen_ai.tool.call.result`. */
export class ToolCall extends SpanHandle {
  readonly toolName: string;
  readonly callId: string | undefined;

  constructor(toolName: string, callId: string | undefined, span: Span, parent: Context) {
    super(span, parent);
    this.toolName = toolName;
    this.callId = callId;
  }

  /** Records the tool's result (same as `setOutput`). */
  setResult(result: unknown): this {
    return this.setOutput(result);
  }

  protected override writeInput(value: unknown): void {
    this.span.setAttribute(ATTR.toolArguments, toJson(value));
  }

  protected override writeOutput(value: unknown): void {
    this.span.setAttribute(ATTR.toolResult, toText(value));
  }
}

/** Token counts of one model call. OpenAI's and Anthropic's own usage objects are accepted too. */
export interface Usage {
  inputTokens?: number;
  outputTokens?: number;
  /** Input tokens read from the provider's prompt cache (included in `inputTokens`). */
  cacheReadTokens?: number;
  /** Input tokens written to the prompt cache (included in `inputTokens`). */
  cacheWriteTokens?: number;
  /** Output tokens spent on reasoning (included in `outputTokens`). */
  reasoningTokens?: number;
}

/**
 * A model call: `chat <model>` with the GenAI attributes. Input messages come from the
 * options; record the answer with `setOutputMessages` (or `setOutput` with text), or a whole
 * OpenAI chat completion with `setResponse`.
 */
export class LlmCall extends SpanHandle {
  private finishReasonsSet = false;

  setInputMessages(messages: unknown): this {
    return this.setInput(messages);
  }

  /** The model's answer: GenAI messages, OpenAI messages or choices, or plain text. */
  setOutputMessages(messages: unknown): this {
    return this.setOutput(messages);
  }

  setUsage(usage: Usage | Record<string, unknown>): this {
    const u = usage as Record<string, unknown>;
    const details = (key: string): Record<string, unknown> => (u[key] as Record<string, unknown> | undefined) ?? {};
    const pick = (...values: unknown[]): number | undefined => values.find((v): v is number => typeof v === 'number');
    const tokens: [string, number | undefined][] = [
      [ATTR.inputTokens, pick(u['inputTokens'], u['input_tokens'], u['prompt_tokens'])],
      [ATTR.outputTokens, pick(u['outputTokens'], u['output_tokens'], u['completion_tokens'])],
      [
        ATTR.cacheReadTokens,
        pick(
          u['cacheReadTokens'],
          u['cache_read_input_tokens'],
          details('prompt_tokens_details')['cached_tokens'],
          details('input_tokens_details')['cached_tokens'],
        ),
      ],
      [ATTR.cacheWriteTokens, pick(u['cacheWriteTokens'], u['cache_creation_input_tokens'])],
      [
        ATTR.reasoningTokens,
        pick(
          u['reasoningTokens'],
          details('completion_tokens_details')['reasoning_tokens'],
          details('output_tokens_details')['reasoning_tokens'],
        ),
      ],
    ];
    for (const [key, value] of tokens) if (value !== undefined) this.setAttribute(key, value);
    return this;
  }

  setFinishReasons(reasons: string[]): this {
    this.setAttribute(ATTR.finishReasons, [...reasons]);
    this.finishReasonsSet = true;
    return this;
  }

  setResponseId(id: string): this {
    return this.setAttribute(ATTR.responseId, id);
  }

  setResponseModel(model: string): this {
    return this.setAttribute(ATTR.responseModel, model);
  }

  /** The cost of the call in USD, when you know it (else Lemma computes it from its prices). */
  setCost(usd: number): this {
    return this.setAttribute(ATTR.costUsd, usd);
  }

  /**
   * Records an OpenAI chat completion (or any response of that shape): id, model, usage,
   * the choices as output messages and their finish reasons.
   */
  setResponse(response: {
    id?: string;
    model?: string;
    usage?: object | null;
    choices?: ReadonlyArray<unknown>;
  }): this {
    if (typeof response.id === 'string') this.setResponseId(response.id);
    if (typeof response.model === 'string') this.setResponseModel(response.model);
    if (response.usage) this.setUsage(response.usage as Record<string, unknown>);
    if (Array.isArray(response.choices)) this.setOutputMessages(response.choices);
    return this;
  }

  protected override writeInput(value: unknown): void {
    this.span.setAttribute(ATTR.inputMessages, JSON.stringify(toGenAiMessages(value, 'user')));
  }

  protected override writeOutput(value: unknown): void {
    if (isObject(value) && Array.isArray(value['choices'])) {
      this.setResponse(value);
      return;
    }
    const messages: GenAiMessage[] = toGenAiMessages(value, 'assistant');
    if (typeof value === 'string') for (const m of messages) m.finish_reason = 'stop';
    this.span.setAttribute(ATTR.outputMessages, JSON.stringify(messages));
    const reasons = finishReasonsOf(messages);
    if (!this.finishReasonsSet && reasons.length > 0) this.span.setAttribute(ATTR.finishReasons, reasons);
  }
}

/** A retrieval: the query in `lemma.input`, the documents in `lemma.output`. */
export class Retrieval extends SpanHandle {
  /** Records the documents found (same as `setOutput`). */
  setDocuments(documents: unknown): this {
    return this.setOutput(documents);
  }

  protected override writeInput(value: unknown): void {
    const query = toText(value);
    this.span.setAttribute(ATTR.input, query);
    this.span.setAttribute(ATTR.retrievalQuery, query);
  }

  protected override writeOutput(value: unknown): void {
    const documents = toJson(value);
    this.span.setAttribute(ATTR.output, documents);
    this.span.setAttribute(ATTR.retrievalDocuments, documents);
  }
}

/** The innermost agent run the current code runs in, if any. */
export function currentRun(ctx: Context = context.active()): AgentRun | undefined {
  return ctx.getValue(RUN_KEY) as AgentRun | undefined;
}

/** The innermost span opened by Lemma's helpers around the current code, if any. */
export function currentSpanHandle(ctx: Context = context.active()): SpanHandle | undefined {
  return ctx.getValue(HANDLE_KEY) as SpanHandle | undefined;
}

/** What an `exception` event says about a thrown value. */
export function describeError(error: unknown): { type: string; message: string; stack?: string } {
  if (error instanceof Error) {
    const type = error.name && error.name !== 'Error' ? error.name : error.constructor?.name || 'Error';
    return { type, message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
  }
  const type = error === null || error === undefined ? String(error) : (error as object).constructor?.name ?? typeof error;
  return { type, message: toText(error) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
