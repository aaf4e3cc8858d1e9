// Markdown in span content (what models write: headings, emphasis, lists, code, tables, links)
// drawn as DOM. Span content is hostile, so this is a reading of markdown, not an HTML pipeline:
// every piece of text becomes a text node through `h()` (dom.js), inline HTML stays visible
// text, links are kept only for absolute http(s) and mailto addresses, and an image becomes a
// link to it: the page never loads what a span points at. Parsing is linear in the text (each
// search for a closing delimiter is remembered when it fails) and nesting is capped, so a
// crafted message costs what its length does; callers clamp long text before rendering.
import { h } from '../dom.js';
import { copyButton } from './copy.js';

const MAX_DEPTH = 6; // nested quotes and lists, and nested emphasis, beyond which the rest is text
const MAX_COLUMNS = 64; // a wider "table" is read as a paragraph
const MAX_DESTINATION = 4096; // characters of a link's address
export const LINK_REL = 'noopener noreferrer nofollow';

/** Blocks of `text`: `{type: 'heading'|'paragraph'|'code'|'list'|'quote'|'rule'|'table', …}`. */
export function parseMarkdown(text) {
  const lines = String(text).replace(/\r\n?/g, '\n').split('\n').map(expandIndent);
  return parseBlocks(lines, 0);
}

/** `text` as a `div.md` of elements; text only ever as text nodes. */
export function renderMarkdown(text, { class: cls } = {}) {
  return h('div', { class: ['md', cls] }, parseMarkdown(text).map(renderBlock));
}

// ---- Blocks ----

function parseBlocks(lines, depth) {
  const blocks = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (isBlank(line)) {
      i += 1;
      continue;
    }
    const fence = fenceOf(line);
    if (fence) {
      i = parseFence(lines, i, fence, blocks);
      continue;
    }
    const heading = headingOf(line);
    if (heading) {
      blocks.push(heading);
      i += 1;
      continue;
    }
    if (isRule(line)) {
      blocks.push({ type: 'rule' });
      i += 1;
      continue;
    }
    if (depth < MAX_DEPTH && quoteOf(line) !== null) {
      const inner = [];
      for (; i < lines.length && quoteOf(lines[i]) !== null; i += 1) inner.push(quoteOf(lines[i]));
      blocks.push({ type: 'quote', children: parseBlocks(inner, depth + 1) });
      continue;
    }
    if (depth < MAX_DEPTH && itemOf(line)) {
      i = parseList(lines, i, depth, blocks);
      continue;
    }
    const table = tableAt(lines, i);
    if (table) {
      i = parseTable(lines, i, table, blocks);
      continue;
    }
    i = parseParagraph(lines, i, depth, blocks);
  }
  return blocks;
}

/** Consecutive lines of text; a line of `===` or `---` under them makes them a heading. */
function parseParagraph(lines, i, depth, blocks) {
  const text = [lines[i].trim()];
  i += 1;
  while (i < lines.length && !isBlank(lines[i])) {
    const underline = setextLevel(lines[i]);
    if (underline) {
      blocks.push({ type: 'heading', level: underline, children: parseInline(text.join('\n')) });
      return i + 1;
    }
    if (interrupts(lines, i, depth)) break;
    text.push(lines[i].trim());
    i += 1;
  }
  blocks.push({ type: 'paragraph', children: parseInline(text.join('\n')) });
  return i;
}

/** Whether line `i` starts a block of its own instead of continuing a paragraph. */
function interrupts(lines, i, depth) {
  const line = lines[i];
  const item = depth < MAX_DEPTH && itemOf(line);
  // Only a list starting at 1 interrupts text ("1986. A year" is a sentence), and only with content.
  return Boolean(fenceOf(line) || headingOf(line) || isRule(line)
    || (depth < MAX_DEPTH && quoteOf(line) !== null)
    || (item && item.rest && (!item.ordered || item.start === 1))
    || tableAt(lines, i));
}

function indentOf(line) {
  let n = 0;
  while (n < line.length && line[n] === ' ') n += 1;
  return n;
}

