// proxy() and withProxy() against a small local HTTP server standing in for Lemma's REST API:
// what they send from the current span and run context, and the session they make of the answer.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it } from 'node:test';

import { INVALID_SPAN_CONTEXT, ROOT_CONTEXT, TraceFlags, context, trace } from '@opentelemetry/api';
import {
  LemmaApiError,
  lemmaSpanProcessor,
  proxy,
  withAgent,
  withContext,
  withProxy,
  withTool,
  type ProxySession,
} from '@lemma/sdk';

import { provider, takeSpans } from './harness.js';

interface Request {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown> | undefined;
}

const TOKEN = 'lps_0123456789abcdef';
const cleanups: (() => Promise<void>)[] = [];

/** Lemma's 201 answer for a session. */
function created(url: string, token = TOKEN): Record<string, unknown> {
  const openai = `${url}/proxy/session/${token}/openai/v1`;
  const anthropic = `${url}/proxy/session/${token}/anthropic`;
  return {
    token,
    expires_at: '2026-12-06T20:00:00Z',
    base_urls: { openai, anthropic },
    env: { OPENAI_BASE_URL: openai, ANTHROPIC_BASE_URL: anthropic },
  };
}

/**
 * A stand-in for Lemma: creates sessions (201) and ends each one once (204, then 404), or
 * answers a method with `replies[method]` when set.
 */
async function fakeLemma(
  replies: Partial<Record<'POST' | 'DELETE', [number, unknown]>> = {},
): Promise<{ url: string; requests: Request[] }> {
  const requests: Request[] = [];
  const live = new Set<string>();
  let url = '';
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const method = req.method ?? '';
      const path = req.url ?? '';
      requests.push({
        method,
        path,
        headers: req.headers,
        body: raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined,
      });
      const send = (status: number, answer?: unknown) => {
        if (answer === undefined) {
          res.writeHead(status).end();
        } else {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(typeof answer === 'string' ? answer : JSON.stringify(answer));
        }
      };
      const reply = replies[method as 'POST' | 'DELETE'];
      if (reply) return send(...reply);
      if (method === 'POST') {
        live.add(TOKEN);
        return send(201, created(url));
      }
      const token = decodeURIComponent(path.split('/').pop() ?? '');
      if (live.delete(token)) return send(204);
      return send(404, { error: { code: 'not_found', message: 'no such session' } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  url = `http://127.0.0.1:${port}`;
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url, requests };
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
  takeSpans();
});

