/**
 * The run context: thread, user, session, environment, tags and metadata of a run.
 *
 * It lives in W3C baggage (keys `lemma.thread_id`, `lemma.user_id`, `lemma.session_id`,
 * `lemma.environment`, `lemma.tags` as a JSON array, `lemma.metadata.<key>`), so one mechanism
 * carries it to every span of the run in this process and, through `baggage` headers or the
 * `BAGGAGE` variable, to other processes. A span processor copies it onto every span as it starts,
 * whoever starts the span (Lemma's helpers, OpenInference, your own tracer).
 */
import { context, propagation, type Attributes, type Baggage, type Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';

import { ATTR, metadataValue } from './attributes.js';

/** What a run is about; every field is optional. */
export interface RunContext {
  /** Runs with the same thread id form one conversation (`lemma.thread_id`). */
  threadId?: string;
  /** The end user the run serves (`lemma.user_id`). */
  userId?: string;
  /** A session grouping runs, e.g. a browser session (`lemma.session_id`). */
  sessionId?: string;
  /** Where the run happens: `production`, `staging`, ... (`lemma.environment`). */
  environment?: string;
  /** Labels for filtering runs (`lemma.tags`). Nested contexts add to the outer tags. */
  tags?: string[];
  /** Free-form fields (`lemma.metadata.<key>`); non-string values are JSON-encoded. */
  metadata?: Record<string, unknown>;
}

const SCALARS = [
  ['threadId', ATTR.threadId],
  ['userId', ATTR.userId],
  ['sessionId', ATTR.sessionId],
  ['environment', ATTR.environment],
] as const;

/** `ctx` with `run` merged into its baggage: fields given replace, tags add, metadata merges. */
export function contextWithRun(ctx: Context, run: RunContext | undefined): Context {
  if (!run) return ctx;
  let baggage: Baggage = propagation.getBaggage(ctx) ?? propagation.createBaggage();
  for (const [field, key] of SCALARS) {
    const value = run[field];
    if (value !== undefined && value !== null && value !== '') {
      baggage = baggage.setEntry(key, { value: String(value) });
    }
  }
  if (run.tags && run.tags.length > 0) {
    const tags = [...parseTags(baggage.getEntry(ATTR.tags)?.value)];
    for (const tag of run.tags) if (!tags.includes(tag)) tags.push(String(tag));
    baggage = baggage.setEntry(ATTR.tags, { value: JSON.stringify(tags) });
  }
  for (const [key, value] of Object.entries(run.metadata ?? {})) {
    if (value !== undefined) {
      baggage = baggage.setEntry(ATTR.metadataPrefix + key, { value: metadataValue(value) });
    }
  }
  return propagation.setBaggage(ctx, baggage);
}

/** The run context that `ctx` (by default the active context) carries. */
export function getRunContext(ctx: Context = context.active()): RunContext {
  const baggage = propagation.getBaggage(ctx);
  const run: RunContext = {};
  if (!baggage) return run;
  for (const [field, key] of SCALARS) {
    const value = baggage.getEntry(key)?.value;
    if (value) run[field] = value;
  }
  const tags = parseTags(baggage.getEntry(ATTR.tags)?.value);
  if (tags.length > 0) run.tags = tags;
  for (const [key, entry] of baggage.getAllEntries()) {
    if (key.startsWith(ATTR.metadataPrefix)) {
      run.metadata ??= {};
      run.metadata[key.slice(ATTR.metadataPrefix.length)] = entry.value;
    }
  }
  return run;
}

/**
 * Runs `fn` with `run` added to the current run context: every span started inside (in this
 * process, and in processes it calls with `injectHeaders()` / `contextEnv()`) carries it.
 * Returns what `fn` returns.
 */
export function withContext<R>(run: RunContext, fn: () => R): R {
  return context.with(contextWithRun(context.active(), run), fn);
}

/** The attributes of a run context. */
export function runContextAttributes(run: RunContext): Attributes {
  const out: Attributes = {};
  for (const [field, key] of SCALARS) {
    const value = run[field];
    if (value) out[key] = value;
  }
  if (run.tags && run.tags.length > 0) out[ATTR.tags] = [...run.tags];
  for (const [key, value] of Object.entries(run.metadata ?? {})) {
    if (value !== undefined) out[ATTR.metadataPrefix + key] = metadataValue(value);
  }
  return out;
}

/** Tags from baggage: a JSON array, or (as other emitters write them) comma-separated. */
function parseTags(value: string | undefined): string[] {
  if (!value) return [];
  try {
    const parsed: unknown = JSON.parse(value);
    if (Array.isArray(parsed)) return parsed.map(String);
  } catch {
    // not JSON: comma-separated
  }
  return value
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
}

/**
 * Copies the run context of the context a span starts in onto the span, so every span of a run
 * (sub-agents, tools, model calls, spans of other instrumentations) carries thread, user and
 * the rest. `defaults` (e.g. the environment given to `init`) apply where the run sets nothing.
 */
export class RunContextSpanProcessor implements SpanProcessor {
  private readonly defaults: RunContext;

  constructor(defaults: RunContext = {}) {
    this.defaults = defaults;
  }

  onStart(span: Span, parentContext: Context): void {
    const run = getRunContext(parentContext);
    const merged: RunContext = { ...this.defaults, ...run };
    if (this.defaults.metadata || run.metadata) {
      merged.metadata = { ...this.defaults.metadata, ...run.metadata };
    }
    if (this.defaults.tags || run.tags) {
      merged.tags = [...new Set([...(this.defaults.tags ?? []), ...(run.tags ?? [])])];
    }
    span.setAttributes(runContextAttributes(merged));
  }

  onEnd(_span: ReadableSpan): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
