// init() with the real exporter, against small local HTTP servers standing in for Lemma.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it, mock } from 'node:test';

import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { agent, flush, init, lemmaSpanProcessor, shutdown, tool } from '@lemma/sdk';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** What a test opened, closed after it whether it passed or not. */
const cleanups: (() => Promise<void>)[] = [];

/** A stand-in for Lemma's OTLP endpoint answering every request with `status`. */
async function fakeLemma(status: number): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(status === 200 ? '{}' : '{"error":"invalid API key"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${port}`, received };
}

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function captureWarnings(): string[] {
  const warnings: string[] = [];
  mock.method(console, 'warn', (...args: unknown[]) => void warnings.push(args.join(' ')));
  return warnings;
}

afterEach(async () => {
  await shutdown();
  for (const cleanup of cleanups.splice(0)) await cleanup();
  mock.restoreAll();
  delete process.env['LEMMA_URL'];
  delete process.env['LEMMA_API_KEY'];
});

describe('init() and export', () => {
  it('exports OTLP protobuf with the key, and the same spans to the other exporters', async () => {
    const lemma = await fakeLemma(200);
    const warnings = captureWarnings();
    const other = new InMemorySpanExporter();
    init({ url: `${lemma.url}/`, apiKey: 'lm_test', serviceName: 'unit-svc', alsoExportTo: [other] });
    await agent('a', async () => 'out')();
    await flush();
    assert.equal(lemma.received.length, 1);
    const [request] = lemma.received;
    assert.equal(request?.path, '/v1/traces');
    assert.equal(request?.headers['authorization'], 'Bearer lm_test');
    assert.equal(request?.headers['content-type'], 'application/x-protobuf');
    assert.ok(request?.body.includes('ai.agent.run'));
    assert.ok(request?.body.includes('unit-svc'), 'the service name is in the resource');
    const spans = other.getFinishedSpans();
    assert.equal(spans.length, 1);
    assert.equal(spans[0]?.resource.attributes['service.name'], 'unit-svc');
    assert.deepEqual(warnings, []);
  });

  it('reads LEMMA_URL and LEMMA_API_KEY', async () => {
    const lemma = await fakeLemma(200);
    process.env['LEMMA_URL'] = lemma.url;
    process.env['LEMMA_API_KEY'] = 'lm_from_env';
    init({ batch: false });
    tool('t', () => 1)();
    await flush();
    assert.equal(lemma.received[0]?.headers['authorization'], 'Bearer lm_from_env');
  });

  it('warns once, clearly, when the key is rejected, and never throws', async () => {
    const lemma = await fakeLemma(401);
    const warnings = captureWarnings();
    init({ url: lemma.url, apiKey: 'wrong', batch: false });
    const a = agent('a', async (n: number) => n + 1);
    assert.equal(await a(1), 2);
    assert.equal(await a(2), 3);
    await flush();
    assert.equal(lemma.received.length, 2, 'each span was offered');
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0] ?? '', new RegExp(`Lemma rejected the API key \\(401\\) at ${lemma.url}: set LEMMA_API_KEY`));
  });

  it('says a key is needed when none was given', async () => {
    const lemma = await fakeLemma(401);
    const warnings = captureWarnings();
    init({ url: lemma.url, batch: false });
    await agent('a', async () => 1)();
    await flush();
    assert.equal(lemma.received[0]?.headers['authorization'], undefined);
    assert.match(warnings[0] ?? '', /Lemma needs an API key \(401\)/);
  });

  it('warns once when the server cannot be reached, and the program goes on', async () => {
    const port = await closedPort();
    const warnings = captureWarnings();
    init({ url: `http://127.0.0.1:${port}`, timeoutMillis: 1500 });
    const a = agent('a', async () => 'still works');
    assert.equal(await a(), 'still works');
    await flush();
    await a();
    await flush();
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0] ?? '', new RegExp(`could not reach Lemma at http://127\\.0\\.0\\.1:${port} \\(.*ECONNREFUSED`));
    assert.match(warnings[0] ?? '', /LEMMA_URL/);
  });

  it('lemmaSpanProcessor adds Lemma to a provider the app already has', async () => {
    const lemma = await fakeLemma(200);
    const own = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(own), lemmaSpanProcessor({ url: lemma.url, apiKey: 'k', batch: false, environment: 'prod' })],
    });
    trace.setGlobalTracerProvider(provider);
    cleanups.push(async () => {
      await provider.shutdown();
      trace.disable();
    });
    await agent('a', async () => 'x')();
    await provider.forceFlush();
    assert.equal(lemma.received.length, 1);
    const spans = own.getFinishedSpans();
    assert.equal(spans.length, 1);
    assert.equal(spans[0]?.attributes['lemma.environment'], 'prod', "the app's exporter sees the run context too");
  });
});
