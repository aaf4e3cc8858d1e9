/**
 * Setup: one call wires the OpenTelemetry JS SDK to Lemma (`init`), or adds Lemma to a tracer
 * provider the application already has (`lemmaSpanProcessor`).
 */
import { basename, extname } from 'node:path';

import {
  ROOT_CONTEXT,
  context,
  createContextKey,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type BufferConfig,
  type ReadableSpan,
  type Span,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';

import { RunContextSpanProcessor } from './context.js';
import { LemmaSpanExporter, type ExporterOptions } from './exporter.js';
import { configureApi } from './metrics.js';
import { SDK_NAME, SDK_VERSION } from './version.js';

/** `traceparent`, `tracestate` and `baggage`: what carries a run across processes. */
export const W3C_PROPAGATOR = new CompositePropagator({
  propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
});

export interface LemmaProcessorOptions extends ExporterOptions {
  /** Default `lemma.environment` of every span (`LEMMA_ENVIRONMENT`); a run's own wins. */
  environment?: string;
  /** Batch spans before export (default), with these settings; `false` exports each span as it ends. */
  batch?: boolean | BufferConfig;
}

export interface InitOptions extends LemmaProcessorOptions {
  /** `service.name` of the resource (`OTEL_SERVICE_NAME`, default the program's file name). */
  serviceName?: string;
  /** More resource attributes. */
  resourceAttributes?: Attributes;
  /** Send the same spans to these exporters too (another OTLP backend, the console, ...). */
  alsoExportTo?: SpanExporter[];
  /**
   * Use this provider instead of creating one: it should already hold `lemmaSpanProcessor()`.
   * Lemma's helpers then start their spans with it, and `flush()` flushes it.
   */
  tracerProvider?: TracerProvider;
}

interface State {
  provider: TracerProvider;
  /** Created by `init`, so `shutdown` shuts it down. */
  owned: boolean;
  /** Registered as the global provider by `init`, so `shutdown` unregisters it. */
  registered: boolean;
}

let state: State | undefined;

/**
 * Sets up tracing to Lemma: a tracer provider exporting OTLP/HTTP protobuf to
 * `{url}/v1/traces` with `Authorization: Bearer <apiKey>`, batched, registered as the global
 * provider (so OpenInference and other instrumentations export through it too), with the
 * AsyncLocalStorage context manager and W3C propagators. URL and key default to `LEMMA_URL`
 * and `LEMMA_API_KEY`. Returns the provider. A second call without `shutdown()` in between
 * keeps the first setup.
 */
export function init(options: InitOptions = {}): TracerProvider {
  ensureGlobals();
  if (state) {
    console.warn('[lemma] init() was already called: keeping the first setup (call shutdown() before setting up again).');
    return state.provider;
  }
  if (options.tracerProvider) {
    // Else keep what lemmaSpanProcessor() was given: that is where this provider exports.
    if (options.url !== undefined || options.apiKey !== undefined) configureApi(options);
    state = { provider: options.tracerProvider, owned: false, registered: false };
    return options.tracerProvider;
  }
  const environment = options.environment ?? (process.env['LEMMA_ENVIRONMENT'] || undefined);
  const resource = defaultResource().merge(
    resourceFromAttributes({
      'service.name': options.serviceName ?? (process.env['OTEL_SERVICE_NAME'] || programName()),
      ...(environment ? { 'deployment.environment.name': environment } : {}),
      ...options.resourceAttributes,
    }),
  );
  const spanProcessors: SpanProcessor[] = [
    lemmaSpanProcessor({ ...options, ...(environment ? { environment } : {}) }),
    ...(options.alsoExportTo ?? []).map((exporter) => exportProcessor(exporter, options.batch)),
  ];
  const provider = new BasicTracerProvider({ resource, spanProcessors });
  const registered = trace.setGlobalTracerProvider(provider);
  if (!registered) {
    console.warn(
      '[lemma] another global tracer provider is already registered: agent() and the other helpers ' +
        "export through Lemma's provider, other instrumentations keep using yours. To send everything " +
        'to Lemma, add lemmaSpanProcessor() to your provider instead of calling init().',
    );
  }
  state = { provider, owned: true, registered };
  return provider;
}

/**
 * Lemma as one more span processor of a tracer provider the application already builds:
 * `new NodeTracerProvider({ spanProcessors: [yourProcessor, lemmaSpanProcessor()] })`. It copies
 * the run context (thread, user, ...) onto every span and exports to Lemma. Lemma's helpers then
 * use the global provider; call `init({ tracerProvider })` too if that provider is not global.
 */
export function lemmaSpanProcessor(options: LemmaProcessorOptions = {}): SpanProcessor {
  ensureGlobals();
  // metric() posts to the same server with the same key.
  configureApi(options);
  const environment = options.environment ?? (process.env['LEMMA_ENVIRONMENT'] || undefined);
  return new LemmaSpanProcessor(
    new RunContextSpanProcessor(environment ? { environment } : {}),
    exportProcessor(new LemmaSpanExporter(options), options.batch),
  );
}

/** The run-context processor and Lemma's export processor, as one. */
class LemmaSpanProcessor implements SpanProcessor {
  constructor(
    private readonly runContext: SpanProcessor,
    private readonly exporting: SpanProcessor,
  ) {}

  onStart(span: Span, parentContext: Context): void {
    this.runContext.onStart(span, parentContext);
    this.exporting.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    this.exporting.onEnd(span);
  }

  async forceFlush(): Promise<void> {
    await this.exporting.forceFlush();
  }

  async shutdown(): Promise<void> {
    await this.exporting.shutdown();
  }
}

function exportProcessor(exporter: SpanExporter, batch: boolean | BufferConfig | undefined): SpanProcessor {
  if (batch === false) return new SimpleSpanProcessor(exporter);
  return new BatchSpanProcessor(exporter, typeof batch === 'object' ? batch : undefined);
}

/** Sends every span that has ended; never throws (problems are console warnings). */
export async function flush(): Promise<void> {
  ensureGlobals();
  const provider = state?.provider ?? globalDelegate();
  try {
    await (provider as { forceFlush?: () => Promise<void> } | undefined)?.forceFlush?.();
  } catch {
    // the exporter already warned
  }
}

/**
 * Sends what is left and stops: the provider `init` created is shut down and unregistered, so
 * `init` can be called again. A provider given to `init` is only flushed.
 */
export async function shutdown(): Promise<void> {
  const current = state;
  if (!current) return flush();
  state = undefined;
  try {
    if (current.owned) {
      await (current.provider as BasicTracerProvider).shutdown();
    } else {
      await (current.provider as { forceFlush?: () => Promise<void> }).forceFlush?.();
    }
  } catch {
    // the exporter already warned
  }
  if (current.registered) trace.disable();
}

/** The tracer Lemma's helpers start spans with. */
export function lemmaTracer(): Tracer {
  ensureGlobals();
  return (state?.provider ?? trace.getTracerProvider()).getTracer(SDK_NAME, SDK_VERSION);
}

let globalsChecked = false;

/**
 * Makes sure context follows async code and W3C headers propagate, registering the
 * AsyncLocalStorage context manager and the W3C propagators unless the application registered
 * its own.
 */
export function ensureGlobals(): void {
  if (globalsChecked && contextManagerWorks()) return;
  globalsChecked = true;
  if (!contextManagerWorks()) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  }
  if (propagation.fields().length === 0) {
    propagation.setGlobalPropagator(W3C_PROPAGATOR);
  }
}

const PROBE = createContextKey('lemma.context-probe');

/** Whether a context manager is registered (the API's default one forgets every value). */
function contextManagerWorks(): boolean {
  return context.with(ROOT_CONTEXT.setValue(PROBE, true), () => context.active().getValue(PROBE) === true);
}

function globalDelegate(): TracerProvider | undefined {
  const provider = trace.getTracerProvider() as TracerProvider & { getDelegate?: () => TracerProvider };
  return provider.getDelegate?.() ?? provider;
}

function programName(): string {
  const script = process.argv[1];
  return script ? basename(script, extname(script)) : 'node';
}
