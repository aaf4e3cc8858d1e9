import { test } from 'node:test';
import assert from 'node:assert/strict';
import { installDom } from './fake-dom.mjs';
import { linkTarget, parseInline, parseMarkdown, renderMarkdown } from '../../../web/js/components/markdown.js';

installDom();

/** Inline nodes as compact text: `**b**` → `strong(b)`, for readable expectations. */
function show(nodes) {
  return nodes.map((n) => {
    switch (n.type) {
      case 'text': return n.text;
      case 'break': return '⏎';
      case 'code': return `code(${n.text})`;
      case 'link': return `link(${n.href}|${show(n.children)})`;
      case 'image': return `image(${n.src}|${n.alt})`;
      default: return `${n.type}(${show(n.children)})`;
    }
  }).join('');
}

test('blocks: headings, paragraphs, lists, quotes, fenced code, rules, tables', () => {
  const blocks = parseMarkdown([
    '# Title ##', 'Some *text*', 'on two lines', '', '1. one', '2. two', '   - nested', '',
    '> quoted', '> **still**', '', '```python', 'x = "**not bold**"', '', '```', '---',
    '| a | b:right |', '|:--|--:|', '| 1 | 2 |', 'Sub', '===',
  ].join('\n'));
  assert.deepEqual(blocks.map((b) => b.type), ['heading', 'paragraph', 'list', 'quote', 'code', 'rule', 'table', 'heading']);
  assert.equal(blocks[0].level, 1);
  assert.equal(show(blocks[0].children), 'Title');
  assert.equal(show(blocks[1].children), 'Some em(text)⏎on two lines');
  const list = blocks[2];
  assert.equal(list.ordered, true);
  assert.equal(list.items.length, 2);
  assert.deepEqual(list.items[1].map((b) => b.type), ['paragraph', 'list']);
  assert.equal(list.items[1][1].ordered, false);
  assert.equal(show(blocks[3].children[0].children), 'quoted⏎strong(still)');
  assert.deepEqual(blocks[4], { type: 'code', language: 'python', text: 'x = "**not bold**"\n' });
  assert.deepEqual(blocks[6].align, ['left', 'right']);
  assert.equal(show(blocks[6].head[1]), 'b:right');
  assert.deepEqual(blocks[6].rows.map((r) => r.map(show)), [['1', '2']]);
  assert.equal(blocks[7].level, 1);
});

test('an ordered list keeps its start; "1986. A year" in a paragraph stays text', () => {
  const [list] = parseMarkdown('3. three\n4. four');
  assert.equal(list.start, 3);
  const blocks = parseMarkdown('It was\n1986. A year');
  assert.deepEqual(blocks.map((b) => b.type), ['paragraph']);
  assert.equal(show(blocks[0].children), 'It was⏎1986. A year');
});

test('an unclosed fence runs to the end, its text untouched', () => {
  const [code] = parseMarkdown('~~~\n# not a heading\n<b>x</b>');
  assert.deepEqual(code, { type: 'code', language: '', text: '# not a heading\n<b>x</b>' });
});

test('inline: emphasis, code, links, images, escapes, autolinks', () => {
  assert.equal(show(parseInline('a **b *c*** and ***d*** `e*f*` ~~g~~')), 'a strong(b em(c)) and strong(em(d)) code(e*f*) del(g)');
  assert.equal(show(parseInline('see [the docs](https://x.dev/a_(b) "title") or <https://y.dev>')),
    'see link(https://x.dev/a_(b)|the docs) or link(https://y.dev|https://y.dev)');
  assert.equal(show(parseInline('![chart](https://img.example/c.png)')), 'image(https://img.example/c.png|chart)');
  assert.equal(show(parseInline('go to https://example.com/x, then stop.')), 'go to link(https://example.com/x|https://example.com/x), then stop.');
  assert.equal(show(parseInline('\\*not em\\* and 2 * 3 * 4 and snake_case_name')), '*not em* and 2 * 3 * 4 and snake_case_name');
  assert.equal(show(parseInline('``a ` b``')), 'code(a ` b)');
  assert.equal(show(parseInline('**unclosed and [unclosed](')), '**unclosed and [unclosed](');
});

test('only absolute http(s) and mailto addresses are link targets', () => {
  assert.equal(linkTarget('https://example.com/a?b=1'), 'https://example.com/a?b=1');
  assert.equal(linkTarget('mailto:a@example.com'), 'mailto:a@example.com');
  for (const bad of ['javascript:alert(1)', ' JavaScript:alert(1)', 'data:text/html,<script>x</script>', 'vbscript:x', '/api/v1/runs', '//evil.example/x', 'file:///etc/passwd']) {
    assert.equal(linkTarget(bad), null, bad);
  }
});

