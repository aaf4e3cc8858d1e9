// What every Node scenario shares: where Lemma and the fake LLM are, and the OTel SDK setup.
//
// The Rust test (crates/lemma-cli/tests/integration/compat.rs) sets LEMMA_URL, LEMMA_API_KEY,
// LEMMA_PUBLIC_KEY, OPENAI_BASE_URL and OPENAI_API_KEY; see ../python/harness.py.

import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

export const MODEL = 'gpt-4o-mini';
export const SYSTEM_PROMPT = 'You answer questions about orders.';
export const QUESTION = 'Where is my order A-17?';
export const FAILING_QUESTION = 'FAIL: this request is rejected by the model.';

export function env(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set: this scenario is run by crates/lemma-cli/tests/integration/compat.rs`);
    process.exit(2);
  }
  return value;
}

export const lemmaUrl = () => env('LEMMA_URL').replace(/\/+$/, '');
export const apiKey = () => env('LEMMA_API_KEY');
export const publicKey = () => env('LEMMA_PUBLIC_KEY');
export const openaiBaseUrl = () => env('OPENAI_BASE_URL');
export const openaiApiKey = () => env('OPENAI_API_KEY');

/** An OTLP/HTTP exporter to Lemma's /v1/traces: `json` or `protobuf`. */
export function otlpExporter(encoding) {
  const options = {
    url: `${lemmaUrl()}/v1/traces`,
    headers: { Authorization: `Bearer ${apiKey()}` },
  };
  return encoding === 'json' ? new JsonExporter(options) : new ProtoExporter(options);
}

/** Registers a global tracer provider exporting to Lemma; call its shutdown() at the end. */
export function registerTracing(serviceName, spanProcessors) {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors,
  });
  provider.register();
  return provider;
}

export function batchProcessor(encoding) {
  return new BatchSpanProcessor(otlpExporter(encoding));
}

export function lookupOrderResult(orderId) {
  return { order_id: orderId, status: 'shipped', eta: 'Friday' };
}
