// A project's members as the settings page lists and changes them (pure, for the unit tests).
import { ROLES, withArticle } from '../roles.js';

/** Members by name (the server's order is kept for equal names). */
export function sortMembers(members) {
  return [...(members || [])].sort((a, b) => a.user.localeCompare(b.user));
}

/** The API path of a member: the name is a path segment, escaped. */
export function memberPath(user) {
  return `/members/${encodeURIComponent(user)}`;
}

/**
 * What the add form sends: `{user, role}` or `{error}`. The name is trimmed; the server checks
 * it, and whether such a user exists.
 */
export function addMember(name, role) {
  const user = String(name ?? '').trim();
  if (!user) return { error: 'Enter the name of a user (an operator creates users with `lemma users create`).' };
  if (!ROLES.includes(role)) return { error: `Choose a role: ${ROLES.join(', ')}.` };
  return { user, role };
}

/** What the page says once a role was set; `before` is the role the user had, if any. */
export function roleSetMessage(user, role, before) {
  if (!before) return `${user} was added as ${withArticle(role)}.`;
  if (before === role) return `${user} already is ${withArticle(role)}.`;
  return `${user} is now ${withArticle(role)} (was ${withArticle(before)}).`;
}

/** What a user name may be (the server's rule for `lemma users create`). */
export const USER_NAME = /^[A-Za-z0-9._+@-]{1,128}$/;

/** The server's refusal, with what to do about an unknown user. */
export function memberError(err, user) {
  if (err?.status === 404) {
    return USER_NAME.test(user)
      ? `There is no user “${user}”: an operator creates one with \`lemma users create ${user} --password-stdin\`.`
      : `There is no user “${user}”: a user name is 1 to 128 of letters, digits, '.', '_', '-', '+' and '@'.`;
  }
  return err?.message || String(err);
}