/** Leading tabs as four spaces each, so indentation can be counted in one unit. */
function expandIndent(line) {
  if (line[0] !== '\t' && !(line[0] === ' ' && line.includes('\t'))) return line;
  let i = 0;
  let out = '';
  for (; i < line.length && (line[i] === ' ' || line[i] === '\t'); i += 1) out += line[i] === '\t' ? '    ' : ' ';
  return out + line.slice(i);
}

function isBlank(line) {
  return line.trim() === '';
}

function headingOf(line) {
  const indent = indentOf(line);
  if (indent > 3 || line[indent] !== '#') return null;
  let level = 0;
  while (line[indent + level] === '#') level += 1;
  const after = line[indent + level];
  if (level > 6 || (after !== undefined && after !== ' ')) return null;
  let content = line.slice(indent + level).trim();
  // A closing run of #s is decoration ("## Title ##").
  let end = content.length;
  while (end > 0 && content[end - 1] === '#') end -= 1;
  if (end === 0) content = '';
  else if (content[end - 1] === ' ') content = content.slice(0, end).trimEnd();
  return { type: 'heading', level, children: parseInline(content) };
}

function setextLevel(line) {
  if (indentOf(line) > 3) return 0;
  const t = line.trim();
  if (/^=+$/.test(t)) return 1;
  if (/^-+$/.test(t)) return 2;
  return 0;
}

function isRule(line) {
  if (indentOf(line) > 3) return false;
  const s = line.replace(/[ \t]/g, '');
  return s.length >= 3 && /^(?:-+|\*+|_+)$/.test(s);
}

function quoteOf(line) {
  const indent = indentOf(line);
  if (indent > 3 || line[indent] !== '>') return null;
  return line.slice(indent + (line[indent + 1] === ' ' ? 2 : 1));
}

// ---- Fenced code ----

function fenceOf(line) {
  const indent = indentOf(line);
  const char = line[indent];
  if (indent > 3 || (char !== '`' && char !== '~')) return null;
  let length = 0;
  while (line[indent + length] === char) length += 1;
  if (length < 3) return null;
  const info = line.slice(indent + length).trim();
  if (char === '`' && info.includes('`')) return null;
  return { char, length, indent, language: info.split(/\s/, 1)[0] || '' };
}

function parseFence(lines, i, fence, blocks) {
  const code = [];
  let j = i + 1;
  for (; j < lines.length; j += 1) {
    const line = lines[j];
    const indent = indentOf(line);
    if (indent <= 3 && line[indent] === fence.char) {
      const rest = line.slice(indent);
      let length = 0;
      while (rest[length] === fence.char) length += 1;
      if (length >= fence.length && rest.slice(length).trim() === '') break;
    }
    code.push(line.slice(Math.min(fence.indent, indentOf(line))));
  }
  blocks.push({ type: 'code', language: fence.language, text: code.join('\n') });
  return j + 1; // past the closing fence; an unclosed fence runs to the end
}

// ---- Lists ----

/** A list item's marker: `- `, `* `, `+ `, `1. ` or `1) `, with where its content starts. */
function itemOf(line) {
  const indent = indentOf(line);
  if (indent > 3) return null;
  let at = indent;
  let ordered = false;
  let start = 1;
  let marker;
  if ('-*+'.includes(line[at]) && line[at] !== undefined) {
    marker = line[at];
    at += 1;
  } else {
    while (at < line.length && at - indent < 9 && line[at] >= '0' && line[at] <= '9') at += 1;
    if (at === indent || (line[at] !== '.' && line[at] !== ')')) return null;
    ordered = true;
    start = Number(line.slice(indent, at));
    marker = line[at];
    at += 1;
  }
  if (at < line.length && line[at] !== ' ') return null;
  let spaces = 0;
  while (line[at + spaces] === ' ') spaces += 1;
  const blank = at + spaces >= line.length;
  // Five spaces or more after the marker start indented content; the marker takes one of them.
  const offset = blank || spaces > 4 ? at + 1 : at + spaces;
  return { ordered, start, marker, offset, rest: blank ? '' : line.slice(offset) };
}

