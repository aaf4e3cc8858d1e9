// metric() against a small local HTTP server standing in for Lemma's REST API.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it } from 'node:test';

import { LemmaApiError, lemmaSpanProcessor, metric, startAgent, type Metric } from '@lemma/sdk';

import { takeSpans } from './harness.js';

interface Request {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

const RUN = '4bf92f3577b34da6a3ce929d0e0e4736';
const cleanups: (() => Promise<void>)[] = [];

/**
 * A stand-in for Lemma: answers with `status` and `answer`, by default Lemma's 201 with the
 * posted event as stored.
 */
async function fakeLemma(
  status = 201,
  answer?: unknown,
): Promise<{ url: string; requests: Request[] }> {
  const requests: Request[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      const path = req.url ?? '';
      requests.push({ method: req.method ?? '', path, headers: req.headers, body });
      const runId = path.split('/')[4];
      const stored = { id: `m${requests.length}`, run_id: runId, ...body, time_unix_nano: 1_700_000_000_000_000_000 };
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer ?? { metrics: [stored] }));
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
  return { url: `http://127.0.0.1:${port}`, requests };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  delete process.env['LEMMA_URL'];
  delete process.env['LEMMA_API_KEY'];
});

describe('metric()', () => {
  it('posts the event with the key and resolves to it as stored', async () => {
    const lemma = await fakeLemma();
    const stored: Metric = await metric(RUN, 'quality', 0.25, {
      url: `${lemma.url}/`,
      apiKey: 'lm_unit',
      comment: 'missed the refund rule',
      source: 'evaluator',
      spanId: '00f067aa0ba902b7',
    });
    assert.equal(lemma.requests.length, 1);
    const [request] = lemma.requests;
    assert.equal(request?.method, 'POST');
    assert.equal(request?.path, `/api/v1/runs/${RUN}/metrics`);
    assert.equal(request?.headers['authorization'], 'Bearer lm_unit');
    assert.match(request?.headers['content-type'] ?? '', /^application\/json/);
    assert.deepEqual(request?.body, {
      name: 'quality',
      value: 0.25,
      source: 'evaluator',
      comment: 'missed the refund rule',
      span_id: '00f067aa0ba902b7',
    });
    assert.equal(stored.id, 'm1');
    assert.equal(stored.run_id, RUN);
    assert.equal(stored.value, 0.25);
    assert.equal(stored.span_id, '00f067aa0ba902b7');
  });

  it('sends source "sdk" by default (null: none), and booleans and text as they are', async () => {
    const lemma = await fakeLemma();
    await metric(RUN, 'resolved', true, { url: lemma.url });
    await metric(RUN, 'label', 'refund', { url: lemma.url });
    assert.deepEqual(lemma.requests[0]?.body, { name: 'resolved', value: true, source: 'sdk' });
    assert.deepEqual(lemma.requests[1]?.body, { name: 'label', value: 'refund', source: 'sdk' });
    assert.equal(lemma.requests[0]?.headers['authorization'], undefined, 'no key, no header');
    await metric(RUN, 'unsourced', 1, { url: lemma.url, source: null });
    assert.deepEqual(lemma.requests[2]?.body, { name: 'unsourced', value: 1 });
  });

  it('uses LEMMA_URL and LEMMA_API_KEY, and what lemmaSpanProcessor() was given over them', async () => {
    const fromEnv = await fakeLemma();
    process.env['LEMMA_URL'] = fromEnv.url;
    process.env['LEMMA_API_KEY'] = 'lm_env';
    await metric(RUN, 'a', 1);
    assert.equal(fromEnv.requests[0]?.headers['authorization'], 'Bearer lm_env');

    const configured = await fakeLemma();
    await lemmaSpanProcessor({ url: configured.url, apiKey: 'lm_configured' }).shutdown();
    await metric(RUN, 'b', 2);
    assert.equal(fromEnv.requests.length, 1);
    assert.equal(configured.requests[0]?.headers['authorization'], 'Bearer lm_configured');
    assert.equal(configured.requests[0]?.body['name'], 'b');

    // A later setup without a URL goes back to the environment.
    await lemmaSpanProcessor({}).shutdown();
    await metric(RUN, 'c', 3);
    assert.equal(fromEnv.requests.length, 2);
  });

  it("rejects with the server's reason when the event is refused", async () => {
    const lemma = await fakeLemma(400, {
      error: { code: 'bad_request', message: 'name "a b" may hold only letters, digits, _, -, . and :' },
    });
    await assert.rejects(metric(RUN, 'a b', 1, { url: lemma.url }), (error: unknown) => {
      assert.ok(error instanceof LemmaApiError);
      assert.equal(error.status, 400);
      assert.equal(error.code, 'bad_request');
      assert.match(error.message, /Lemma refused metric "a b" for run 4bf9\w+ \(HTTP 400\): name "a b" may hold only/);
      return true;
    });
  });

  it('says what to do when the key is rejected', async () => {
    const lemma = await fakeLemma(401, { error: { code: 'unauthorized', message: 'invalid API key' } });
    await assert.rejects(metric(RUN, 'a', 1, { url: lemma.url, apiKey: 'wrong' }), (error: unknown) => {
      assert.ok(error instanceof LemmaApiError);
      assert.equal(error.status, 401);
      assert.match(error.message, /invalid API key \(set LEMMA_API_KEY/);
      return true;
    });
  });

  it('rejects, naming the URL, when Lemma cannot be reached', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    await assert.rejects(metric(RUN, 'a', 1, { url }), (error: unknown) => {
      assert.ok(error instanceof LemmaApiError);
      assert.equal(error.status, 0);
      assert.ok(error.message.startsWith(`could not reach Lemma at ${url} `), error.message);
      assert.match(error.message, /ECONNREFUSED/);
      return true;
    });
  });

  it('rejects an answer that is not the stored event', async () => {
    const lemma = await fakeLemma(201, { unexpected: true });
    await assert.rejects(metric(RUN, 'a', 1, { url: lemma.url }), /unexpected answer from Lemma/);
  });
});

describe('run.metric()', () => {
  it("posts to the run's ID, during the run and after it ended", async () => {
    const lemma = await fakeLemma();
    const run = startAgent('graded_agent', 'question');
    const during = await run.metric('progress', 0.5, { url: lemma.url });
    run.complete('answer');
    const after = await run.metric('helpful', false, { url: lemma.url, source: 'user', comment: 'too long' });
    takeSpans();
    assert.match(run.runId, /^[0-9a-f]{32}$/);
    assert.equal(lemma.requests[0]?.path, `/api/v1/runs/${run.runId}/metrics`);
    assert.equal(lemma.requests[1]?.path, `/api/v1/runs/${run.runId}/metrics`);
    assert.equal(during.run_id, run.runId);
    assert.deepEqual(lemma.requests[1]?.body, { name: 'helpful', value: false, source: 'user', comment: 'too long' });
    assert.equal(after.value, false);
  });
});

it('types a value as a number, a boolean or a string (compile-time check)', () => {
  const misuse = (): unknown =>
    // @ts-expect-error objects are not metric values
    metric(RUN, 'a', { score: 1 });
  void misuse;
  const ok: Promise<Metric> = Promise.resolve({ id: 'm', run_id: RUN, name: 'a', value: 'x', time_unix_nano: 1 });
  return ok.then((m) => assert.equal(m.value, 'x'));
});