test('rendered: elements for the structure, text nodes for the content', () => {
  const el = renderMarkdown('## Plan\n\nUse **care** and `code`.\n\n- a\n- b\n\n```sh\nls -la\n```\n\n| x |\n|---|\n| 1 |');
  assert.equal(el.className, 'md');
  assert.deepEqual(el.children.map((c) => c.localName), ['h4', 'p', 'ul', 'div', 'div']);
  assert.equal(el.all('strong')[0].textContent, 'care');
  assert.equal(el.all('.md-inline-code')[0].textContent, 'code');
  assert.equal(el.all('li').length, 2);
  assert.equal(el.all('pre')[0].textContent, 'ls -la');
  assert.equal(el.all('.md-code')[0].all('button').length, 1, 'a code block has a copy button');
  assert.equal(el.all('td')[0].textContent, '1');
});

test('markup in markdown stays text: no script, no img, no handler attribute', () => {
  const source = 'Hi <script>window.__pwned=1</script> and <img src=x onerror=alert(1)>\n\n<b>bold?</b>';
  const el = renderMarkdown(source);
  const tags = new Set([...el.descendants()].map((d) => d.localName));
  assert.deepEqual([...tags], ['p']);
  assert.ok(el.textContent.includes('<script>window.__pwned=1</script>'));
  assert.ok(el.textContent.includes('<img src=x onerror=alert(1)>'));
  for (const d of el.descendants()) assert.ok(![...d.attrs.keys()].some((k) => k.startsWith('on')), d.localName);
});

test('links open in a new tab without referrer or opener; a script URL keeps only its label', () => {
  const el = renderMarkdown('[ok](https://example.com) [bad](javascript:alert(1)) [rel](/runs/x) [[nested](https://a.dev)](https://b.dev)');
  const links = el.all('a');
  assert.deepEqual(links.map((a) => a.getAttribute('href')), ['https://example.com/', 'https://a.dev/', 'https://b.dev/']);
  assert.equal(links[0].getAttribute('href'), 'https://example.com/');
  assert.equal(links[0].getAttribute('rel'), 'noopener noreferrer nofollow');
  assert.equal(links[0].getAttribute('target'), '_blank');
  assert.ok(el.textContent.includes('bad'));
  assert.ok(!el.textContent.includes('javascript:'), 'the refused address is not shown as a link');
  assert.ok(links.every((a) => a.all('a').length === 0), 'no link inside a link');
});

test('an image is a labelled link to its address, never an <img>', () => {
  const el = renderMarkdown('![secret chart](https://tracker.example/pixel.png) ![local](data:image/png;base64,AAA)');
  assert.equal(el.all('img').length, 0);
  const [remote] = el.all('a');
  assert.equal(remote.getAttribute('href'), 'https://tracker.example/pixel.png');
  assert.equal(remote.getAttribute('rel'), 'noopener noreferrer nofollow');
  assert.equal(remote.textContent, 'Image: secret chart');
  const images = el.all('.md-image');
  assert.equal(images.length, 2);
  assert.equal(images[1].localName, 'span', 'a data: image is only named');
});

test('bidi controls in markdown are shown as markers', () => {
  const el = renderMarkdown('**safe\u202Egnp.exe**');
  assert.equal(el.all('strong')[0].textContent, 'safe⟨U+202E⟩gnp.exe');
});

test('nesting is capped: ten thousand ">" do not make ten thousand quotes', () => {
  const el = renderMarkdown(`${'>'.repeat(10_000)} deep`);
  assert.ok(el.all('blockquote').length <= 6);
  assert.ok(el.textContent.includes('deep'));
  const nested = parseInline(`${'*a '.repeat(20)}${'*'.repeat(3)}`);
  assert.ok(nested.length > 0);
});

test('crafted text parses in time linear in its length', () => {
  const size = 200_000;
  const inputs = {
    openers: '*a _b ~~c `d [e]( <f '.repeat(size / 20),
    brackets: '[a]('.repeat(size / 4),
    images: '![a](b '.repeat(size / 7),
    ticks: Array.from({ length: 16 }, (_, i) => '`'.repeat(i + 1)).join(' x ').repeat(size / 200),
    urls: 'https://a.b/'.padEnd(1000, ')').repeat(size / 1000),
    lists: '- a\n  - b\n    - c\n      - d\n'.repeat(size / 30),
    blanks: `- a\n${'\n'.repeat(size)}b`,
    table: `| a | b |\n|---|---|\n${'| 1 | 2 |\n'.repeat(size / 10)}`,
  };
  for (const [name, text] of Object.entries(inputs)) {
    const started = performance.now();
    parseMarkdown(text);
    const ms = performance.now() - started;
    assert.ok(ms < 3_000, `${name}: ${Math.round(ms)} ms for ${text.length} characters`);
  }
});
