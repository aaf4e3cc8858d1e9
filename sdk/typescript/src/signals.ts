/**
 * A run's signals, asked for by the run itself (`run.signals()`): what Lemma finds worth a look
 * in it so far (a streak of failed calls, a loop, a classifier's flag, ...), so an agent can
 * stop or escalate while it runs.
 *
 * `GET /api/v1/runs/{runId}/signals` evaluates the spans Lemma has. Spans still waiting in the
 * exporter's batch are not among them, so the spans that ended are flushed first.
 */
import { LemmaApiError, apiEndpoint, callApi } from './metrics.js';
import { flush } from './setup.js';

/** How much a signal asks for attention. */
export type SignalSeverity = 'info' | 'warning' | 'critical';

/** What found a signal: Lemma's rules, a mark on a span (`lemma.signal.<name>`), an evaluation. */
export type SignalSource = 'rule' | 'attribute' | 'evaluation';

/** One thing worth a look in a run, as Lemma found it. */
export interface Signal {
  /**
   * What it is: `error_streak`, `tool_failing`, `loop`, `stalled`, ..., or the `<name>` of a
   * `lemma.signal.<name>` attribute an app or classifier wrote on a span.
   */
  kind: string;
  severity: SignalSeverity;
  source: SignalSource;
  /** One sentence for a person, with the numbers that made it a signal. */
  explanation: string;
  /** The span it points at (the first of a repeated stretch), when one span stands for it. */
  spanId?: string;
  /** A classifier's or evaluator's score, when it gave one. */
  score?: number;
  /** A classifier's or evaluator's label, when it gave one. */
  label?: string;
  /** Consecutive repeats (loops, cycles, streaks) or occurrences counted; 0 when not counted. */
  repeats: number;
  /** For loops: the tool called again and again, and its arguments. */
  toolName?: string;
  toolArgs?: unknown;
  /** For loops: the first call's position among the run's tool calls, and its span. */
  firstToolIndex: number;
  firstSpanId?: string;
}

/** A run's signals as of when Lemma was asked. */
export interface RunSignals {
  runId: string;
  /** The run's root span has not arrived: the run is still going (or was cut off). */
  inProgress: boolean;
  /** The spans Lemma had of the run when it evaluated it. */
  spanCount: number;
  /** When Lemma read the run's spans for this answer (RFC 3339). */
  evaluatedAt: string;
  /** Most severe first. */
  signals: Signal[];
  /** The critical ones among `signals`: `if (answer.critical.length > 0) escalate()`. */
  critical: Signal[];
}

export interface SignalsOptions {
  /** Lemma's URL; default the one given to `init()`, else `LEMMA_URL`. */
  url?: string;
  /** The API key (any key of the project, an ingest key too); default `init()`'s, else `LEMMA_API_KEY`. */
  apiKey?: string;
  /** How long the request may take; default 10 s. */
  timeoutMillis?: number;
}

/**
 * Flushes the spans that ended, then asks Lemma for run `runId`'s signals. Rejects with a
 * `LemmaApiError` when Lemma refuses (404 while it has no span of the run) or cannot be reached.
 */
export async function runSignals(runId: string, options: SignalsOptions = {}): Promise<RunSignals> {
  // Never throws: what it cannot deliver (a server that is down) the request below reports.
  await flush();
  const { url, apiKey } = apiEndpoint(options);
  const { status, json, text } = await callApi({
    method: 'GET',
    url,
    path: `/api/v1/runs/${encodeURIComponent(runId)}/signals`,
    apiKey,
    timeoutMillis: options.timeoutMillis,
    doing: `read the signals of run ${runId}`,
    subject: `the signals of run ${runId}`,
  });
  const answer = readAnswer(json);
  if (!answer) {
    throw new LemmaApiError(
      `unexpected answer from Lemma at ${url} to a run's signals (HTTP ${status}): ${text.slice(0, 200)}`,
      status,
    );
  }
  return answer;
}

/** Lemma's answer in the SDK's shape, or undefined when it is not one. */
function readAnswer(json: unknown): RunSignals | undefined {
  const answer = json as Record<string, unknown> | undefined;
  if (typeof answer?.['run_id'] !== 'string' || typeof answer['in_progress'] !== 'boolean') return undefined;
  const listed = answer['signals'];
  if (!Array.isArray(listed)) return undefined;
  const signals = listed.map((raw: Record<string, unknown>): Signal => {
    const signal: Signal = {
      kind: String(raw['kind']),
      severity: (raw['severity'] ?? 'warning') as SignalSeverity,
      source: (raw['source'] ?? 'rule') as SignalSource,
      explanation: String(raw['explanation'] ?? ''),
      repeats: Number(raw['repeats'] ?? 0),
      firstToolIndex: Number(raw['first_tool_index'] ?? 0),
    };
    // Absent (or null) fields stay absent, as the server leaves them out.
    const optional: [keyof Signal, string][] = [
      ['spanId', 'span_id'],
      ['score', 'score'],
      ['label', 'label'],
      ['toolName', 'tool_name'],
      ['toolArgs', 'tool_args'],
      ['firstSpanId', 'first_span_id'],
    ];
    for (const [to, from] of optional) {
      if (raw[from] !== undefined && raw[from] !== null) (signal as unknown as Record<string, unknown>)[to] = raw[from];
    }
    return signal;
  });
  return {
    runId: answer['run_id'],
    inProgress: answer['in_progress'],
    spanCount: Number(answer['span_count'] ?? 0),
    evaluatedAt: String(answer['evaluated_at'] ?? ''),
    signals,
    critical: signals.filter((s) => s.severity === 'critical'),
  };
}
