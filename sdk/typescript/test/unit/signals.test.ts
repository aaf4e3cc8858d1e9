// run.signals() against a small local HTTP server standing in for Lemma's REST API: the request
// it makes, and the answer in the SDK's shape (the end-to-end test asks a real Lemma).
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';

import { LemmaApiError, withAgent, type RunSignals, type Signal } from '@lemma/sdk';

import { takeSpans } from './harness.js';

/**
 * Answers every request with `status` and what `answer` makes of the run ID in its path;
 * resolves to the server's URL, the requests it got, and a way to stop it.
 */
async function fakeLemma(status: number, answer: (runId: string) => unknown) {
  const requests: { method: string; path: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer((req, res) => {
    const path = req.url ?? '';
    requests.push({ method: req.method ?? '', path, headers: req.headers });
    const runId = path.split('/')[4] ?? '';
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer(runId)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return { url: `http://127.0.0.1:${port}`, requests, close };
}

describe('run.signals()', () => {
  it('asks for the run and answers in camelCase, most severe first, with the critical ones', async () => {
    const runAnswer = (runId: string) => ({
      run_id: runId,
      in_progress: true,
      span_count: 4,
      evaluated_at: '2026-12-06T22:00:00Z',
      signals: [
        {
          kind: 'jailbreak_attempt',
          severity: 'critical',
          source: 'attribute',
          span_id: '00f067aa0ba902b7',
          explanation: 'guard marked a span',
          score: 0.93,
          label: 'attack',
          tool_name: null,
          tool_args: null,
          repeats: 0,
          first_tool_index: 0,
          first_span_id: null,
        },
        {
          kind: 'loop',
          severity: 'warning',
          source: 'rule',
          span_id: '00f067aa0ba902b8',
          explanation: 'search was called 3 times in a row with the same arguments',
          tool_name: 'search',
          tool_args: { q: 'refund' },
          repeats: 3,
          first_tool_index: 1,
          first_span_id: '00f067aa0ba902b8',
        },
      ],
    });
    const lemma = await fakeLemma(200, runAnswer);
    const { answer, runId } = await withAgent('checker', 'q', async (run) => {
      const answer: RunSignals = await run.signals({ url: lemma.url, apiKey: 'lm_ingest' });
      return { answer, runId: run.runId };
    }).finally(async () => {
      await lemma.close();
      takeSpans();
    });
    const [request] = lemma.requests;
    assert.equal(request?.method, 'GET');
    assert.equal(request?.path, `/api/v1/runs/${runId}/signals`);
    assert.equal(request?.headers['authorization'], 'Bearer lm_ingest');

    assert.equal(answer.runId, runId);
    assert.equal(answer.inProgress, true);
    assert.equal(answer.spanCount, 4);
    assert.equal(answer.evaluatedAt, '2026-12-06T22:00:00Z');
    const flagged: Signal = {
      kind: 'jailbreak_attempt',
      severity: 'critical',
      source: 'attribute',
      spanId: '00f067aa0ba902b7',
      explanation: 'guard marked a span',
      score: 0.93,
      label: 'attack',
      repeats: 0,
      firstToolIndex: 0,
    };
    assert.deepEqual(answer.signals, [
      flagged,
      {
        kind: 'loop',
        severity: 'warning',
        source: 'rule',
        spanId: '00f067aa0ba902b8',
        explanation: 'search was called 3 times in a row with the same arguments',
        toolName: 'search',
        toolArgs: { q: 'refund' },
        repeats: 3,
        firstToolIndex: 1,
        firstSpanId: '00f067aa0ba902b8',
      },
    ]);
    assert.deepEqual(answer.critical, [flagged]);
  });

  it("rejects with the server's reason", async () => {
    const lemma = await fakeLemma(404, () => ({
      error: { code: 'not_found', message: 'run 4bf9 not found in project "default"' },
    }));
    try {
      await withAgent('checker', 'q', async (run) => {
        await assert.rejects(run.signals({ url: lemma.url }), (error: unknown) => {
          assert.ok(error instanceof LemmaApiError);
          assert.equal(error.status, 404);
          assert.equal(error.code, 'not_found');
          assert.match(error.message, /HTTP 404\): run 4bf9 not found in project "default"/);
          return true;
        });
      });
    } finally {
      await lemma.close();
      takeSpans();
    }
  });
});
