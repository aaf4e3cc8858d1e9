import { test } from 'node:test';
import assert from 'node:assert/strict';
import { demoCommand, endpoints, sdkTabs } from '../../../web/js/views/welcome-snippets.js';

const ORIGIN = 'https://lemma.example.com:8443';

test('every SDK tab has install and code, all pointing at this server with the key from the environment', () => {
  const tabs = sdkTabs(`${ORIGIN}/`);
  assert.deepEqual(tabs.map((t) => t.id), ['otel-python', 'otel-js', 'openinference', 'langfuse', 'lemma']);
  for (const tab of tabs) {
    assert.ok(tab.variants.length >= 1, tab.id);
    for (const v of tab.variants) {
      assert.ok(v.install.trim(), `${tab.id} install`);
      assert.ok(v.code.includes(ORIGIN), `${tab.id}/${v.label} names the server`);
      assert.ok(!v.code.includes(`${ORIGIN}//`), `${tab.id}/${v.label} has no doubled slash`);
      assert.match(v.code, /LEMMA_API_KEY/, `${tab.id}/${v.label} reads the key`);
    }
  }
});

test('OTLP exporters post to /v1/traces; Langfuse SDKs get the base URL', () => {
  const tabs = Object.fromEntries(sdkTabs(ORIGIN).map((t) => [t.id, t]));
  for (const id of ['otel-python', 'otel-js', 'openinference']) {
    assert.ok(tabs[id].variants[0].code.includes(`"${ORIGIN}/v1/traces"`) || tabs[id].variants[0].code.includes(`'${ORIGIN}/v1/traces'`), id);
  }
  for (const v of tabs.langfuse.variants) {
    assert.ok(v.code.includes(`'${ORIGIN}'`) || v.code.includes(`"${ORIGIN}"`), v.label);
    assert.match(v.code, /pk-lm-/);
  }
  assert.match(tabs['otel-js'].variants[0].code, /Authorization: `Bearer \$\{process\.env\.LEMMA_API_KEY\}`/);
});

test('demo command and endpoints', () => {
  assert.equal(demoCommand(`${ORIGIN}/`), `lemma demo --url ${ORIGIN} --key $LEMMA_API_KEY`);
  const e = endpoints(ORIGIN);
  assert.equal(e.traces, `${ORIGIN}/v1/traces`);
  assert.equal(e.langfuse, `${ORIGIN}/api/public/otel`);
  assert.equal(e.header, 'Authorization: Bearer $LEMMA_API_KEY');
});
