// A person's role in a project, as the server checks it (crates/lemma-server/src/auth/access.rs):
// which requests a role may make, which project a session starts in, and how a refusal reads.
// Pure, for the unit tests. The dashboard only uses this to show or disable controls; the
// server decides.

/** The roles, from the least to the most. */
export const ROLES = ['viewer', 'member', 'admin'];

/** What each role may do, in a few words. */
export const ROLE_WORDS = {
  viewer: 'reads',
  member: 'reads, sends feedback and deletes runs',
  admin: 'everything: settings, keys and members too',
};

/**
 * Whether a role may make a request needing `access`: `read`, `write` (delete runs, send
 * metric events) or `admin` (settings, prices, redaction, keys, members).
 */
export function roleAllows(role, access) {
  if (role === 'admin') return true;
  if (role === 'member') return access !== 'admin';
  if (role === 'viewer') return access === 'read';
  return false;
}

/** The project a session starts in: the one asked for if the user is in it, else the first. */
export function chooseProject(projects, preferred) {
  const list = projects || [];
  if (preferred && list.some((p) => p.name === preferred)) return preferred;
  return list.length ? list[0].name : null;
}

/** The role of `name` among `projects`, or null. */
export function roleIn(projects, name) {
  return (projects || []).find((p) => p.name === name)?.role || null;
}

/** "a viewer", "an admin". */
export function withArticle(role) {
  return `${/^[aeiou]/.test(role) ? 'an' : 'a'} ${role}`;
}

/** What the switcher shows for a project: its name and the user's role there. */
export function projectLabel({ name, role }) {
  return `${name} — ${role}`;
}

const NEEDED = { write: 'a member or an admin', admin: 'an admin' };

/** Why a control is off: "You are a viewer of “p”: only a member or an admin can delete runs." */
export function refusal(role, project, access, what) {
  return `You are ${withArticle(role)} of “${project}”: only ${NEEDED[access] || 'an admin'} can ${what}.`;
}