function sameList(a, b) {
  return a.ordered === b.ordered && a.marker === b.marker;
}

function parseList(lines, i, depth, blocks) {
  const first = itemOf(lines[i]);
  const items = [];
  let item = first;
  for (;;) {
    const content = [item.rest];
    i += 1;
    let lastBlank = false;
    while (i < lines.length) {
      const line = lines[i];
      if (isBlank(line)) {
        // Blank lines stay in the item only when indented content follows them.
        let j = i;
        while (j < lines.length && isBlank(lines[j])) j += 1;
        if (j >= lines.length || indentOf(lines[j]) < item.offset) break;
        for (; i < j; i += 1) content.push('');
        lastBlank = true;
        continue;
      }
      if (indentOf(line) >= item.offset) {
        content.push(line.slice(item.offset));
      } else if (itemOf(line) || lastBlank || interrupts(lines, i, depth)) {
        break;
      } else {
        content.push(line.trim()); // a paragraph's lazy continuation line
      }
      lastBlank = false;
      i += 1;
    }
    items.push(parseBlocks(content, depth + 1));
    let j = i;
    while (j < lines.length && isBlank(lines[j])) j += 1;
    const next = j < lines.length ? itemOf(lines[j]) : null;
    if (!next || !sameList(next, first)) break;
    item = next;
    i = j;
  }
  blocks.push({ type: 'list', ordered: first.ordered, start: first.start, items });
  return i;
}

// ---- Tables ----

/** A GFM table: a header row of cells, then a row of `---` cells (`:` marks alignment). */
function tableAt(lines, i) {
  const head = lines[i];
  const rule = lines[i + 1];
  if (rule === undefined || !head.includes('|') || !rule.includes('-') || indentOf(head) > 3) return null;
  const ruleCells = splitRow(rule);
  if (!ruleCells || !ruleCells.every((c) => /^ *:?-+:? *$/.test(c))) return null;
  const headCells = splitRow(head);
  if (!headCells || headCells.length !== ruleCells.length || headCells.length > MAX_COLUMNS) return null;
  const align = ruleCells.map((c) => {
    const t = c.trim();
    if (t.startsWith(':') && t.endsWith(':')) return 'center';
    if (t.endsWith(':')) return 'right';
    return t.startsWith(':') ? 'left' : null;
  });
  return { head: headCells, align };
}

function parseTable(lines, i, table, blocks) {
  const columns = table.head.length;
  const rows = [];
  let j = i + 2;
  for (; j < lines.length && !isBlank(lines[j]) && lines[j].includes('|'); j += 1) {
    if (fenceOf(lines[j]) || headingOf(lines[j]) || quoteOf(lines[j]) !== null) break;
    const cells = (splitRow(lines[j]) || []).slice(0, columns);
    while (cells.length < columns) cells.push('');
    rows.push(cells.map((c) => parseInline(c.trim())));
  }
  blocks.push({ type: 'table', align: table.align, head: table.head.map((c) => parseInline(c.trim())), rows });
  return j;
}

/** A row's cells, split on `|` not escaped by a backslash; outer pipes are optional. */
function splitRow(line) {
  let s = line.trim();
  if (s.startsWith('|')) s = s.slice(1);
  if (s.endsWith('|') && !s.endsWith('\\|')) s = s.slice(0, -1);
  const cells = [];
  let cell = '';
  for (let k = 0; k < s.length; k += 1) {
    if (s[k] === '\\' && s[k + 1] === '|') {
      cell += '|';
      k += 1;
    } else if (s[k] === '|') {
      cells.push(cell);
      cell = '';
      if (cells.length > MAX_COLUMNS) return null;
    } else {
      cell += s[k];
    }
  }
  cells.push(cell);
  return cells;
}

// ---- Inline ----

