// Suggestions for a field's values as they are typed, without a request per keystroke: requests
// wait until typing pauses (`delay`), a newer one aborts the older, answers are cached by
// prefix, and an answer that held every match (fewer than `limit`) answers any longer prefix
// on its own, so narrowing a short list costs no request at all.

/**
 * `fetchPage(prefix, signal)` resolves to `{values: [{value, runs}], ...}` for one prefix.
 * Returns `{request(prefix, onAnswer), cancel()}`: `onAnswer(answer)` gets
 * `{prefix, values, answer}` (the server's whole answer, or null when narrowed from the cache),
 * or `{prefix, error}`; only the newest request is ever answered.
 */
export function valueSource({ fetchPage, limit = 20, delay = 150, timers = globalThis }) {
  const cache = new Map(); // prefix (lowercased) → {values, complete, answer}
  let timer = null;
  let controller = null;
  let latest = 0;

  function fromCache(prefix) {
    const key = prefix.toLowerCase();
    const exact = cache.get(key);
    if (exact) return exact;
    for (let n = key.length - 1; n >= 0; n -= 1) {
      const shorter = cache.get(key.slice(0, n));
      if (shorter?.complete) {
        return { values: shorter.values.filter((v) => v.value.toLowerCase().startsWith(key)), complete: true, answer: shorter.answer };
      }
    }
    return null;
  }

  function request(prefix, onAnswer) {
    const token = ++latest;
    if (timer !== null) timers.clearTimeout(timer);
    timer = null;
    const known = fromCache(prefix);
    if (known) {
      controller?.abort();
      onAnswer({ prefix, values: known.values, answer: known.answer });
      return;
    }
    timer = timers.setTimeout(async () => {
      timer = null;
      controller?.abort();
      controller = new AbortController();
      try {
        const answer = await fetchPage(prefix, controller.signal);
        const values = Array.isArray(answer?.values) ? answer.values : [];
        cache.set(prefix.toLowerCase(), { values, complete: values.length < limit, answer });
        if (token === latest) onAnswer({ prefix, values, answer });
      } catch (error) {
        if (error?.name !== 'AbortError' && token === latest) onAnswer({ prefix, error });
      }
    }, delay);
  }

  function cancel() {
    latest += 1;
    if (timer !== null) timers.clearTimeout(timer);
    timer = null;
    controller?.abort();
  }

  return { request, cancel };
}