describe('proxy()', () => {
  it("sends the current span and the run's thread and user, and makes a session of the answer", async () => {
    const lemma = await fakeLemma();
    const { session, runId, spanId } = await withAgent(
      { name: 'planner', threadId: 't-1', userId: 'u-1' },
      'plan',
      async (run) => ({
        session: await proxy({ url: lemma.url, apiKey: 'lm_unit', ttlSeconds: 3600 }),
        runId: run.runId,
        spanId: run.spanId,
      }),
    );
    const [post] = lemma.requests;
    assert.equal(post?.method, 'POST');
    assert.equal(post?.path, '/api/v1/proxy/sessions');
    assert.equal(post?.headers['authorization'], 'Bearer lm_unit');
    assert.match(post?.headers['content-type'] ?? '', /^application\/json/);
    assert.deepEqual(post?.body, {
      traceparent: `00-${runId}-${spanId}-01`,
      thread_id: 't-1',
      user_id: 'u-1',
      ttl_seconds: 3600,
    });

    assert.equal(session.token, TOKEN);
    assert.equal(session.expiresAt, '2026-12-06T20:00:00Z');
    assert.equal(session.openaiBaseUrl, `${lemma.url}/proxy/session/${TOKEN}/openai/v1`);
    assert.equal(session.anthropicBaseUrl, `${lemma.url}/proxy/session/${TOKEN}/anthropic`);
    assert.deepEqual(session.env, {
      OPENAI_BASE_URL: session.openaiBaseUrl,
      ANTHROPIC_BASE_URL: session.anthropicBaseUrl,
    });
    assert.ok(Object.isFrozen(session) && Object.isFrozen(session.env));
    assert.ok(!JSON.stringify(session).includes('lm_unit'), 'the key is not in the session');

    await session.close();
    const [, del] = lemma.requests;
    assert.equal(del?.method, 'DELETE');
    assert.equal(del?.path, `/api/v1/proxy/sessions/${TOKEN}`);
    assert.equal(del?.headers['authorization'], 'Bearer lm_unit');
    assert.equal(del?.body, undefined);
  });

  it('names the innermost span as the parent, and given thread and user win', async () => {
    const lemma = await fakeLemma();
    const { runId, spanId } = await withContext({ threadId: 't-outer', userId: 'u-outer' }, () =>
      withAgent('planner', 'plan', (run) =>
        withTool('delegate', {}, async (call) => {
          await proxy({ url: lemma.url, threadId: 't-given' });
          return { runId: run.runId, spanId: call.spanId };
        }),
      ),
    );
    assert.deepEqual(lemma.requests[0]?.body, {
      traceparent: `00-${runId}-${spanId}-01`,
      thread_id: 't-given',
      user_id: 'u-outer',
    });
  });

  it('sends no traceparent outside any span', async () => {
    const lemma = await fakeLemma();
    await context.with(ROOT_CONTEXT, () => proxy({ url: lemma.url }));
    await withContext({ threadId: 't-1' }, () => proxy({ url: lemma.url, userId: 'u-1' }));
    assert.deepEqual(
      lemma.requests.map((r) => r.body),
      [{}, { thread_id: 't-1', user_id: 'u-1' }],
    );
  });

  it('takes a plain OpenTelemetry span as the parent too, keeping only the sampled flag', async () => {
    const lemma = await fakeLemma();
    const span = provider.getTracer('app').startSpan('handler');
    await context.with(trace.setSpan(context.active(), span), () => proxy({ url: lemma.url }));
    const { traceId, spanId } = span.spanContext();
    span.end();
    assert.equal(lemma.requests[0]?.body?.['traceparent'], `00-${traceId}-${spanId}-01`);

    const remote = (traceFlags: number) =>
      trace.setSpanContext(ROOT_CONTEXT, {
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        spanId: '00f067aa0ba902b7',
        traceFlags,
        isRemote: true,
      });
    for (const [flags, sent] of [
      [TraceFlags.SAMPLED, '01'],
      [0x03, '01'],
      [TraceFlags.NONE, '00'],
    ] as const) {
      await context.with(remote(flags), () => proxy({ url: lemma.url }));
      assert.equal(
        lemma.requests.at(-1)?.body?.['traceparent'],
        `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-${sent}`,
      );
    }
    // An invalid span context is no parent.
    const invalid = trace.setSpanContext(ROOT_CONTEXT, INVALID_SPAN_CONTEXT);
    await context.with(invalid, () => proxy({ url: lemma.url }));
    assert.deepEqual(lemma.requests.at(-1)?.body, {});
  });

  it('uses LEMMA_URL and LEMMA_API_KEY, and what lemmaSpanProcessor() was given over them', async () => {
    const fromEnv = await fakeLemma();
    process.env['LEMMA_URL'] = `${fromEnv.url}/`;
    process.env['LEMMA_API_KEY'] = 'lm_env';
    await (await proxy()).close();
    assert.deepEqual(
      fromEnv.requests.map((r) => [r.method, r.path, r.headers['authorization']]),
      [
        ['POST', '/api/v1/proxy/sessions', 'Bearer lm_env'],
        ['DELETE', `/api/v1/proxy/sessions/${TOKEN}`, 'Bearer lm_env'],
      ],
    );

    const configured = await fakeLemma();
    await lemmaSpanProcessor({ url: configured.url, apiKey: 'lm_configured' }).shutdown();
    try {
      const session = await proxy();
      process.env['LEMMA_URL'] = 'http://127.0.0.1:9';
      await session.close(); // where it was created
      assert.deepEqual(
        configured.requests.map((r) => r.headers['authorization']),
        ['Bearer lm_configured', 'Bearer lm_configured'],
      );
    } finally {
      await lemmaSpanProcessor({}).shutdown();
    }
  });

  it('closing twice is harmless: an ended session is fine', async () => {
    const lemma = await fakeLemma();
    const session = await proxy({ url: lemma.url });
    await session.close();
    await session.close();
    assert.deepEqual(
      lemma.requests.map((r) => r.method),
      ['POST', 'DELETE', 'DELETE'],
    );
  });

  it('hands the variables to a child process', async () => {
    const lemma = await fakeLemma();
    const session = await proxy({ url: lemma.url });
    const out = execFileSync(
      process.execPath,
      ['-e', 'console.log(JSON.stringify([process.env.OPENAI_BASE_URL, process.env.ANTHROPIC_BASE_URL]))'],
      { env: { ...process.env, ...session.env }, encoding: 'utf8' },
    );
    assert.deepEqual(JSON.parse(out), [session.openaiBaseUrl, session.anthropicBaseUrl]);
    await session.close();
  });

  it('makes the variables from the base URLs when the answer has none', async () => {
    const { env: _, ...answer } = created('http://lemma:4318');
    const lemma = await fakeLemma({ POST: [201, answer] });
    const session = await proxy({ url: lemma.url });
    assert.deepEqual(session.env, {
      OPENAI_BASE_URL: `http://lemma:4318/proxy/session/${TOKEN}/openai/v1`,
      ANTHROPIC_BASE_URL: `http://lemma:4318/proxy/session/${TOKEN}/anthropic`,
    });
  });

  it("rejects with the server's reason when the session is refused", async () => {
    const lemma = await fakeLemma({
      POST: [400, { error: { code: 'bad_request', message: 'ttl_seconds must be at most 604800' } }],
    });
    await assert.rejects(proxy({ url: lemma.url, ttlSeconds: 1e7 }), (error: unknown) => {
      assert.ok(error instanceof LemmaApiError);
      assert.equal(error.status, 400);
      assert.equal(error.code, 'bad_request');
      assert.equal(error.message, 'Lemma refused the proxy session (HTTP 400): ttl_seconds must be at most 604800');
      return true;
    });
  });

  for (const status of [401, 403]) {
    it(`says what to do when the key is refused (${status})`, async () => {
      const lemma = await fakeLemma({ POST: [status, { error: { code: 'unauthorized', message: 'invalid API key' } }] });
      await assert.rejects(proxy({ url: lemma.url, apiKey: 'wrong' }), (error: unknown) => {
        assert.ok(error instanceof LemmaApiError);
        assert.equal(error.status, status);
        assert.match(error.message, /invalid API key \(set LEMMA_API_KEY/);
        return true;
      });
    });
  }

  it('rejects with 503 when the proxy is not available', async () => {
    const lemma = await fakeLemma({
      POST: [503, { error: { code: 'unavailable', message: 'the LLM proxy is not enabled' } }],
    });
    await assert.rejects(proxy({ url: lemma.url }), (error: unknown) => {
      assert.ok(error instanceof LemmaApiError);
      assert.equal(error.status, 503);
      assert.equal(error.code, 'unavailable');
      return true;
    });
  });

  it('rejects, naming the URL, when Lemma cannot be reached', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    await assert.rejects(proxy({ url }), (error: unknown) => {
      assert.ok(error instanceof LemmaApiError);
      assert.equal(error.status, 0);
      assert.ok(error.message.startsWith(`could not reach Lemma at ${url} to create a proxy session `), error.message);
      return true;
    });
  });

  for (const answer of [{ token: TOKEN }, 'not json', { ...created('http://x'), base_urls: { openai: 1 } }]) {
    it(`rejects an answer that is not a session: ${JSON.stringify(answer)}`, async () => {
      const lemma = await fakeLemma({ POST: [201, answer] });
      await assert.rejects(proxy({ url: lemma.url }), /unexpected answer from Lemma at .* to a proxy session/);
    });
  }

  it('close() rejects when Lemma fails to end the session', async () => {
    const lemma = await fakeLemma({ DELETE: [500, { error: { code: 'internal', message: 'disk full' } }] });
    const session = await proxy({ url: lemma.url });
    await assert.rejects(session.close(), (error: unknown) => {
      assert.ok(error instanceof LemmaApiError);
      assert.equal(error.status, 500);
      assert.match(error.message, new RegExp(`ending proxy session ${TOKEN} \\(HTTP 500\\): disk full`));
      return true;
    });
  });
});

