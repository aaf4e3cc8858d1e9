// Small labels: run and span status, span kind, tags.
import { h } from '../dom.js';
import { signalPill } from './signals.js';

export function status(value, message) {
  const s = (value || 'unset').toLowerCase();
  const label = s === 'error' ? 'Error' : s === 'ok' ? 'OK' : 'Unset';
  return h('span', { class: ['badge', `status-${s}`], title: message ? (message.length > 1000 ? `${message.slice(0, 1000)}…` : message) : null, 'data-status': s }, label);
}

const KIND_LABELS = {
  agent: 'Agent', llm: 'LLM', tool: 'Tool', retrieval: 'Retrieval', embedding: 'Embedding',
  reranker: 'Reranker', chain: 'Chain', guardrail: 'Guardrail', evaluator: 'Evaluator', span: 'Span',
};

export function kind(value) {
  const k = KIND_LABELS[value] ? value : 'span';
  return h('span', { class: ['badge', 'kind', `kind-${k}`], 'data-kind': k }, KIND_LABELS[k]);
}

export function tag(text) {
  const s = String(text);
  return h('span', { class: 'chip' }, s.length > 300 ? `${s.slice(0, 300)}…` : s);
}

/** One signal, coloured by its severity (components/signals.js). */
export function signal(sig) {
  return signalPill(sig);
}
