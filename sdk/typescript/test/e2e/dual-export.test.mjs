// Dual export: the same spans go to Lemma and to a second OTLP receiver.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { agent, init, shutdown, tool } from '@lemma/sdk';

import { API_KEY, LEMMA_URL, LEMMA_URL_2, waitForRun } from './lemma.mjs';

before(() =>
  init({
    url: LEMMA_URL,
    alsoExportTo: [
      new OTLPTraceExporter({ url: `${LEMMA_URL_2()}/v1/traces`, headers: { Authorization: `Bearer ${API_KEY}` } }),
    ],
  }),
);
after(() => shutdown());

it('delivers the same spans to the second receiver', async () => {
  const check = tool('check_stock', async (sku) => ({ sku, in_stock: 3 }));
  const sales = agent({ name: 'sales_agent', threadId: 'thread-dual' }, async (sku) => {
    const stock = await check(sku);
    return `${stock.in_stock} left`;
  });
  const { runId } = await sales.withRun('SKU-1');
  await shutdown();

  const first = await waitForRun(runId, 2, LEMMA_URL);
  const second = await waitForRun(runId, 2, LEMMA_URL_2());
  const summary = ({ spans }) =>
    spans
      .map((s) => ({ id: s.span_id, parent: s.parent_span_id, name: s.name, kind: s.kind, output: s.output, thread: s.thread_id }))
      .sort((a, b) => a.id.localeCompare(b.id));
  assert.deepEqual(summary(second), summary(first));
  assert.equal(second.run.output, '3 left');
  assert.equal(second.run.thread_id, 'thread-dual');
});
