// What the runs list remembers in this browser (columns, saved views), one entry per project so
// two projects signed into in turn keep their own. localStorage may be missing, full or hold
// anything (another version, a hand edit): every read falls back, every write may fail quietly.
import * as session from '../session.js';

export function storageKey(kind, project = session.project()) {
  return `lemma.runs.${kind}.${project || 'default'}`;
}

export function readJson(name, storage = globalThis.localStorage) {
  try {
    const text = storage?.getItem(name);
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** True when it was stored. */
export function writeJson(name, value, storage = globalThis.localStorage) {
  try {
    storage?.setItem(name, JSON.stringify(value));
    return Boolean(storage);
  } catch {
    return false;
  }
}
