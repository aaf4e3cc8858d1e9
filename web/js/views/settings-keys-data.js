// A project's API keys as the settings page lists and creates them (pure, for the unit tests).

/** The scopes a key can have, least first, with what each lets a program do. */
export const SCOPES = [
  { scope: 'ingest', label: 'ingest', words: 'sends spans, logs and metric events; reads nothing' },
  { scope: 'read', label: 'read', words: 'reads runs, threads, stats and settings; changes nothing' },
  { scope: 'admin', label: 'admin', words: 'everything, settings, keys and members included' },
];

/** The scope chosen when the form opens: the least a program sending traces needs. */
export const DEFAULT_SCOPE = 'ingest';

/** What a scope lets a key do, or '' for one this page does not know. */
export function scopeWords(scope) {
  return SCOPES.find((s) => s.scope === scope)?.words || '';
}

/** "Active" or "Revoked". */
export function keyStatus(key) {
  return key.revoked ? 'Revoked' : 'Active';
}

/** Active keys first, then newest first (ids grow with time); the answer is not changed. */
export function sortKeys(keys) {
  return [...(keys || [])].sort((a, b) => Number(a.revoked) - Number(b.revoked) || b.id - a.id);
}

/** `"3 keys, 1 revoked"`. */
export function keysSummary(keys) {
  const list = keys || [];
  const revoked = list.filter((k) => k.revoked).length;
  const total = `${list.length} ${list.length === 1 ? 'key' : 'keys'}`;
  return revoked ? `${total}, ${revoked} revoked` : total;
}

/**
 * Whether `key` may be the one the dashboard signed in with (`secret`): its hint is the first
 * characters of the secret followed by "…". Only a likelihood, to warn before revoking it.
 */
export function mayBeSecret(key, secret) {
  if (!secret || !key?.hint) return false;
  const shown = key.hint.replace(/…$/, '');
  return shown.length > 0 && secret.startsWith(shown);
}

/** The question the revoke dialog asks. */
export function revokeQuestion(key) {
  return `Revoke the ${key.scope} key ${key.public_key} (${key.hint})? Programs using it are refused from then on. This cannot be undone.`;
}
