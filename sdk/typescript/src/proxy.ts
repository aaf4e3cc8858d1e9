/**
 * Proxy sessions: the model calls of a program no Lemma SDK is in (the `claude` CLI, a script
 * using the openai or anthropic SDK), recorded as spans of the current run.
 *
 * Lemma's LLM proxy forwards OpenAI- and Anthropic-compatible calls to the real provider and
 * records each one as a GenAI span. A session (`POST /api/v1/proxy/sessions`) ties those calls
 * to a parent span: its base URLs, handed to the sub-agent as `OPENAI_BASE_URL` and
 * `ANTHROPIC_BASE_URL`, make every call through them a child of that span, in the same run,
 * with the run's thread and user. `DELETE /api/v1/proxy/sessions/{token}` ends it early.
 */
import { TraceFlags, context, isSpanContextValid, trace, type Context } from '@opentelemetry/api';

import { getRunContext } from './context.js';
import { LemmaApiError, apiEndpoint, callApi } from './metrics.js';
import { ensureGlobals } from './setup.js';

export interface ProxyOptions {
  /** The thread of the calls; default the current run's. */
  threadId?: string;
  /** The user of the calls; default the current run's. */
  userId?: string;
  /** How long the session lasts unless closed first; Lemma's default is a day, at most a week. */
  ttlSeconds?: number;
  /** Lemma's URL; default the one given to `init()`, else `LEMMA_URL`. */
  url?: string;
  /** The API key; default the one given to `init()`, else `LEMMA_API_KEY`. */
  apiKey?: string;
  /** How long each request may take; default 10 s. */
  timeoutMillis?: number;
}

/** A proxy session as Lemma created it: base URLs for a sub-agent's model calls. */
export interface ProxySession {
  /** The session's token (`lps_...`); it is part of both base URLs. */
  readonly token: string;
  /** When the session ends by itself, as Lemma wrote it (RFC 3339, UTC). */
  readonly expiresAt: string;
  /** The base URL for OpenAI-compatible clients (`.../openai/v1`). */
  readonly openaiBaseUrl: string;
  /** The base URL for Anthropic-compatible clients (`.../anthropic`). */
  readonly anthropicBaseUrl: string;
  /** `OPENAI_BASE_URL` and `ANTHROPIC_BASE_URL`, for a child process's environment. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * Ends the session now: Lemma refuses later calls through its URLs. A session that already
   * ended (closed, or expired) is left as it is, so closing twice is harmless. Rejects with a
   * `LemmaApiError` when Lemma refuses (a wrong key, say) or cannot be reached.
   */
  close(): Promise<void>;
}

/** The JSON that creates a session. */
interface SessionBody {
  traceparent?: string;
  thread_id?: string;
  user_id?: string;
  ttl_seconds?: number;
}

/**
 * Creates a proxy session under the current span: every model call a sub-agent makes through
 * its base URLs becomes a child span of that span, in the same run, with the run's thread and
 * user. Outside any span, each call becomes a run of its own. Close it when the sub-agent is
 * done (else it ends by itself at `expiresAt`), or use `withProxy`.
 *
 * ```ts
 * const session = await proxy();
 * try {
 *   execFileSync('claude', ['-p', task], { env: { ...process.env, ...session.env } });
 * } finally {
 *   await session.close();
 * }
 * ```
 *
 * Rejects with a `LemmaApiError` carrying the server's reason when Lemma refuses the session
 * (400 for an invalid `ttlSeconds`, 401 or 403 for the key, 503 when the proxy is not
 * available), or when it cannot be reached (`status` 0).
 */
export async function proxy(options: ProxyOptions = {}): Promise<ProxySession> {
  ensureGlobals();
  // Read before anything is awaited: the caller's span and run context.
  const body = sessionBody(context.active(), options);
  const { url, apiKey } = apiEndpoint(options);
  const { status, json, text } = await callApi({
    method: 'POST',
    url,
    path: '/api/v1/proxy/sessions',
    apiKey,
    body,
    timeoutMillis: options.timeoutMillis,
    doing: 'create a proxy session',
    subject: 'the proxy session',
  });
  const fields = sessionFields(json);
  if (!fields) {
    throw new LemmaApiError(
      `unexpected answer from Lemma at ${url} to a proxy session (HTTP ${status}): ${text.slice(0, 200)}`,
      status,
    );
  }
  const close = async (): Promise<void> => {
    await callApi({
      method: 'DELETE',
      url,
      path: `/api/v1/proxy/sessions/${encodeURIComponent(fields.token)}`,
      apiKey,
      timeoutMillis: options.timeoutMillis,
      doing: `end proxy session ${fields.token}`,
      subject: `ending proxy session ${fields.token}`,
      accept: [404],
    });
  };
  return Object.freeze({ ...fields, close });
}

/**
 * Runs `fn` with a proxy session created under the current span (see `proxy`), and closes the
 * session when `fn` settles, whether it resolved or threw. Resolves to what `fn` returns.
 *
 * ```ts
 * await withProxy(async (session) => {
 *   await run('claude', ['-p', task], { env: { ...process.env, ...session.env } });
 * });
 * ```
 *
 * Failing to create the session rejects; failing to close it is only a console warning (the
 * session ends by itself at `expiresAt`).
 */
export async function withProxy<R>(
  fn: (session: ProxySession) => R | Promise<R>,
  options: ProxyOptions = {},
): Promise<R> {
  const session = await proxy(options);
  try {
    return await fn(session);
  } finally {
    try {
      await session.close();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      console.warn(
        `[lemma] could not end proxy session ${session.token} (${reason}); it ends by itself at ${session.expiresAt}.`,
      );
    }
  }
}

/** The body for the span current in `ctx`, its run's thread and user unless given. */
function sessionBody(ctx: Context, options: ProxyOptions): SessionBody {
  const body: SessionBody = {};
  const spanContext = trace.getSpanContext(ctx);
  if (spanContext && isSpanContextValid(spanContext)) {
    // Only the sampled flag: the contract's `traceparent` is W3C version 00.
    const sampled = (spanContext.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED ? '01' : '00';
    body.traceparent = `00-${spanContext.traceId}-${spanContext.spanId}-${sampled}`;
  }
  const run = getRunContext(ctx);
  const threadId = options.threadId ?? run.threadId;
  const userId = options.userId ?? run.userId;
  if (threadId) body.thread_id = threadId;
  if (userId) body.user_id = userId;
  if (options.ttlSeconds !== undefined) body.ttl_seconds = options.ttlSeconds;
  return body;
}

/** The session in Lemma's 201 answer, or undefined when it is not one. */
function sessionFields(json: unknown): Omit<ProxySession, 'close'> | undefined {
  const answer = json as
    | { token?: unknown; expires_at?: unknown; base_urls?: { openai?: unknown; anthropic?: unknown }; env?: unknown }
    | undefined;
  const token = answer?.token;
  const openai = answer?.base_urls?.openai;
  const anthropic = answer?.base_urls?.anthropic;
  const expiresAt = answer?.expires_at;
  if (!isText(token) || !isText(openai) || !isText(anthropic) || !isText(expiresAt)) return undefined;
  const given = answer?.env;
  const env: Record<string, string> =
    given !== null && typeof given === 'object' && !Array.isArray(given)
      ? Object.fromEntries(Object.entries(given).map(([key, value]) => [key, String(value)]))
      : { OPENAI_BASE_URL: openai, ANTHROPIC_BASE_URL: anthropic };
  return {
    token,
    expiresAt,
    openaiBaseUrl: openai,
    anthropicBaseUrl: anthropic,
    env: Object.freeze(env),
  };
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}
