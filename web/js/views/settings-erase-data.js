// Erasing a user, as `lemma erase-user` does (crates/lemma-cli/src/erase.rs), without the page:
// the query naming them, the runs to delete (every run they own, and every run holding a span
// that names them), and what the settings page says about them. `get` is the API call
// (injected, so the unit tests need no server). Pure otherwise.
import { collectRunIds, collectSpanRunIds, runsNoun } from './runs-lifecycle.js';
import { parseTerms } from './runs-terms.js';

/** `user:"ID"`: the id always quoted, `"` and `\` escaped, as the CLI writes it. */
export function userQuery(userId) {
  return `user:"${String(userId).replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * The user a query names when it is exactly one `user:` filter (`user:u-7`, `user:"a b"`,
 * `user=u-7`), else null: not negated, one value (a bare comma means several users).
 */
export function userOfQuery(q) {
  const terms = parseTerms(q);
  if (terms.length !== 1) return null;
  const [term] = terms;
  if (term.field !== 'user' || term.negated || (term.op !== ':' && term.op !== '=') || !term.value) return null;
  const written = term.text.slice(term.text.indexOf(term.op) + term.op.length);
  return bareComma(written) ? null : term.value;
}

/** Whether a value as written holds a comma outside double quotes (the server splits there). */
function bareComma(text) {
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted && c === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) i += 1;
    else if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) return true;
  }
  return false;
}

/** The id as typed, without the spaces around it; '' when there is none. */
export function cleanUserId(typed) {
  return String(typed ?? '').trim();
}

/** Whether what was typed to confirm is the user id. */
export function confirms(typed, userId) {
  return Boolean(userId) && cleanUserId(typed) === userId;
}

/**
 * The runs erasing `userId` deletes: `{owned, holding}`, the ids of the runs they own (`GET
 * /runs?q=user:"ID"`) and of the other runs holding a span that names them (`GET
 * /spans?q=user:"ID"`), each once. `onProgress({owned, holding})` as pages come in.
 */
export async function collectUserRuns(get, userId, { signal, onProgress } = {}) {
  const q = userQuery(userId);
  const owned = [...new Set(await collectRunIds(get, q, {
    signal,
    onProgress: (n) => onProgress?.({ owned: n, holding: 0 }),
  }))];
  const mine = new Set(owned);
  const spanRuns = await collectSpanRunIds(get, q, {
    signal,
    onProgress: (n, ids) => onProgress?.({ owned: owned.length, holding: [...ids].filter((id) => !mine.has(id)).length }),
  });
  return { owned, holding: spanRuns.filter((id) => !mine.has(id)) };
}

/** Every run to delete, owned ones first. */
export function allRunIds(found) {
  return [...found.owned, ...found.holding];
}

/**
 * What the count found, after the user id: " owns 2 runs, and 1 other run holds a span that
 * names them: 3 runs to erase." `null` when there is nothing to erase.
 */
export function countSummary(found, fmt = String) {
  const owned = found.owned.length;
  const holding = found.holding.length;
  const total = owned + holding;
  if (total === 0) return null;
  const other = owned ? 'other ' : '';
  const own = owned ? `owns ${runsNoun(owned, fmt)}` : 'owns no run';
  const hold = holding === 0 ? `no ${other}run holds a span that names them`
    : holding === 1 ? `1 ${other}run holds a span that names them`
      : `${fmt(holding)} ${other}runs hold spans that name them`;
  return ` ${own}, and ${hold}: ${runsNoun(total, fmt)} to erase.`;
}

/** What the dialog asks, after the user id: ": delete 3 runs (2 they own, 1 other holding a span that names them)? …". */
export function eraseQuestion(found, fmt = String) {
  const owned = found.owned.length;
  const holding = found.holding.length;
  const total = runsNoun(owned + holding, fmt);
  const parts = [];
  if (owned) parts.push(`${fmt(owned)} they own`);
  if (holding) parts.push(`${fmt(holding)} ${owned ? 'other ' : ''}holding ${holding === 1 ? 'a span' : 'spans'} that ${holding === 1 ? 'names' : 'name'} them`);
  return `: delete ${total} (${parts.join(', ')})? This deletes their spans, metric events and log records and cannot be undone.`;
}

/** Counting while it goes: "Counting… 12 runs they own, 3 other runs naming them so far." */
export function countingProgress({ owned, holding }, fmt = String) {
  return `Counting… ${runsNoun(owned, fmt)} they own, ${fmt(holding)} other ${holding === 1 ? 'run' : 'runs'} naming them so far.`;
}

/**
 * What the dialog and the card say once erasing ends, checked against a count made afterwards:
 * `result` is `{message, error}` from the deleting step, `left` the recount (`{owned, holding}`)
 * or null, `recountError` why there is none. `{text, ok}`: ok only when nothing is left.
 */
export function eraseOutcome(result, left, recountError, fmt = String) {
  const done = /[.!?…]$/.test(result.message) ? result.message : `${result.message}.`;
  if (!left) {
    return { ok: false, text: `${done} Could not count again: ${recountError?.message || 'unknown error'}` };
  }
  const remaining = allRunIds(left).length;
  if (remaining === 0) {
    return { ok: !result.error, text: `${done} Counted again: no run holds the user any more.` };
  }
  const still = `${runsNoun(remaining, fmt)} still ${remaining === 1 ? 'holds' : 'hold'} the user`;
  // Runs that arrived since the count (or were not reached) are left for another pass.
  const next = result.error ? '.' : ' (sent since the count): count again to erase them.';
  return { ok: false, text: `${done} Counted again: ${still}${next}` };
}

/** The runs page listing the runs the user owns (to look at, or export, before erasing). */
export function userRunsHref(userId) {
  return `/runs?${new URLSearchParams({ q: userQuery(userId) })}`;
}
