/**
 * The exporter to Lemma: OTLP/HTTP protobuf to `{url}/v1/traces` with the API key, wrapped so a
 * rejected key or an unreachable server is said once, clearly, on the console, and never
 * reaches the application as an exception.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

export const DEFAULT_URL = 'http://127.0.0.1:4318';

export interface ExporterOptions {
  /** Lemma's base URL (`LEMMA_URL`, default `http://127.0.0.1:4318`). */
  url?: string;
  /** The project's API key (`LEMMA_API_KEY`). */
  apiKey?: string;
  /** More HTTP headers for every export. */
  headers?: Record<string, string>;
  /** How long one export (with its retries) may take; default 10 s. */
  timeoutMillis?: number;
}

/** The URL and key from the options, else the environment, else the local default. */
export function resolveEndpoint(options: ExporterOptions = {}): { url: string; apiKey: string | undefined } {
  const url = (options.url ?? process.env['LEMMA_URL'] ?? DEFAULT_URL).replace(/\/+$/, '');
  const apiKey = options.apiKey ?? (process.env['LEMMA_API_KEY'] || undefined);
  return { url, apiKey };
}

/** Exports spans to Lemma; warns once per kind of problem instead of failing. */
export class LemmaSpanExporter implements SpanExporter {
  readonly url: string;
  private readonly inner: SpanExporter;
  private readonly hasKey: boolean;
  private readonly warned = new Set<string>();

  constructor(options: ExporterOptions = {}) {
    const { url, apiKey } = resolveEndpoint(options);
    this.url = url;
    this.hasKey = apiKey !== undefined;
    const headers: Record<string, string> = { ...options.headers };
    if (apiKey) headers['Authorization'] = `Bearer ${apiKey}`;
    this.inner = new OTLPTraceExporter({
      url: `${url}/v1/traces`,
      headers,
      ...(options.timeoutMillis !== undefined ? { timeoutMillis: options.timeoutMillis } : {}),
    });
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    try {
      this.inner.export(spans, (result) => {
        if (result.code !== ExportResultCode.SUCCESS) this.warn(result.error);
        resultCallback(result);
      });
    } catch (error) {
      this.warn(error);
      resultCallback({ code: ExportResultCode.FAILED, error: asError(error) });
    }
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown().catch(() => undefined);
  }

  /** One console warning per kind of problem, naming the URL and what to do. */
  private warn(error: unknown): void {
    const problem = describeProblem(error, this.url, this.hasKey);
    if (this.warned.has(problem.kind)) return;
    this.warned.add(problem.kind);
    console.warn(`[lemma] ${problem.message}`);
  }
}

function describeProblem(
  error: unknown,
  url: string,
  hasKey: boolean,
): { kind: string; message: string } {
  const status = httpStatus(error);
  if (status === 401 || status === 403) {
    const what = hasKey ? 'rejected the API key' : 'needs an API key';
    return {
      kind: 'auth',
      message:
        `Lemma ${what} (${status}) at ${url}: set LEMMA_API_KEY (or init({ apiKey })) to a key ` +
        'of your project (`lemma keys create` makes one). Spans are not being recorded.',
    };
  }
  if (status !== undefined) {
    return {
      kind: `http-${status}`,
      message: `Lemma at ${url} refused spans with HTTP ${status}: ${errorText(error)}. Check LEMMA_URL.`,
    };
  }
  return {
    kind: 'unreachable',
    message:
      `could not reach Lemma at ${url} (${errorText(error)}): is \`lemma serve\` running there? ` +
      'Set LEMMA_URL (or init({ url })) to its address. Your program keeps running; spans are dropped.',
  };
}

/** The HTTP status of an OTLP export error, if the server answered. */
function httpStatus(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const message = error.message || error.name;
    return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
  }
  return error === undefined ? 'no answer' : String(error);
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