describe('withProxy()', () => {
  it("closes the session after fn and resolves to fn's result", async () => {
    const lemma = await fakeLemma();
    let seen: ProxySession | undefined;
    const result = await withProxy(
      async (session) => {
        seen = session;
        assert.deepEqual(
          lemma.requests.map((r) => r.method),
          ['POST'],
        );
        return 42;
      },
      { url: lemma.url, userId: 'u-7' },
    );
    assert.equal(result, 42);
    assert.equal(seen?.token, TOKEN);
    assert.deepEqual(lemma.requests[0]?.body, { user_id: 'u-7' });
    assert.deepEqual(
      lemma.requests.map((r) => [r.method, r.path]),
      [
        ['POST', '/api/v1/proxy/sessions'],
        ['DELETE', `/api/v1/proxy/sessions/${TOKEN}`],
      ],
    );
  });

  it('runs fn in the caller\'s span, and closes the session when fn throws', async () => {
    const lemma = await fakeLemma();
    let inside: string | undefined;
    await assert.rejects(
      withAgent('planner', 'plan', (run) =>
        withProxy(
          () => {
            inside = trace.getActiveSpan()?.spanContext().spanId;
            assert.equal(inside, run.spanId);
            throw new Error('sub-agent failed');
          },
          { url: lemma.url },
        ),
      ),
      /sub-agent failed/,
    );
    assert.ok(inside);
    assert.deepEqual(
      lemma.requests.map((r) => r.method),
      ['POST', 'DELETE'],
    );
  });

  it('only warns when the session cannot be closed', async () => {
    const lemma = await fakeLemma({ DELETE: [500, { error: { code: 'internal', message: 'disk full' } }] });
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (message: string) => warnings.push(message);
    try {
      assert.equal(await withProxy(() => 'done', { url: lemma.url }), 'done');
    } finally {
      console.warn = warn;
    }
    assert.equal(warnings.length, 1);
    const expected = `could not end proxy session ${TOKEN} \\(.*disk full\\); it ends by itself at 2026-12-06T20:00:00Z\\.$`;
    assert.match(warnings[0] ?? '', new RegExp(`^\\[lemma\\] ${expected}`));
  });

  it('does not call fn when the session cannot be created', async () => {
    const lemma = await fakeLemma({ POST: [503, { error: { code: 'unavailable', message: 'off' } }] });
    let called = false;
    await assert.rejects(
      withProxy(
        () => {
          called = true;
        },
        { url: lemma.url },
      ),
      LemmaApiError,
    );
    assert.equal(called, false);
    assert.equal(lemma.requests.length, 1);
  });
});
