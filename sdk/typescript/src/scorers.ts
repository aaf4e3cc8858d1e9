/**
 * Built-in scorers for `experiment()`.
 *
 * A scorer is called as `scorer(output, testCase)` once the agent answered a case (`output` is
 * `undefined` when the agent threw) and gives a number or a boolean, higher being better, or
 * `null`/`undefined` when it does not apply to the case (e.g. the case has no `expected`): then no
 * score is recorded. Any function of that shape is a scorer too, an LLM judge say; its name (the
 * function's, or its key in a `scorers` object) is the metric the score is recorded as.
 */
import { toJson } from './attributes.js';

/** A test case of a dataset, as Lemma keeps it (ids assigned). */
export interface Case {
  id: string;
  input: unknown;
  expected?: unknown;
  metadata?: Record<string, unknown>;
  tags?: string[];
}

/** What a scorer gives: a number or a boolean (higher is better), or nothing when it does not apply. */
export type ScoreValue = number | boolean;

/** `(output, testCase) => score`, sync or async. */
export type Scorer = (
  output: unknown,
  testCase: Case,
) => ScoreValue | null | undefined | Promise<ScoreValue | null | undefined>;

/** `fn` named `name`: the metric its scores are recorded as (1-128 letters, digits, `_`, `-`, `.`, `:`). */
export function scorer<S extends Scorer>(name: string, fn: S): S {
  return Object.defineProperty(fn, 'name', { value: name, configurable: true });
}

/**
 * True when the output equals the case's `expected`: as values, or as text when one of them is
 * text (an agent answering `'4'` to an expected `4`). Nothing for a case without `expected`.
 */
export function exactMatch(options: { name?: string; ignoreCase?: boolean } = {}): Scorer {
  return scorer(options.name ?? 'exact_match', (output, testCase) => {
    if (testCase.expected === undefined || testCase.expected === null) return undefined;
    if (output === undefined || output === null) return false;
    if (canonical(output) === canonical(testCase.expected)) return true;
    let [got, want] = [text(output), text(testCase.expected)];
    if (options.ignoreCase) [got, want] = [got.toLowerCase(), want.toLowerCase()];
    return got === want;
  });
}

/**
 * True when the output (as text) contains `substring`, or without it the case's `expected` (as
 * text). Nothing when neither is given.
 */
export function contains(substring?: string, options: { name?: string; ignoreCase?: boolean } = {}): Scorer {
  return scorer(options.name ?? 'contains', (output, testCase) => {
    const wanted = substring ?? testCase.expected;
    if (wanted === undefined || wanted === null) return undefined;
    let [got, want] = [output === undefined || output === null ? '' : text(output), text(wanted)];
    if (options.ignoreCase) [got, want] = [got.toLowerCase(), want.toLowerCase()];
    return got.includes(want);
  });
}

/**
 * The share of `fields` (dotted paths allowed: `'order.status'`) on which the output and the
 * case's `expected` agree, each a JSON object or its text: 1 when all do. A field missing on both
 * sides agrees; an output that is not an object agrees on none. Nothing for a case without
 * `expected`; a case whose `expected` is not an object makes the scorer fail.
 */
export function jsonFields(fields: string[], options: { name?: string } = {}): Scorer {
  if (fields.length === 0) throw new TypeError('jsonFields() needs the names of the fields to compare');
  return scorer(options.name ?? 'json_fields', (output, testCase) => {
    if (testCase.expected === undefined || testCase.expected === null) return undefined;
    const want = asObject(testCase.expected);
    if (want === undefined) throw new TypeError(`the case's expected is not a JSON object: ${text(testCase.expected)}`);
    const got = asObject(output);
    if (got === undefined) return 0;
    const same = fields.filter((f) => {
      const [a, b] = [field(got, f), field(want, f)];
      return a.found === b.found && (!a.found || canonical(a.value) === canonical(b.value));
    }).length;
    return same / fields.length;
  });
}

/**
 * True when the output, read as a number (a number, or text such as `' 4.0'`), is within
 * `tolerance` (absolute) of the case's `expected`. Nothing for a case without `expected`.
 */
export function numericMatch(options: { tolerance?: number; name?: string } = {}): Scorer {
  const tolerance = options.tolerance ?? 0;
  if (!(tolerance >= 0)) throw new RangeError(`tolerance must be a number of at least 0, not ${tolerance}`);
  return scorer(options.name ?? 'numeric_match', (output, testCase) => {
    if (testCase.expected === undefined || testCase.expected === null) return undefined;
    const want = asNumber(testCase.expected);
    if (want === undefined) throw new TypeError(`the case's expected is not a number: ${text(testCase.expected)}`);
    const got = asNumber(output);
    return got !== undefined && Math.abs(got - want) <= tolerance;
  });
}

/**
 * True when `pattern` (or, without it, the case's `expected` as a pattern) matches somewhere in the
 * output as text. Nothing when there is no pattern.
 */
export function regexMatch(pattern?: RegExp | string, options: { name?: string } = {}): Scorer {
  // Given as text, compiled once, so a bad pattern throws here rather than on every case.
  const compiled = typeof pattern === 'string' ? new RegExp(pattern) : pattern;
  return scorer(options.name ?? 'regex_match', (output, testCase) => {
    let found = compiled;
    if (found === undefined) {
      if (testCase.expected === undefined || testCase.expected === null) return undefined;
      found = new RegExp(text(testCase.expected));
    }
    // A global or sticky pattern remembers where it stopped: start each case afresh.
    found.lastIndex = 0;
    return found.test(output === undefined || output === null ? '' : text(output));
  });
}

/** The built-in scorers, as one object: `scorers.exactMatch()`, ... */
export const scorers = { exactMatch, contains, jsonFields, numericMatch, regexMatch, scorer } as const;

/** Text as it is; anything else as JSON with sorted keys, so equal values read alike. */
function text(value: unknown): string {
  return typeof value === 'string' ? value : canonical(value);
}

/** JSON with object keys sorted: equal values give equal text. */
export function canonical(value: unknown): string {
  const json = toJson(value ?? null);
  try {
    return JSON.stringify(sortKeys(JSON.parse(json) as unknown));
  } catch {
    return json; // not JSON (a function, say): its text
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === 'object' && value !== null) {
    const object = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(object)
        .sort()
        .map((k) => [k, sortKeys(object[k])]),
    );
  }
  return value;
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
    ? (parsed as Record<string, unknown>)
    : undefined;
}

/** The value at a dotted path, if the object has one there. */
function field(object: Record<string, unknown>, path: string): { found: boolean; value?: unknown } {
  let at: unknown = object;
  for (const key of path.split('.')) {
    if (typeof at !== 'object' || at === null || Array.isArray(at) || !Object.hasOwn(at, key)) return { found: false };
    at = (at as Record<string, unknown>)[key];
  }
  return { found: true, value: at };
}

function asNumber(value: unknown): number | undefined {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && value.trim() !== '') n = Number(value.trim());
  else return undefined;
  return Number.isFinite(n) ? n : undefined;
}
