// A thread read as a conversation: each run becomes a turn, the user's side taken from the
// run's input and the agent's side from its output. Pure, so the shapes a payload may take are
// unit tested.
//
// A chat-shaped input carries the whole conversation so far; only its newest user messages
// belong to this turn (the earlier ones are the previous turns, shown already).
import { parseMaybeJson } from '../format.js';

const TEXT_KEYS = ['text', 'content', 'message', 'prompt', 'query', 'question', 'input', 'output', 'answer', 'result'];
const USER_ROLES = new Set(['user', 'human']);
const HIDDEN_ROLES = new Set(['system', 'developer']);

/** The messages of a chat-shaped payload (`[{role, …}]` or `{messages: [...]}`), else null. */
export function chatMessages(value) {
  const parsed = parseMaybeJson(value);
  const list = Array.isArray(parsed) ? parsed : Array.isArray(parsed?.messages) ? parsed.messages : null;
  if (!list || list.length === 0) return null;
  return list.every((m) => m && typeof m === 'object' && typeof m.role === 'string') ? list : null;
}

/**
 * The user's side of a turn: the trailing user messages of a conversation (after the last
 * message of anyone else), else the last user message, else the payload itself.
 */
export function userSide(input) {
  const messages = chatMessages(input);
  if (messages) {
    const tail = [];
    for (let i = messages.length - 1; i >= 0 && isUser(messages[i]); i -= 1) tail.unshift(messages[i]);
    if (tail.length) return { kind: 'messages', messages: tail };
    const last = [...messages].reverse().find(isUser);
    if (last) return { kind: 'messages', messages: [last] };
    const visible = messages.filter((m) => !HIDDEN_ROLES.has(role(m)));
    if (visible.length) return { kind: 'messages', messages: visible };
  }
  return plainSide(input);
}

/** The agent's side of a turn: its output messages, text, or payload. */
export function agentSide(output) {
  const messages = chatMessages(output);
  if (messages) return { kind: 'messages', messages: messages.filter((m) => !HIDDEN_ROLES.has(role(m))) };
  return plainSide(output);
}

/** Text when the payload is text or an object with one obvious text field; else the payload. */
export function plainSide(value) {
  const parsed = parseMaybeJson(value);
  if (parsed === null || parsed === undefined || parsed === '') return { kind: 'none' };
  if (typeof parsed !== 'object') return { kind: 'text', text: String(parsed) };
  if (!Array.isArray(parsed)) {
    const key = TEXT_KEYS.find((k) => typeof parsed[k] === 'string' && parsed[k]);
    if (key) return { kind: 'text', text: parsed[key] };
  }
  return { kind: 'payload', value: parsed };
}

/** A side as canonical messages, so the page renders every shape with the same component. */
export function asMessages(side, roleName, name) {
  if (side.kind === 'messages') return side.messages;
  if (side.kind === 'none') return [];
  const content = side.kind === 'text' ? side.text : side.value;
  return [{ role: roleName, ...(name ? { name } : {}), parts: [{ type: 'text', content }] }];
}

function isUser(message) {
  return USER_ROLES.has(role(message));
}

function role(message) {
  return String(message?.role || '').toLowerCase();
}
