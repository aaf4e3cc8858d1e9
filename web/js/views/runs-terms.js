// Query-language terms as the filter builder writes them and the chips read them back. The
// words are split as the server splits them (crates/lemma-core/src/query/parse.rs): at
// whitespace outside double quotes, with `\"` and `\\` the only escapes inside quotes; a leading
// `-` or a `NOT` word before a term negates it. Pure, so it has unit tests.

/** Field names the query language knows, with their aliases mapped to one name. */
const FIELDS = new Map([
  ['run', 'run'], ['run_id', 'run'], ['span', 'span'], ['span_id', 'span'], ['name', 'name'],
  ['agent', 'agent'], ['status', 'status'], ['kind', 'kind'], ['model', 'model'],
  ['provider', 'provider'], ['tool', 'tool'], ['thread', 'thread'], ['user', 'user'],
  ['session', 'session'], ['env', 'env'], ['environment', 'env'], ['tag', 'tag'], ['tags', 'tag'],
  ['signal', 'signal'], ['signal.severity', 'signal.severity'], ['service', 'service'], ['duration', 'duration'], ['tokens', 'tokens'],
  ['experiment', 'experiment'], ['dataset', 'dataset'], ['case', 'case'],
  ['input_tokens', 'input_tokens'], ['output_tokens', 'output_tokens'], ['cost', 'cost'],
  ['spans', 'spans'], ['errors', 'errors'], ['since', 'since'], ['until', 'until'], ['has', 'has'],
]);
const KEYED = ['meta.', 'attr.', 'metric.'];
// The first operator of a word, as the server finds it (a lone `!` is not one).
const OPERATOR = /!=|>=|<=|:|=|>|</;
// A value written bare would be split, re-read or rejected with any of these in it.
const NEEDS_QUOTES = /[\s",:=<>!\\]/;
// A metadata key is part of a field name: it ends at the first operator, and a name with a `/`
// reads as a URL (free text), so keys holding any of these cannot be filtered on.
const UNUSABLE_KEY = /[\s"/:=<>!\u0000-\u001f\u007f]/;

/** A value as the query language reads it back unchanged: bare when it can be, quoted if not. */
export function quoteValue(value) {
  const text = String(value);
  if (text && !NEEDS_QUOTES.test(text)) return text;
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** Whether `meta.<key>` can be written for this key. */
export function isUsableMetaKey(key) {
  return typeof key === 'string' && key.length > 0 && !UNUSABLE_KEY.test(key);
}

/**
 * One term: `agent:support-agent`, `-tag:"needs review"`, `meta.tier:gold`, `cost>0.01`.
 * Comparisons (`>`, `<`, …) take the value as typed (a number with its unit).
 */
export function buildTerm({ field, op = ':', value, negated = false }) {
  const written = op === ':' || op === '=' || op === '!=' ? quoteValue(value) : String(value).trim();
  return `${negated ? '-' : ''}${field}${op}${written}`;
}

/**
 * The words of a query with where they are: `{start, end, text}` (string indexes, `end`
 * exclusive). An unterminated quote runs to the end, as the server would refuse it anyway.
 */
export function splitWords(q) {
  const text = String(q || '');
  const words = [];
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i])) {
      i += 1;
      continue;
    }
    const start = i;
    while (i < text.length && !/\s/.test(text[i])) {
      if (text[i] === '"') {
        i += 1;
        while (i < text.length && text[i] !== '"') i += text[i] === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\') ? 2 : 1;
        i = Math.min(i + 1, text.length);
      } else i += 1;
    }
    words.push({ start, end: i, text: text.slice(start, i) });
  }
  return words;
}

/**
 * The terms of a query: `{start, end, text, negated, field, op, value}`, where `field` is the
 * field's one name (`env` for `environment`, `meta.tier` as written) or null for free text, and
 * `value` is the value with quotes removed. A `NOT` word is part of the term it negates.
 */
export function parseTerms(q) {
  const terms = [];
  let not = null;
  for (const word of splitWords(q)) {
    if (word.text === 'NOT') {
      not = not ? null : word; // NOT NOT cancels, as on the server
      continue;
    }
    const term = readTerm(word.text);
    terms.push({
      ...term,
      start: not ? not.start : word.start,
      end: word.end,
      text: String(q).slice(not ? not.start : word.start, word.end),
      negated: Boolean(not) !== term.negated,
    });
    not = null;
  }
  return terms;
}

function readTerm(word) {
  const negated = word.startsWith('-') && word.length > 1;
  const body = negated ? word.slice(1) : word;
  const quote = body.indexOf('"');
  const head = quote < 0 ? body : body.slice(0, quote);
  const m = OPERATOR.exec(head);
  const free = { negated, field: null, op: null, value: unquote(body) };
  if (!m) return free;
  const name = head.slice(0, m.index);
  const field = fieldName(name);
  if (!field) return free;
  return { negated, field, op: m[0], value: unquote(body.slice(m.index + m[0].length)) };
}

function fieldName(name) {
  const lower = name.toLowerCase();
  const prefix = KEYED.find((p) => lower.startsWith(p));
  if (prefix) return name.length > prefix.length ? `${prefix}${name.slice(prefix.length)}` : null;
  return FIELDS.get(lower) || null;
}

/** Text with its quoted pieces unquoted and unescaped, as the server reads a value. */
function unquote(text) {
  let out = '';
  for (let i = 0; i < text.length; i += 1) {
    if (text[i] !== '"') {
      out += text[i];
      continue;
    }
    for (i += 1; i < text.length && text[i] !== '"'; i += 1) {
      if (text[i] === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) i += 1;
      out += text[i];
    }
  }
  return out;
}

/** The query without one of its terms (as returned by `parseTerms`); the rest is kept as typed. */
export function removeTerm(q, term) {
  const text = String(q || '');
  const left = text.slice(0, term.start).replace(/\s+$/, '');
  const right = text.slice(term.end).replace(/^\s+/, '');
  return left && right ? `${left} ${right}` : left || right;
}

/** The query without any term on `field`: to suggest a field's values in the rest's results. */
export function withoutField(q, field) {
  let text = String(q || '');
  const terms = parseTerms(text).filter((t) => t.field === field);
  for (const term of terms.reverse()) text = removeTerm(text, term);
  return text;
}
