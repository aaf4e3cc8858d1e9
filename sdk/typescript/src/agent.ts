/**
 * agent(): the root of a run (or a sub-agent inside one).
 */
import { context } from '@opentelemetry/api';

import { AGENT_SPAN_NAME, ATTR } from './attributes.js';
import { contextWithRun, type RunContext } from './context.js';
import { execute, inputOf } from './execute.js';
import { AgentRun } from './handles.js';
import { startHelperSpan, wrapWith, type AnyFunction, type CallerParameters } from './spans.js';

export interface AgentOptions extends RunContext {
  /** The agent's name (`lemma.agent.name`, `gen_ai.agent.name`). */
  name: string;
  /** More attributes of the agent span. */
  attributes?: Record<string, unknown>;
}

/** What `withRun` resolves to: the output and the run it belongs to. */
export interface RunResult<T> {
  output: T;
  /** The run ID (trace id), as the Lemma API and dashboard name the run. */
  runId: string;
  /** The agent span's id. */
  spanId: string;
}

/** A function wrapped by `agent()`. */
export interface Agent<F extends AnyFunction> {
  /** Runs the agent: same arguments and result as the wrapped function (streams tracked). */
  (...args: CallerParameters<F, AgentRun>): ReturnType<F>;
  /** Like calling the agent, and resolves to the output together with the run ID. */
  withRun(...args: CallerParameters<F, AgentRun>): Promise<RunResult<Awaited<ReturnType<F>>>>;
  /** The run ID of the latest call, set as soon as the call starts. */
  readonly lastRunId: string | undefined;
  readonly agentName: string;
}

function agentOptions(nameOrOptions: string | AgentOptions): AgentOptions {
  return typeof nameOrOptions === 'string' ? { name: nameOrOptions } : nameOrOptions;
}

/**
 * Wraps `fn` as an agent. Each call opens a run (`ai.agent.run`) or, inside a run, a
 * sub-agent; records the arguments as input and the result as output; records a throw as an
 * error and rethrows; and tracks a returned stream until it ends. `fn` receives the run
 * (`AgentRun`) as its last declared parameter when callers leave that parameter out:
 *
 * ```ts
 * const support = agent('support_agent', async (question: string, run: AgentRun) => { ... });
 * await support('Where is my order?');
 * support.lastRunId; // or: const { output, runId } = await support.withRun('...')
 * ```
 */
export function agent<F extends AnyFunction>(nameOrOptions: string | AgentOptions, fn: F): Agent<F> {
  const options = agentOptions(nameOrOptions);
  let latest: AgentRun | undefined;
  const wrapped = wrapWith(
    fn,
    (args) => startAgent(options, inputOf(args)),
    (run) => {
      latest = run;
    },
  );
  const withRun = async (...args: CallerParameters<F, AgentRun>): Promise<RunResult<Awaited<ReturnType<F>>>> => {
    const result = wrapped(...args);
    // The run opened synchronously by the call above: concurrent calls cannot interleave here.
    const run = latest as AgentRun;
    return { output: (await result) as Awaited<ReturnType<F>>, runId: run.runId, spanId: run.spanId };
  };
  return Object.defineProperties(wrapped, {
    withRun: { value: withRun },
    lastRunId: { get: () => latest?.runId },
    agentName: { value: options.name },
  }) as unknown as Agent<F>;
}

/** `agent()` under its other name. */
export const wrapAgent = agent;

/**
 * Opens a run (or sub-agent) by hand, for code that cannot be one function call: stream
 * handlers, callbacks. Run code inside it with `run.with(fn)`, and end it with
 * `run.complete(output)` or `run.fail(error)`.
 */
export function startAgent(nameOrOptions: string | AgentOptions, input?: unknown): AgentRun {
  const options = agentOptions(nameOrOptions);
  const parent = contextWithRun(context.active(), options);
  const span = startHelperSpan(
    AGENT_SPAN_NAME,
    {
      [ATTR.spanKind]: 'agent',
      [ATTR.agentName]: options.name,
      [ATTR.operation]: 'invoke_agent',
      [ATTR.genAiAgentName]: options.name,
    },
    options.attributes,
    parent,
  );
  const run = new AgentRun(options.name, span, parent);
  run.setInput(input);
  return run;
}

/**
 * Runs `fn(run)` as an agent run with `input`, and returns what `fn` returns (the output,
 * unless `fn` set one). Errors and streams as for `agent()`.
 */
export function withAgent<R>(nameOrOptions: string | AgentOptions, input: unknown, fn: (run: AgentRun) => R): R {
  const run = startAgent(nameOrOptions, input);
  return execute(run, () => fn(run));
}
