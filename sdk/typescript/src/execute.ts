/**
 * Running code inside a span: the span ends when the code's result is known, which for a
 * promise is when it settles and for a stream is when the stream ends, fails or is abandoned.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

import type { SpanHandle } from './handles.js';

/**
 * Runs `fn` in `handle`'s context and ends the span with its outcome: the return value (or
 * what a returned promise resolves to) as output, a throw or rejection as an error (rethrown),
 * a returned stream tracked until it ends. Returns what `fn` returns, streams wrapped.
 */
export function execute<R>(handle: SpanHandle, fn: () => R): R {
  handle.manage();
  let result: R;
  try {
    result = handle.with(fn);
  } catch (error) {
    handle.abort(error);
    throw error;
  }
  if (isPromiseLike(result)) {
    return Promise.resolve(result).then(
      (value) => settle(handle, value),
      (error: unknown) => {
        handle.abort(error);
        throw error;
      },
    ) as R;
  }
  return settle(handle, result);
}

function settle<V>(handle: SpanHandle, value: V): V {
  if (handle.ended) return value;
  const stream = trackStream(handle, value);
  if (stream !== undefined) return stream;
  handle.finish(value);
  return value;
}

/**
 * `fn` called with the caller's arguments, and with `handle` as its last declared parameter
 * when the caller left that parameter out: `(question, run) => ...` called as `f(question)`.
 */
export function callWithHandle<R>(
  fn: (...args: never[]) => R,
  thisArg: unknown,
  args: readonly unknown[],
  handle: SpanHandle,
): R {
  const call = fn as unknown as (...a: unknown[]) => R;
  if (fn.length > args.length) {
    const padded: unknown[] = [...args];
    while (padded.length < fn.length - 1) padded.push(undefined);
    padded.push(handle);
    return call.apply(thisArg, padded);
  }
  return call.apply(thisArg, [...args]);
}

/** What a list of arguments records as one input: nothing, the argument, or the list. */
export function inputOf(args: readonly unknown[]): unknown {
  if (args.length === 0) return undefined;
  return args.length === 1 ? args[0] : [...args];
}

export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * If `value` is a stream, the same stream tracked by `handle`: the span stays open until it
 * ends (output: the chunks, joined when they are text), fails (error) or the reader stops early.
 * Async generators come back as async generators, Node streams as Node streams, web streams as
 * web streams; another async iterable keeps its methods, and only iterating it is tracked.
 */
function trackStream<V>(handle: SpanHandle, value: V): V | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (value instanceof Readable) {
    const tracked = trackIterable(handle, value);
    return Readable.from(tracked, { objectMode: value.readableObjectMode }) as V;
  }
  if (isWebStream(value)) return trackWebStream(handle, value) as V;
  if (!isAsyncIterable(value)) return undefined;
  if (Object.prototype.toString.call(value) === '[object AsyncGenerator]') {
    return trackIterable(handle, value) as V;
  }
  return new Proxy(value, {
    get(target, key, receiver) {
      if (key === Symbol.asyncIterator) {
        return () => trackIterable(handle, target)[Symbol.asyncIterator]();
      }
      const member: unknown = Reflect.get(target, key, receiver);
      return typeof member === 'function' ? member.bind(target) : member;
    },
  });
}

function isAsyncIterable(value: object): value is AsyncIterable<unknown> {
  return typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}

function isWebStream(value: object): value is WebReadableStream<unknown> {
  const v = value as { getReader?: unknown; pipeThrough?: unknown };
  return typeof v.getReader === 'function' && typeof v.pipeThrough === 'function';
}

/** Collects a stream's chunks into its output. */
class Chunks {
  private readonly items: unknown[] = [];

  add(chunk: unknown): void {
    this.items.push(chunk);
  }

  /** Text chunks joined, byte chunks decoded and joined, anything else as the list. */
  output(): unknown {
    if (this.items.length === 0) return undefined;
    if (this.items.every((c) => typeof c === 'string')) return this.items.join('');
    if (this.items.every((c) => c instanceof Uint8Array)) {
      return Buffer.concat(this.items as Uint8Array[]).toString('utf8');
    }
    return [...this.items];
  }
}

/**
 * Iterates `source` in `handle`'s context (so spans started by a generator's body nest under
 * the agent, whoever consumes it) and ends the span when iteration ends.
 */
async function* trackIterable<T>(handle: SpanHandle, source: AsyncIterable<T>): AsyncGenerator<T, void, undefined> {
  const chunks = new Chunks();
  let iterator: AsyncIterator<T>;
  try {
    iterator = handle.with(() => source[Symbol.asyncIterator]());
  } catch (error) {
    handle.abort(error);
    throw error;
  }
  let settled = false;
  try {
    for (;;) {
      const step = await handle.with(() => iterator.next());
      if (step.done) break;
      chunks.add(step.value);
      yield step.value;
    }
    settled = true;
    handle.finish(chunks.output());
  } catch (error) {
    settled = true;
    handle.abort(error);
    throw error;
  } finally {
    if (!settled) {
      // The consumer stopped early (break, return): close the source and keep what was read.
      try {
        await handle.with(() => iterator.return?.());
      } finally {
        handle.finish(chunks.output());
      }
    }
  }
}

function trackWebStream<T>(handle: SpanHandle, source: WebReadableStream<T>): WebReadableStream<T> {
  const chunks = new Chunks();
  const reader = source.getReader();
  const Stream = source.constructor as typeof WebReadableStream;
  return new Stream<T>({
    async pull(controller) {
      try {
        const step = await handle.with(() => reader.read());
        if (step.done) {
          handle.finish(chunks.output());
          controller.close();
        } else {
          chunks.add(step.value);
          controller.enqueue(step.value);
        }
      } catch (error) {
        handle.abort(error);
        controller.error(error);
      }
    },
    async cancel(reason) {
      try {
        await reader.cancel(reason);
      } finally {
        handle.finish(chunks.output());
      }
    },
  });
}