const SPECIAL = /[\\`*_~[!<\n]|https?:\/\//g;
const PUNCTUATION = /[!-/:-@[-`{-~]/;

/**
 * Inline nodes of `text`: `{type: 'text', text}`, `code`, `em`, `strong`, `del`, `link`
 * (`href`, `children`), `image` (`src`, `alt`), `break`.
 */
export function parseInline(text, depth = 0) {
  const out = [];
  let plain = '';
  const flush = () => {
    if (plain) out.push({ type: 'text', text: plain });
    plain = '';
  };
  const failed = new Set(); // delimiters with no closer left: later openers of the kind fail too
  const find = finder(text);
  const pattern = new RegExp(SPECIAL.source, 'g');
  let i = 0;
  while (i < text.length) {
    pattern.lastIndex = i;
    const match = pattern.exec(text);
    if (!match) break;
    plain += text.slice(i, match.index);
    const p = match.index;
    const c = text[p];
    let node = null;
    let end = p + 1;
    if (c === '\n') {
      flush();
      out.push({ type: 'break' });
      i = p + 1;
      continue;
    } else if (c === '\\') {
      const next = text[p + 1];
      if (next === '\n') { // a backslash at the end of a line is a line break
        i = p + 1;
        continue;
      }
      if (next !== undefined && PUNCTUATION.test(next)) {
        plain += next;
        i = p + 2;
        continue;
      }
    } else if (c === '`') {
      [node, end] = codeSpan(text, p, failed);
    } else if (c === '*' || c === '_' || c === '~') {
      [node, end] = emphasis(text, p, depth, failed);
    } else if (c === '[' || (c === '!' && text[p + 1] === '[')) {
      [node, end] = linkAt(text, c === '!' ? p + 1 : p, c === '!', depth, find);
    } else if (c === '<') {
      [node, end] = autolink(text, p, find);
    } else if (c === 'h') {
      [node, end] = bareUrl(text, p, find);
    }
    if (node) {
      flush();
      out.push(node);
    } else {
      plain += text.slice(p, end);
    }
    i = end;
  }
  plain += text.slice(i);
  flush();
  return out;
}

/** `indexOf` with the last answer per needle remembered: scans from increasing positions stay linear. */
function finder(text) {
  const memo = new Map();
  return (needle, from) => {
    const key = needle instanceof RegExp ? needle.source : needle;
    const last = memo.get(key);
    if (last && last.from <= from && (last.at >= from || last.at === -1)) return last.at;
    let at;
    if (needle instanceof RegExp) {
      needle.lastIndex = from;
      const m = needle.exec(text);
      at = m ? m.index : -1;
    } else {
      at = text.indexOf(needle, from);
    }
    memo.set(key, { from, at });
    return at;
  };
}

function runLength(text, p) {
  let n = 0;
  while (text[p + n] === text[p]) n += 1;
  return n;
}

/** `` `code` ``: a run of backticks closed by a run of the same length. */
function codeSpan(text, p, failed) {
  const n = runLength(text, p);
  const key = `\`${n}`;
  if (n > 16 || failed.has(key)) return [null, p + n];
  for (let q = text.indexOf('`', p + n); q !== -1; ) {
    const m = runLength(text, q);
    if (m === n) {
      let code = text.slice(p + n, q).replace(/\n/g, ' ');
      if (code.length > 2 && code.startsWith(' ') && code.endsWith(' ') && code.trim()) code = code.slice(1, -1);
      return [{ type: 'code', text: code }, q + n];
    }
    q = text.indexOf('`', q + m);
  }
  failed.add(key);
  return [null, p + n];
}

const isSpace = (ch) => ch === undefined || /\s/.test(ch);
const isWordChar = (ch) => ch !== undefined && /[\p{L}\p{N}]/u.test(ch);

/** `*em*`, `**strong**`, `***both***` (or with `_`), `~~deleted~~`: a closer of the same run length. */
function emphasis(text, p, depth, failed) {
  const c = text[p];
  const n = runLength(text, p);
  const end = p + n;
  const key = `${c}${n}`;
  const opens = !isSpace(text[end]) && !(c === '_' && isWordChar(text[p - 1]));
  if ((c === '~' ? n !== 2 : n > 3) || !opens || depth >= MAX_DEPTH || failed.has(key)) return [null, end];
  // The first closing run of the same length; else the first longer one, whose last characters
  // close (`**a *b***`: the inner `*` closes first).
  let longer = -1;
  let close = -1;
  for (let q = text.indexOf(c, end); q !== -1; ) {
    const m = runLength(text, q);
    const closes = q > end && !isSpace(text[q - 1]) && !(c === '_' && isWordChar(text[q + m]));
    if (closes && m === n) {
      close = q;
      break;
    }
    if (closes && m > n && longer === -1 && c !== '~') longer = q + m - n;
    q = text.indexOf(c, q + m);
  }
  if (close === -1) close = longer;
  if (close === -1) {
    failed.add(key);
    return [null, end];
  }
  const children = parseInline(text.slice(end, close), depth + 1);
  const type = c === '~' ? 'del' : n === 1 ? 'em' : 'strong';
  const node = n === 3 ? { type: 'strong', children: [{ type: 'em', children }] } : { type, children };
  return [node, close + n];
}

/** `[label](address "title")` or `![alt](address)`, `p` at the `[`. */
function linkAt(text, p, image, depth, find) {
  const miss = [null, p + 1];
  const close = find(']', p + 1);
  if (close === -1 || text[close + 1] !== '(' || depth >= MAX_DEPTH) return miss;
  const label = text.slice(p + 1, close);
  const dest = destination(text, close + 2, find);
  if (!dest) return miss;
  if (image) return [{ type: 'image', alt: label, src: dest.url }, dest.end];
  return [{ type: 'link', href: dest.url, children: parseInline(label, depth + 1) }, dest.end];
}

/** A link's `(address "title")` from just after the `(`: `{url, end}` past the `)`, or null. */
function destination(text, from, find) {
  let at = from;
  while (text[at] === ' ') at += 1;
  let url;
  if (text[at] === '<') {
    const gt = find('>', at);
    if (gt === -1 || gt - at > MAX_DESTINATION || text.slice(at, gt).includes('\n')) return null;
    url = text.slice(at + 1, gt);
    at = gt + 1;
  } else {
    const space = find(/\s/g, at);
    let paren = find(')', at);
    if (paren === -1) return null;
    // One level of parentheses inside an address (`wiki/Foo_(bar)`).
    const open = find('(', at);
    if (open !== -1 && open < paren && (space === -1 || open < space)) {
      paren = find(')', paren + 1); // the first `)` closed that `(`: the address ends at the next
      if (paren === -1) return null;
    }
    const stop = space !== -1 && space < paren ? space : paren;
    if (stop - at > MAX_DESTINATION) return null;
    url = text.slice(at, stop);
    at = stop;
  }
  while (text[at] === ' ') at += 1;
  const quote = text[at];
  if (quote === '"' || quote === "'") {
    const endQuote = find(quote, at + 1);
    if (endQuote === -1 || endQuote - at > 500) return null;
    at = endQuote + 1;
    while (text[at] === ' ') at += 1;
  }
  if (text[at] !== ')') return null;
  return { url, end: at + 1 };
}

/** `<https://example.com>` or `<mailto:a@b.c>`; any other `<…>` (markup) stays text. */
function autolink(text, p, find) {
  const gt = find('>', p + 1);
  if (gt === -1 || gt - p > MAX_DESTINATION) return [null, p + 1];
  const url = text.slice(p + 1, gt);
  if (!/^(?:https?:\/\/|mailto:)[^\s<]+$/i.test(url)) return [null, p + 1];
  return [{ type: 'link', href: url, children: [{ type: 'text', text: url }] }, gt + 1];
}

/** A bare `https://…` address, without the punctuation that ends its sentence. */
function bareUrl(text, p, find) {
  const scheme = text.startsWith('https://', p) ? 8 : 7;
  if (isWordChar(text[p - 1])) return [null, p + scheme];
  const stop = find(/[\s<>"]/g, p);
  let end = stop === -1 ? text.length : stop;
  if (end - p > MAX_DESTINATION) return [null, p + scheme];
  // Trailing punctuation ends the sentence, not the address; a `)` closing one in it stays.
  let opens = countOf(text, '(', p, end);
  let closes = countOf(text, ')', p, end);
  while (end > p + scheme && /[.,:;!?'*_~)\]]/.test(text[end - 1])) {
    if (text[end - 1] === ')') {
      if (closes <= opens) break;
      closes -= 1;
    }
    end -= 1;
  }
  if (end <= p + scheme) return [null, p + scheme];
  const url = text.slice(p, end);
  return [{ type: 'link', href: url, children: [{ type: 'text', text: url }] }, end];
}

function countOf(text, ch, from, to) {
  let n = 0;
  for (let k = from; k < to; k += 1) if (text[k] === ch) n += 1;
  return n;
}

/** The address a link may lead to: absolute http(s) or mailto only (no script, no data, no relative path). */
export function linkTarget(url) {
  try {
    const parsed = new URL(String(url).trim());
    return ['http:', 'https:', 'mailto:'].includes(parsed.protocol) ? parsed.href : null;
  } catch {
    return null;
  }
}

// ---- Rendering ----

function renderBlock(block) {
  switch (block.type) {
    // Heading levels start below the panel's own headings, so a message does not outrank them.
    case 'heading': return h(`h${Math.min(6, block.level + 2)}`, { class: ['md-h', `md-h${block.level}`] }, renderInline(block.children));
    case 'paragraph': return h('p', null, renderInline(block.children));
    case 'code': return codeBlock(block);
    case 'list': return h(block.ordered ? 'ol' : 'ul', { start: block.ordered && block.start !== 1 ? block.start : null },
      block.items.map((blocks) => h('li', null, blocks.map(renderBlock))));
    case 'quote': return h('blockquote', null, block.children.map(renderBlock));
    case 'rule': return h('hr');
    case 'table': return table(block);
    default: return null;
  }
}

function codeBlock(block) {
  return h('div', { class: 'md-code', dataset: { language: block.language || null } },
    h('div', { class: 'md-code-bar' },
      h('span', { class: 'md-code-lang' }, block.language.slice(0, 40)),
      copyButton(block.text, { compact: true, what: 'code' })),
    h('pre', null, h('code', null, block.text)));
}

function table(block) {
  const cell = (tag, content, i) => h(tag, { style: block.align[i] ? { 'text-align': block.align[i] } : null }, renderInline(content));
  return h('div', { class: 'md-table-wrap' },
    h('table', { class: 'md-table' },
      h('thead', null, h('tr', null, block.head.map((c, i) => cell('th', c, i)))),
      h('tbody', null, block.rows.map((row) => h('tr', null, row.map((c, i) => cell('td', c, i)))))));
}

function renderInline(nodes, inLink = false) {
  return nodes.map((node) => {
    switch (node.type) {
      case 'text': return node.text;
      case 'break': return h('br');
      case 'code': return h('code', { class: 'md-inline-code' }, node.text);
      case 'em': return h('em', null, renderInline(node.children, inLink));
      case 'strong': return h('strong', null, renderInline(node.children, inLink));
      case 'del': return h('del', null, renderInline(node.children, inLink));
      case 'link': return link(node, inLink);
      case 'image': return image(node, inLink);
      default: return null;
    }
  });
}

function link(node, inLink) {
  const href = inLink ? null : linkTarget(node.href);
  const children = renderInline(node.children, true);
  // An address the page will not open keeps its label, as text.
  if (!href) return h('span', { class: 'md-link-text' }, children);
  return h('a', { href, class: 'md-link', rel: LINK_REL, target: '_blank', title: clip(href) }, children);
}

/** An image is named and linked, never loaded: loading it would tell its host the trace was read. */
function image(node, inLink) {
  const href = inLink ? null : linkTarget(node.src);
  const label = ['Image: ', node.alt ? clip(node.alt) : clip(node.src)];
  if (!href) return h('span', { class: 'md-image', title: clip(node.src) }, label);
  return h('a', { href, class: ['md-link', 'md-image'], rel: LINK_REL, target: '_blank', title: clip(href) }, label);
}

function clip(s, max = 300) {
  const t = String(s);
  return t.length > max ? `${t.slice(0, max)}…` : t;
}
