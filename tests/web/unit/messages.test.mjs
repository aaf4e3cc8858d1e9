import { test } from 'node:test';
import assert from 'node:assert/strict';
import { installDom } from './fake-dom.mjs';
import { formatScore, renderDocuments, renderMessage } from '../../../web/js/components/messages.js';

installDom();

const cards = (el) => el.all('.doc').map((card) => ({
  id: card.all('.doc-id')[0]?.textContent ?? null,
  source: card.all('.doc-source')[0]?.textContent ?? null,
  score: card.all('.doc-score')[0]?.textContent ?? null,
  content: card.all('.doc-content')[0]?.textContent ?? null,
}));

test('documents in the shapes conventions give them become cards', () => {
  // GenAI (and OpenInference, which the server reads into the same shape), as JSON text too.
  const genai = [{ id: 'd1', content: 'Refunds take 5 days.', score: 0.9123, metadata: { source: 'faq.md', page: 2 } }, { id: 'd2', score: 0.5 }];
  assert.deepEqual(cards(renderDocuments(JSON.stringify(genai))), [
    { id: 'd1', source: 'faq.md', score: '0.912', content: 'Refunds take 5 days.' },
    { id: 'd2', source: null, score: '0.5', content: null },
  ]);
  // Vercel's decoded documents, LangChain's page_content, a nested `document`, plain strings.
  assert.deepEqual(cards(renderDocuments(['doc a', { text: 'doc b' }, { page_content: 'doc c', metadata: { url: 'https://x.dev' } }, { document: { id: 7, content: 'doc d' }, relevance_score: 3 }])), [
    { id: null, source: null, score: null, content: 'doc a' },
    { id: null, source: null, score: null, content: 'doc b' },
    { id: null, source: 'https://x.dev', score: null, content: 'doc c' },
    { id: '7', source: null, score: '3', content: 'doc d' },
  ]);
});

test('what a card does not show in its head stays readable as metadata', () => {
  const el = renderDocuments([{ id: 'd1', content: 'x', score: 1, metadata: { source: 'a.md', author: 'kim' }, chunk: 4 }]);
  const extra = el.all('.doc-extra')[0];
  assert.ok(extra, 'a metadata block');
  assert.match(extra.textContent, /chunk/);
  assert.match(extra.textContent, /author/);
  assert.doesNotMatch(extra.textContent, /a\.md/);
});

test('anything that is not a list of documents is left to the caller', () => {
  for (const value of [null, 'refund policy', '[]', [], { id: 'x' }, [{ foo: 1 }], [1, 2], [['a']], ['ok', { bar: 2 }]]) {
    assert.equal(renderDocuments(value), null, JSON.stringify(value));
  }
});

test('many documents are built a page at a time', () => {
  const el = renderDocuments(Array.from({ length: 45 }, (_, i) => ({ id: `d${i}`, score: i / 45 })));
  assert.equal(el.all('.doc').length, 20);
  el.all('.docs-more')[0].click();
  assert.equal(el.all('.doc').length, 40);
  el.all('.docs-more')[0].click();
  assert.equal(el.all('.doc').length, 45);
  assert.equal(el.all('.docs-more').length, 0);
});

test('a long document is clamped', () => {
  const el = renderDocuments([{ content: 'x'.repeat(100_000), score: 0.1 }], { clamp: 600 });
  assert.ok(el.all('.doc-content')[0].textContent.length < 800);
});

test('scores read with three significant digits', () => {
  assert.deepEqual([0.91, 0.91234, 12.345, 3, 0, -0.5, 0.0000123].map(formatScore), ['0.91', '0.912', '12.3', '3', '0', '-0.5', '1.23e-5']);
});

test('a markdown message switches between rendered, raw and JSON views', () => {
  const message = { role: 'assistant', parts: [{ type: 'text', content: '# Hi\n\n**bold** <b>x</b>' }, { type: 'tool_call', id: 'c1', name: 'lookup', arguments: { id: 1 } }] };
  const el = renderMessage(message, new Map(), { markdown: true });
  const body = () => el.all('.msg-body')[0];
  const view = (name) => el.all('button').find((b) => b.getAttribute('data-testid') === `msg-view-${name}`);
  assert.equal(body().all('.md-h1')[0].textContent, 'Hi');
  assert.equal(body().all('strong')[0].textContent, 'bold');
  assert.ok(body().all('.md')[0].textContent.includes('<b>x</b>'));
  view('raw').click();
  assert.equal(view('raw').getAttribute('aria-pressed'), 'true');
  assert.equal(view('rendered').getAttribute('aria-pressed'), 'false');
  assert.equal(body().all('.msg-raw')[0].textContent, '# Hi\n\n**bold** <b>x</b>');
  assert.equal(body().all('.md').length, 0);
  view('json').click();
  assert.match(body().textContent, /tool_call/);
  view('rendered').click();
  assert.equal(body().all('.md-h1').length, 1);
  assert.equal(el.all('.msg-head')[0].all('button').filter((b) => b.getAttribute('data-testid') === 'copy').length, 1);
});

test('without markdown a message is drawn as before: no views, no copy button, text as text', () => {
  const el = renderMessage({ role: 'user', parts: [{ type: 'text', content: '**not bold**' }] });
  assert.equal(el.all('button').length, 0);
  assert.equal(el.all('strong').length, 0);
  assert.equal(el.all('.payload-text')[0].textContent, '**not bold**');
});

test("a tool's text output is not read as markdown", () => {
  const el = renderMessage({ role: 'tool', parts: [{ type: 'text', content: '# not a heading\n*x*' }] }, new Map(), { markdown: true });
  assert.equal(el.all('.md').length, 0);
  assert.equal(el.all('.payload-text')[0].textContent, '# not a heading\n*x*');
});
