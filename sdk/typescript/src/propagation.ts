/**
 * Carrying a run across processes: the current span and run context go out as W3C
 * `traceparent` / `tracestate` / `baggage` (HTTP headers, or the `TRACEPARENT`, `TRACESTATE`,
 * `BAGGAGE` environment variables of a child process), and come back in with `continueFrom`,
 * so the other side's spans nest under the caller's span in the same run.
 */
import { ROOT_CONTEXT, context, type TextMapGetter } from '@opentelemetry/api';

import { W3C_PROPAGATOR, ensureGlobals } from './setup.js';

/** Headers (or env-style variables) a call can carry; arrays as Node's headers hold them. */
export type Carrier =
  | Record<string, string | string[] | undefined>
  | NodeJS.ProcessEnv
  | { get(name: string): string | null | undefined; forEach?: unknown };

/**
 * The current span and run context as HTTP headers (`traceparent`, `tracestate`, `baggage`),
 * added to `headers` (a copy) when given: `fetch(url, { headers: injectHeaders({ ... }) })`.
 */
export function injectHeaders(headers: Record<string, string> = {}): Record<string, string> {
  ensureGlobals();
  const out = { ...headers };
  W3C_PROPAGATOR.inject(context.active(), out, {
    set: (carrier, key, value) => {
      carrier[key] = value;
    },
  });
  return out;
}

/**
 * The current span and run context as environment variables for a child process:
 * `spawn(cmd, args, { env: { ...process.env, ...contextEnv() } })`. The child calls
 * `continueFrom(process.env, fn)`.
 */
export function contextEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(injectHeaders())) env[key.toUpperCase()] = value;
  return env;
}

/**
 * Runs `fn` as a continuation of the caller whose context `carrier` holds: incoming request
 * headers, or `process.env` (the default) in a child process started with `contextEnv()`.
 * Spans started inside nest under the caller's span and carry its run context. Without
 * a `traceparent` in the carrier, `fn` simply runs.
 */
export function continueFrom<R>(carrier: Carrier | undefined, fn: () => R): R {
  ensureGlobals();
  const extracted = W3C_PROPAGATOR.extract(ROOT_CONTEXT, carrier ?? process.env, CARRIER_GETTER);
  // Keep whatever the current context holds that the carrier does not (e.g. an active span
  // when the carrier is empty).
  const parent = extracted === ROOT_CONTEXT ? context.active() : extracted;
  return context.with(parent, fn);
}

/** Reads headers in any case, `Headers` objects, and upper-case environment variables. */
const CARRIER_GETTER: TextMapGetter<Carrier> = {
  keys(carrier) {
    return isHeaders(carrier) ? [] : Object.keys(carrier);
  },
  get(carrier, key) {
    if (isHeaders(carrier)) return carrier.get(key) ?? undefined;
    const record = carrier as Record<string, string | string[] | undefined>;
    const value =
      record[key] ??
      record[key.toUpperCase()] ??
      Object.entries(record).find(([k]) => k.toLowerCase() === key)?.[1];
    return value ?? undefined;
  },
};

function isHeaders(carrier: Carrier): carrier is { get(name: string): string | null | undefined } {
  return typeof (carrier as { get?: unknown }).get === 'function';
}
