/**
 * Chat messages in the OpenTelemetry GenAI form (`gen_ai.input.messages` /
 * `gen_ai.output.messages`): `{ role, parts: [{ type: 'text', content }, ...] }`.
 *
 * `toGenAiMessages` also takes what applications usually hold: plain strings, OpenAI chat
 * messages (`{ role, content, tool_calls, tool_call_id }`, content as text or parts), OpenAI
 * chat completion choices (`{ message, finish_reason }`) and Anthropic content blocks
 * (`text`, `tool_use`, `tool_result`, `thinking`). Messages already in the GenAI form pass through.
 */

export interface TextPart {
  type: 'text';
  content: string;
}

export interface ReasoningPart {
  type: 'reasoning';
  content: string;
}

export interface ToolCallPart {
  type: 'tool_call';
  id?: string;
  name: string;
  arguments?: unknown;
}

export interface ToolCallResponsePart {
  type: 'tool_call_response';
  id?: string;
  response: unknown;
}

export interface UriPart {
  type: 'uri';
  modality: string;
  uri: string;
  mime_type?: string;
}

/** A part this module does not model, passed on as it came. */
export interface OtherPart {
  type: string;
  [key: string]: unknown;
}

export type GenAiPart = TextPart | ReasoningPart | ToolCallPart | ToolCallResponsePart | UriPart | OtherPart;

export interface GenAiMessage {
  role: string;
  parts: GenAiPart[];
  name?: string;
  /** On output messages: why the model stopped (`stop`, `length`, `tool_call`, ...). */
  finish_reason?: string;
}

/** An OpenAI-style chat message, the shape most applications hold. */
export interface ChatMessage {
  role: string;
  content?: string | null | ReadonlyArray<unknown>;
  name?: string;
  tool_calls?: ReadonlyArray<{
    id?: string;
    type?: string;
    function?: { name?: string; arguments?: unknown };
  }>;
  tool_call_id?: string;
}

/** Anything `toGenAiMessages` converts: one message, a list, or plain text. */
export type MessageInput = string | GenAiMessage | ChatMessage | ReadonlyArray<string | GenAiMessage | ChatMessage | object>;

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Messages in the GenAI form; plain text becomes one message with `role`. */
export function toGenAiMessages(input: unknown, role = 'user'): GenAiMessage[] {
  if (input === undefined || input === null) return [];
  const items: unknown[] = Array.isArray(input) ? input : [input];
  return items.flatMap((item) => {
    const message = toGenAiMessage(item, role);
    return message ? [message] : [];
  });
}

function toGenAiMessage(item: unknown, role: string): GenAiMessage | undefined {
  if (typeof item === 'string') return { role, parts: [{ type: 'text', content: item }] };
  if (!isObj(item)) return item === undefined || item === null ? undefined : { role, parts: [{ type: 'text', content: String(item) }] };
  // An OpenAI choice: the message with its finish reason.
  if (isObj(item['message']) && !('role' in item)) {
    const message = toGenAiMessage(item['message'], 'assistant');
    if (message && typeof item['finish_reason'] === 'string') message.finish_reason = item['finish_reason'];
    return message;
  }
  const messageRole = typeof item['role'] === 'string' ? item['role'] : role;
  let parts: GenAiPart[];
  if (Array.isArray(item['parts'])) {
    parts = item['parts'] as GenAiPart[];
  } else if (messageRole === 'tool' || messageRole === 'function') {
    parts = [
      {
        type: 'tool_call_response',
        ...(typeof item['tool_call_id'] === 'string' ? { id: item['tool_call_id'] } : {}),
        response: responseOf(item['content']),
      },
    ];
  } else {
    parts = contentParts(item['content']);
    for (const call of Array.isArray(item['tool_calls']) ? item['tool_calls'] : []) {
      if (isObj(call)) parts.push(toolCallPart(call));
    }
    if (isObj(item['function_call'])) parts.push(toolCallPart({ function: item['function_call'] }));
  }
  const message: GenAiMessage = { role: messageRole, parts };
  if (typeof item['name'] === 'string' && messageRole !== 'function') message.name = item['name'];
  if (typeof item['finish_reason'] === 'string') message.finish_reason = item['finish_reason'];
  return message;
}

/** The parts of a message's `content`: text, or a list of OpenAI / Anthropic content parts. */
function contentParts(content: unknown): GenAiPart[] {
  if (content === undefined || content === null || content === '') return [];
  if (typeof content === 'string') return [{ type: 'text', content }];
  if (!Array.isArray(content)) return [{ type: 'text', content: JSON.stringify(content) }];
  return content.flatMap((part): GenAiPart[] => {
    if (typeof part === 'string') return [{ type: 'text', content: part }];
    if (!isObj(part)) return [];
    const type = part['type'];
    const text = part['text'];
    if ((type === 'text' || type === 'input_text' || type === 'output_text') && typeof text === 'string') {
      return [{ type: 'text', content: text }];
    }
    if (type === 'image_url') {
      const image = part['image_url'];
      const uri = isObj(image) ? image['url'] : image;
      return typeof uri === 'string' ? [{ type: 'uri', modality: 'image', uri }] : [];
    }
    if (type === 'tool_use') {
      return [
        {
          type: 'tool_call',
          ...(typeof part['id'] === 'string' ? { id: part['id'] } : {}),
          name: String(part['name'] ?? ''),
          arguments: part['input'],
        },
      ];
    }
    if (type === 'tool_result') {
      return [
        {
          type: 'tool_call_response',
          ...(typeof part['tool_use_id'] === 'string' ? { id: part['tool_use_id'] } : {}),
          response: responseOf(part['content']),
        },
      ];
    }
    if (type === 'thinking' && typeof part['thinking'] === 'string') {
      return [{ type: 'reasoning', content: part['thinking'] }];
    }
    return [part as OtherPart];
  });
}

function toolCallPart(call: Obj): ToolCallPart {
  const fn = isObj(call['function']) ? call['function'] : call;
  return {
    type: 'tool_call',
    ...(typeof call['id'] === 'string' ? { id: call['id'] } : {}),
    name: String(fn['name'] ?? ''),
    arguments: parseJson(fn['arguments']),
  };
}

/** A tool result: text content stays text, a list of text parts becomes their text. */
function responseOf(content: unknown): unknown {
  if (Array.isArray(content)) {
    const texts = content.map((p) => (isObj(p) && typeof p['text'] === 'string' ? p['text'] : undefined));
    if (texts.every((t) => t !== undefined)) return texts.join('');
  }
  return content ?? '';
}

/** Tool call arguments arrive as JSON text; the GenAI form holds the parsed value. */
function parseJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** The finish reasons of output messages, in order. */
export function finishReasonsOf(messages: GenAiMessage[]): string[] {
  return messages.flatMap((m) => (m.finish_reason ? [m.finish_reason] : []));
}
