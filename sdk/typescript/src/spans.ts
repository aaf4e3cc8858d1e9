/**
 * Starting the spans of Lemma's helpers, and the wrapper they share.
 */
import { SpanKind, context, type Attributes, type Context, type Span } from '@opentelemetry/api';

import { attributeValue } from './attributes.js';
import { getRunContext, runContextAttributes } from './context.js';
import { callWithHandle, execute } from './execute.js';
import type { SpanHandle } from './handles.js';
import { lemmaTracer } from './setup.js';

export type AnyFunction = (...args: any[]) => any;

/** Whether `T` is exactly the handle type `H` (not `any`, not a wider or narrower type). */
type IsHandle<T, H> = 0 extends 1 & T ? false : [T] extends [H] ? ([H] extends [T] ? true : false) : false;

/**
 * The parameters callers pass to a wrapped `F`: `F`'s own, less a last parameter of type `H`
 * (the handle the wrapper passes in). `(q: string, run: AgentRun) => ...` is called as `(q)`.
 */
export type CallerParameters<F extends AnyFunction, H> =
  Parameters<F> extends [...infer Head, infer Last]
    ? IsHandle<Last, H> extends true
      ? Head
      : Parameters<F>
    : Parameters<F> extends [...infer Head, (infer Last)?]
      ? IsHandle<NonNullable<Last>, H> extends true
        ? Head
        : Parameters<F>
      : Parameters<F>;

/** A function wrapped by one of the helpers: called as `F` is, minus its handle parameter. */
export type Wrapped<F extends AnyFunction, H> = (...args: CallerParameters<F, H>) => ReturnType<F>;

/**
 * Starts a helper's span under `parent`. The run context is written on the span here too, so it
 * is there even on a provider without Lemma's span processor.
 */
export function startHelperSpan(
  name: string,
  attributes: Attributes,
  extra: Record<string, unknown> | undefined,
  parent: Context = context.active(),
  kind: SpanKind = SpanKind.INTERNAL,
): Span {
  const all: Attributes = { ...runContextAttributes(getRunContext(parent)), ...attributes };
  for (const [key, value] of Object.entries(extra ?? {})) {
    if (value !== undefined) all[key] = attributeValue(value);
  }
  return lemmaTracer().startSpan(name, { kind, attributes: all }, parent);
}

/** Wraps `fn`: each call opens a handle with `open(args)` and runs `fn` inside it. */
export function wrapWith<F extends AnyFunction, H extends SpanHandle>(
  fn: F,
  open: (args: unknown[]) => H,
  onOpen?: (handle: H) => void,
): Wrapped<F, H> {
  const wrapped = function (this: unknown, ...args: unknown[]) {
    const handle = open(args);
    onOpen?.(handle);
    return execute(handle, () => callWithHandle(fn, this, args, handle));
  };
  Object.defineProperty(wrapped, 'name', { value: fn.name, configurable: true });
  return wrapped as unknown as Wrapped<F, H>;
}
