/**
 * metric(): feedback, task success or an evaluator's score, posted to a run through Lemma's
 * REST API (`POST /api/v1/runs/{runId}/metrics`). Unlike spans it is sent at once, not through
 * OTLP, and a refusal reaches the caller: this is a call the user makes, so they should know.
 * Other REST calls of the SDK (proxy sessions, a run's signals, experiments) share its endpoint,
 * request and error handling.
 */
import { resolveEndpoint, type ExporterOptions } from './exporter.js';

/** A metric's value: a finite number, a boolean, or a string of at most 1,000 characters. */
export type MetricValue = number | boolean | string;

/** A metric event as Lemma stores it (METRIC in the REST API). */
export interface Metric {
  id: string;
  run_id: string;
  span_id?: string;
  name: string;
  value: MetricValue;
  comment?: string;
  source?: string;
  /** When Lemma received it, in nanoseconds since the epoch (a JS number: exact to ~0.3 µs). */
  time_unix_nano: number;
}

export interface MetricOptions {
  /** Why: a user's words, an evaluator's reasoning (at most 4,000 characters). */
  comment?: string;
  /** Who produced it: `user`, `evaluator`, ...; default `sdk`; `null` sends none. */
  source?: string | null;
  /** The span (16 hex characters) the event is about, when it is about one span of the run. */
  spanId?: string;
  /** Lemma's URL; default the one given to `init()`, else `LEMMA_URL`. */
  url?: string;
  /** The API key; default the one given to `init()`, else `LEMMA_API_KEY`. */
  apiKey?: string;
  /** How long the request may take; default 10 s. */
  timeoutMillis?: number;
}

/** Lemma refused a request (`status` is its HTTP status) or could not be reached (`status` 0). */
export class LemmaApiError extends Error {
  override readonly name = 'LemmaApiError';
  /** The HTTP status, or 0 when no answer came. */
  readonly status: number;
  /** The server's error code (`bad_request`, ...), when it gave one. */
  readonly code: string | undefined;

  constructor(message: string, status: number, code?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
    this.code = code;
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** The URL and key `init()` (or `lemmaSpanProcessor()`) was given, so metric() uses them too. */
let configured: Pick<ExporterOptions, 'url' | 'apiKey'> = {};

/** Remembers the URL and key of the latest setup; called by `init` and `lemmaSpanProcessor`. */
export function configureApi(options: Pick<ExporterOptions, 'url' | 'apiKey'>): void {
  configured = {
    ...(options.url !== undefined ? { url: options.url } : {}),
    ...(options.apiKey !== undefined ? { apiKey: options.apiKey } : {}),
  };
}

/**
 * Posts a metric event to the run `runId` (e.g. `support.lastRunId`, or `run.runId`) and
 * resolves to the event as stored. The run's spans need not have arrived yet.
 *
 * ```ts
 * await metric(runId, 'helpful', false, { source: 'user', comment: 'wrong order number' });
 * ```
 *
 * Rejects with a `LemmaApiError` carrying the server's reason when Lemma refuses the event
 * (a bad name or value, a rejected key, a run of another project), or when it cannot be reached.
 */
export async function metric(
  runId: string,
  name: string,
  value: MetricValue,
  options: MetricOptions = {},
): Promise<Metric> {
  const { url, apiKey } = apiEndpoint(options);
  const body = {
    name,
    value,
    ...(options.source !== null ? { source: options.source ?? 'sdk' } : {}),
    ...(options.comment !== undefined ? { comment: options.comment } : {}),
    ...(options.spanId !== undefined ? { span_id: options.spanId } : {}),
  };
  const { status, json, text } = await callApi({
    method: 'POST',
    url,
    path: `/api/v1/runs/${encodeURIComponent(runId)}/metrics`,
    apiKey,
    body,
    timeoutMillis: options.timeoutMillis,
    doing: `record metric ${JSON.stringify(name)}`,
    subject: `metric ${JSON.stringify(name)} for run ${runId}`,
  });
  const stored = (json as { metrics?: unknown } | undefined)?.metrics;
  if (!Array.isArray(stored) || stored.length !== 1) {
    throw new LemmaApiError(
      `unexpected answer from Lemma at ${url} to a metric (HTTP ${status}): ${text.slice(0, 200)}`,
      status,
    );
  }
  return stored[0] as Metric;
}

/** The URL and key of a REST call: those given, else `init()`'s, else the environment's. */
export function apiEndpoint(options: { url?: string | undefined; apiKey?: string | undefined } = {}): {
  url: string;
  apiKey: string | undefined;
} {
  return resolveEndpoint({
    url: options.url ?? configured.url,
    apiKey: options.apiKey ?? configured.apiKey,
  });
}

/** One request to Lemma's REST API, and how to name it in errors. */
export interface ApiCall {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Lemma's base URL, without a trailing slash. */
  url: string;
  /** The route, from `/api/v1/...`. */
  path: string;
  apiKey: string | undefined;
  /** Sent as JSON when given. */
  body?: unknown;
  timeoutMillis?: number | undefined;
  /** What the call does: "could not reach Lemma at <url> to <doing>". */
  doing: string;
  /** What Lemma may refuse: "Lemma refused <subject> (HTTP <status>): <reason>". */
  subject: string;
  /** Error statuses that are an answer like any other here (e.g. 404 when ending something). */
  accept?: number[];
}

/**
 * Sends `call` and resolves to the status and the answer's body (parsed when it is JSON).
 * Rejects with a `LemmaApiError`: the server's reason for an error status, the network's for
 * no answer (`status` 0).
 */
export async function callApi(call: ApiCall): Promise<{ status: number; json: unknown; text: string }> {
  const headers: Record<string, string> = {};
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  if (call.apiKey) headers['Authorization'] = `Bearer ${call.apiKey}`;

  let response: Response;
  let text: string;
  try {
    response = await fetch(`${call.url}${call.path}`, {
      method: call.method,
      headers,
      ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
      signal: AbortSignal.timeout(call.timeoutMillis ?? DEFAULT_TIMEOUT_MS),
    });
    text = await response.text();
  } catch (error) {
    throw new LemmaApiError(
      `could not reach Lemma at ${call.url} to ${call.doing} (${networkReason(error)}): ` +
        'is `lemma serve` running there? Set LEMMA_URL (or init({ url })) to its address.',
      0,
      undefined,
      { cause: error },
    );
  }

  const json = parseJson(text);
  if (!response.ok && !call.accept?.includes(response.status)) {
    const { code, message } = serverError(json, text, response);
    const hint =
      response.status === 401 || response.status === 403
        ? ' (set LEMMA_API_KEY, or init({ apiKey }), to a key of your project)'
        : '';
    throw new LemmaApiError(
      `Lemma refused ${call.subject} (HTTP ${response.status}): ${message}${hint}`,
      response.status,
      code,
    );
  }
  return { status: response.status, json, text };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The `{"error": {"code", "message"}}` of an error answer, or what the answer said instead. */
function serverError(json: unknown, text: string, response: Response): { code?: string; message: string } {
  const error = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const message =
    typeof error?.message === 'string' ? error.message : text.trim().slice(0, 200) || response.statusText || 'no reason given';
  return typeof error?.code === 'string' ? { code: error.code, message } : { message };
}

/** Why fetch failed: Node puts the socket error (ECONNREFUSED, ...) in `cause`. */
function networkReason(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'no answer in time';
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}
