/**
 * Lemma's SDK for TypeScript and JavaScript: trace AI agents to a Lemma server on top of the
 * OpenTelemetry JS SDK.
 *
 * ```ts
 * import { agent, init, shutdown } from '@lemma/sdk';
 * init({ url: 'http://127.0.0.1:4318' }); // key from $LEMMA_API_KEY
 * const support = agent('support_agent', async (question: string) => answer(question));
 * await support('Where is my order?');
 * await shutdown();
 * ```
 */
export { init, flush, shutdown, lemmaSpanProcessor, W3C_PROPAGATOR } from './setup.js';
export type { InitOptions, LemmaProcessorOptions } from './setup.js';
export { LemmaSpanExporter, DEFAULT_URL } from './exporter.js';
export type { ExporterOptions } from './exporter.js';
export { agent, wrapAgent, startAgent, withAgent } from './agent.js';
export type { Agent, AgentOptions, RunResult } from './agent.js';
export {
  tool,
  withTool,
  startTool,
  llm,
  startLlm,
  retrieval,
  withRetrieval,
  startRetrieval,
  span,
  withSpan,
  startSpan,
} from './helpers.js';
export type { ToolOptions, LlmOptions, RetrievalOptions, SpanOptions } from './helpers.js';
export { SpanHandle, AgentRun, ToolCall, LlmCall, Retrieval, currentRun, currentSpanHandle } from './handles.js';
export type { Usage } from './handles.js';
export { withContext, getRunContext, RunContextSpanProcessor } from './context.js';
export type { RunContext } from './context.js';
export { metric, LemmaApiError } from './metrics.js';
export type { Metric, MetricOptions, MetricValue } from './metrics.js';
export type { RunSignals, Signal, SignalSeverity, SignalSource, SignalsOptions } from './signals.js';
export { injectHeaders, contextEnv, continueFrom } from './propagation.js';
export type { Carrier } from './propagation.js';
export { proxy, withProxy } from './proxy.js';
export { experiment, compare } from './experiments.js';
export type {
  CaseInput,
  CaseResult,
  ComparedCase,
  ComparedRun,
  CompareOptions,
  Comparison,
  ExperimentApiOptions,
  ExperimentOptions,
  ExperimentResult,
  ExperimentTotals,
  ScoreDelta,
} from './experiments.js';
export { scorers, scorer, exactMatch, contains, jsonFields, numericMatch, regexMatch } from './scorers.js';
export type { Case, Scorer, ScoreValue } from './scorers.js';
export type { ProxyOptions, ProxySession } from './proxy.js';
export { toGenAiMessages } from './messages.js';
export type {
  GenAiMessage,
  GenAiPart,
  ChatMessage,
  MessageInput,
  TextPart,
  ReasoningPart,
  ToolCallPart,
  ToolCallResponsePart,
  UriPart,
} from './messages.js';
export type { Wrapped, CallerParameters } from './spans.js';
export { ATTR, AGENT_SPAN_NAME } from './attributes.js';
export type { SpanKindName } from './attributes.js';
export { SDK_VERSION } from './version.js';
