// Shared by the unit tests: Lemma's helpers on a tracer provider that keeps finished spans in
// memory, with the run-context processor as lemmaSpanProcessor() has it.
import assert from 'node:assert/strict';

import type { AttributeValue } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { RunContextSpanProcessor, init } from '@lemma/sdk';

export const memory = new InMemorySpanExporter();

export const provider = new BasicTracerProvider({
  spanProcessors: [new RunContextSpanProcessor({ environment: 'test-default' }), new SimpleSpanProcessor(memory)],
});

init({ tracerProvider: provider });

/** The spans finished since the last call, in end order. */
export function takeSpans(): ReadableSpan[] {
  const spans = memory.getFinishedSpans().slice();
  memory.reset();
  return spans;
}

/** The one finished span named `name`. */
export function only(spans: ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((s) => s.name === name);
  assert.equal(found.length, 1, `one span ${name}, got ${spans.map((s) => s.name).join(', ')}`);
  return found[0] as ReadableSpan;
}

export function parentId(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

export function spanId(span: ReadableSpan): string {
  return span.spanContext().spanId;
}

export function traceId(span: ReadableSpan): string {
  return span.spanContext().traceId;
}

/** The attributes of `span` whose keys start with one of `prefixes`. */
export function attrs(span: ReadableSpan, ...prefixes: string[]): Record<string, AttributeValue | undefined> {
  return Object.fromEntries(
    Object.entries(span.attributes).filter(([k]) => prefixes.length === 0 || prefixes.some((p) => k.startsWith(p))),
  );
}

/** Milliseconds between start and end. */
export function durationMs(span: ReadableSpan): number {
  return span.duration[0] * 1000 + span.duration[1] / 1e6;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
