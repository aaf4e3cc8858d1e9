/**
 * Experiments: an agent run over every case of a dataset, each answer scored, and the runs
 * linked to their cases, so that Lemma compares experiments case by case (`compare()`).
 *
 * Datasets and experiments are kept by Lemma (`/api/v1/datasets`, `/api/v1/experiments`); the
 * cases run here, each as a traced run of its own, and each score is posted as a metric event on
 * its run (`source` "experiment"), where Lemma's comparison reads it.
 */
import { ROOT_CONTEXT, context } from '@opentelemetry/api';

import { startAgent } from './agent.js';
import { describeError } from './handles.js';
import { LemmaApiError, apiEndpoint, callApi, metric, type ApiCall } from './metrics.js';
import { canonical, type Case, type ScoreValue, type Scorer } from './scorers.js';
import { ensureGlobals, flush } from './setup.js';

/** A case to keep in a dataset: its `id` is assigned by Lemma (`case-<n>`) when left out. */
export interface CaseInput {
  id?: string;
  input: unknown;
  expected?: unknown;
  metadata?: Record<string, unknown>;
  tags?: string[];
}

/** Where Lemma is, for the calls of `experiment()` and `compare()`. */
export interface ExperimentApiOptions {
  /** Lemma's URL; default the one given to `init()`, else `LEMMA_URL`. */
  url?: string;
  /** The API key; default the one given to `init()`, else `LEMMA_API_KEY`. */
  apiKey?: string;
  /** How long each request may take; default 10 s. */
  timeoutMillis?: number;
}

export interface ExperimentOptions<O> extends ExperimentApiOptions {
  /**
   * A dataset's name (its latest version, or `datasetVersion`), or its cases, kept under
   * `datasetName`: created, or given a new version when its latest has other cases.
   */
  dataset: string | CaseInput[];
  /** The name the cases of `dataset` are kept under. */
  datasetName?: string;
  /** With a dataset's name, the version to run (default: the latest). */
  datasetVersion?: number;
  /**
   * Answers one case. It runs inside a run of its own (`agent()`, named `agentName`, by default
   * the function's name) whose input is the case's, output what it returns, and metadata
   * `case_id` and `experiment`. A throw fails the run and is recorded; the other cases go on.
   */
  agent: (testCase: Case) => O | Promise<O>;
  /** Scorers (see `scorers`), named by their function name, or an object of them by name. */
  scorers?: Scorer[] | Record<string, Scorer>;
  /** The experiment's name; default `<dataset>-<UTC time>`. */
  name?: string;
  description?: string;
  /** What was tried, e.g. `{ model: 'gpt-4o-mini' }`. */
  metadata?: Record<string, unknown>;
  /** Cases run at once; default 4. */
  concurrency?: number;
  /** The name of each case's run; default the agent function's name. */
  agentName?: string;
}

/** How the agent did on one case. */
export interface CaseResult<O = unknown> {
  caseId: string;
  /** The run that answered it (its agent span's trace id). */
  runId: string;
  input: unknown;
  expected?: unknown;
  /** What the agent returned; `undefined` when it threw. */
  output: O | undefined;
  /** The agent's error (`"TypeName: message"`), when it threw. */
  error?: string;
  /** Each score recorded on the run, by scorer name. */
  scores: Record<string, ScoreValue>;
  /** The scorers that threw (or whose score Lemma refused), and why: nothing was recorded. */
  scoreErrors: Record<string, string>;
}

/** What `experiment()` did: the experiment, each case's run and scores. */
export interface ExperimentResult<O = unknown> {
  name: string;
  dataset: string;
  datasetVersion: number;
  /** In the dataset's order. */
  cases: CaseResult<O>[];
  /** Each score's mean over the cases that have it (booleans as 1 and 0). */
  scores: Record<string, number>;
  /** The cases whose agent threw. */
  failed: CaseResult<O>[];
  /** The experiment over the same dataset made just before this one, if any. */
  previous?: string;
  /** `{url}/api/v1/compare?experiments=<previous>,<name>`, when there is a previous one. */
  compareUrl?: string;
  /** `{url}/api/v1/experiments/<name>`: the experiment and its linked runs. */
  url: string;
  /** This experiment compared with `baseline` (default: `previous`), the baseline first. */
  compare(baseline?: string, options?: CompareOptions): Promise<Comparison>;
}

/** One experiment's totals in a comparison, as Lemma answers it. */
export interface ExperimentTotals {
  name: string;
  dataset: string;
  dataset_version: number;
  /** Cases with a run. */
  answered: number;
  failed: number;
  p50_duration_ms: number | null;
  mean_duration_ms: number | null;
  total_tokens: number;
  cost_usd: number | null;
  /** Each score's mean over the cases that have it. */
  scores: Record<string, number>;
}

/** One score across the compared experiments. */
export interface ScoreDelta {
  name: string;
  /** Per experiment, in order; `null` where no case has it. */
  means: (number | null)[];
  /** The last experiment's mean minus the baseline's. */
  delta: number | null;
}

/** A case's run in one experiment of a comparison. */
export interface ComparedRun {
  run_id: string;
  /** `null` until the run's spans arrived. */
  status: 'ok' | 'error' | 'unset' | null;
  output?: unknown;
  duration_ms: number | null;
  total_tokens: number;
  cost_usd: number | null;
  /** Each metric event's latest value, by name. */
  scores: Record<string, unknown>;
}

/** One case across the compared experiments. */
export interface ComparedCase {
  case_id: string;
  input?: unknown;
  expected?: unknown;
  /** Per experiment, in order; `null` where the case was not run. */
  results: (ComparedRun | null)[];
  /** Its status, output or scores differ between experiments. */
  changed: boolean;
  /** It is worse in some experiment than in the baseline. */
  regression: boolean;
  /** Why it is a regression, for a person (empty when it is not one). */
  reasons: string[];
}

/** Experiments side by side, case by case, as Lemma answers `GET /api/v1/compare`. */
export interface Comparison {
  /** In the order asked; the first is the baseline. */
  experiments: ExperimentTotals[];
  scores: ScoreDelta[];
  cases: ComparedCase[];
  /** Cases worse in any experiment than in the baseline: a CI gate checks it is 0. */
  regressions: number;
  /** Cases whose status, output or scores differ. */
  changed: number;
}

export interface CompareOptions extends ExperimentApiOptions {
  /** Only the cases whose results differ. */
  changed?: boolean;
}

/** Metric names, as Lemma checks them: scorer names become metric names. */
const METRIC_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;
/** Links per request: a dataset may hold 100,000 cases. */
const LINK_BATCH = 1000;

/**
 * Experiments compared case by case (`GET /api/v1/compare`), the first being the baseline:
 * totals, score deltas, each case's run in each, and the regressions (cases that failed, or
 * whose scores fell, compared with the baseline). For a CI gate:
 *
 * ```ts
 * const report = await compare(['support-qa-main', 'support-qa-pr-42']);
 * if (report.regressions > 0) process.exit(1);
 * ```
 *
 * Rejects with a `LemmaApiError` for an unknown experiment (404) or fewer than two (400), or
 * when Lemma cannot be reached.
 */
export async function compare(experiments: string[], options: CompareOptions = {}): Promise<Comparison> {
  const api = new Api(options);
  const query = new URLSearchParams({ experiments: experiments.join(',') });
  if (options.changed) query.set('changed', 'true');
  const json = await api.call('GET', `/api/v1/compare?${query}`, undefined, `the comparison of ${experiments.join(', ')}`);
  const answer = json as Partial<Comparison> | undefined;
  if (!Array.isArray(answer?.experiments) || !Array.isArray(answer.cases) || !Array.isArray(answer.scores)) {
    throw new LemmaApiError(`unexpected answer from Lemma to a comparison: ${JSON.stringify(json).slice(0, 200)}`, 200);
  }
  // Lemma leaves `reasons` out when there are none.
  for (const c of answer.cases) c.reasons ??= [];
  return answer as Comparison;
}

/**
 * Runs `agent(testCase)` on every case of a dataset, scores each answer, and records it all in
 * Lemma as an experiment that `compare()` can set against another:
 *
 * ```ts
 * const result = await experiment({
 *   dataset: 'support-qa', // a dataset Lemma has (its latest version)
 *   agent: async (testCase) => support(testCase.input as string),
 *   scorers: [scorers.exactMatch(), scorers.contains('refund')],
 * });
 * ```
 *
 * Each score is posted as a metric event on the case's run (`source` "experiment"); a scorer
 * giving nothing records none; a scorer that throws is reported in `scoreErrors`. After a
 * failed case the scorers get `undefined` as the output. Every span is flushed before it
 * resolves.
 *
 * Rejects with a `LemmaApiError` when Lemma refuses the dataset (400, naming the first bad case),
 * has no such dataset (404), already has an experiment of that name (409), or cannot be reached;
 * with a `TypeError` for bad options.
 */
export async function experiment<O>(options: ExperimentOptions<O>): Promise<ExperimentResult<O>> {
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new TypeError(`concurrency must be a whole number of at least 1, not ${concurrency}`);
  }
  const named = namedScorers(options.scorers ?? []);
  ensureGlobals();
  const api = new Api(options);
  const version = await datasetVersion(api, options);
  const name = options.name ?? `${version.name}-${utcStamp()}`;
  const listedPath = `/api/v1/experiments?dataset=${encodeURIComponent(version.name)}`;
  const listed = (await api.call('GET', listedPath, undefined, 'the experiments')) as
    | { experiments?: { name?: unknown }[] }
    | undefined;
  const previous = listed?.experiments?.map((e) => String(e.name)).find((n) => n !== name);
  await api.call(
    'POST',
    '/api/v1/experiments',
    {
      name,
      dataset: version.name,
      dataset_version: version.version,
      ...(options.description ? { description: options.description } : {}),
      ...(options.metadata ? { metadata: options.metadata } : {}),
    },
    `experiment ${JSON.stringify(name)}`,
  );

  const runCase = caseRunner(api, options, name, named);
  const results: CaseResult<O>[] = new Array(version.cases.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < version.cases.length) {
      const index = next++;
      results[index] = await runCase(version.cases[index] as Case);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, version.cases.length) }, worker));

  const links = results.map((r) => ({ case_id: r.caseId, run_id: r.runId }));
  for (let start = 0; start < links.length; start += LINK_BATCH) {
    await api.call(
      'POST',
      `/api/v1/experiments/${encodeURIComponent(name)}/runs`,
      { runs: links.slice(start, start + LINK_BATCH) },
      `the runs of experiment ${JSON.stringify(name)}`,
    );
  }
  // The comparison reads each run's status and output from its spans.
  await flush();
  const base = api.url;
  return {
    name,
    dataset: version.name,
    datasetVersion: version.version,
    cases: results,
    scores: means(results),
    failed: results.filter((r) => r.error !== undefined),
    ...(previous !== undefined
      ? {
          previous,
          compareUrl: `${base}/api/v1/compare?experiments=${encodeURIComponent(previous)},${encodeURIComponent(name)}`,
        }
      : {}),
    url: `${base}/api/v1/experiments/${encodeURIComponent(name)}`,
    compare(baseline?: string, compareOptions: CompareOptions = {}): Promise<Comparison> {
      const against = baseline ?? previous;
      if (against === undefined) {
        const what = `no experiment over dataset ${JSON.stringify(version.name)} came before ${JSON.stringify(name)}`;
        return Promise.reject(new TypeError(`${what}: name the baseline to compare with`));
      }
      return compare([against, name], { ...api.options, ...compareOptions });
    },
  };
}

/** Runs one case in a run of its own, then scores it; never rejects for the agent or a scorer. */
function caseRunner<O>(
  api: Api,
  options: ExperimentOptions<O>,
  experimentName: string,
  named: [string, Scorer][],
): (testCase: Case) => Promise<CaseResult<O>> {
  const agentName = options.agentName ?? (options.agent.name || 'experiment_agent');
  return async (testCase) => {
    // A run of its own, even when the experiment is started inside another run.
    const run = context.with(ROOT_CONTEXT, () =>
      startAgent(
        {
          name: agentName,
          metadata: { case_id: testCase.id, experiment: experimentName },
          ...(testCase.tags?.length ? { tags: testCase.tags } : {}),
        },
        testCase.input,
      ),
    );
    if (/^0+$/.test(run.runId)) {
      throw new Error('experiment() records each case as a run: call init() first');
    }
    let output: O | undefined;
    let error: string | undefined;
    try {
      output = await run.with(() => options.agent(testCase));
      run.complete(output);
    } catch (thrown) {
      output = undefined;
      const { type, message } = describeError(thrown);
      error = message ? `${type}: ${message}` : type;
      run.fail(thrown);
    }

    const scores: Record<string, ScoreValue> = {};
    const scoreErrors: Record<string, string> = {};
    for (const [name, score] of named) {
      let value: unknown;
      try {
        value = await context.with(ROOT_CONTEXT, () => score(output, testCase));
      } catch (thrown) {
        const { type, message } = describeError(thrown);
        scoreErrors[name] = message ? `${type}: ${message}` : type;
        continue;
      }
      if (value === undefined || value === null) continue;
      if (typeof value !== 'boolean' && !(typeof value === 'number' && Number.isFinite(value))) {
        scoreErrors[name] = `gave ${JSON.stringify(value) ?? String(value)}: a score is a finite number, a boolean or nothing`;
        continue;
      }
      try {
        await metric(run.runId, name, value, { source: 'experiment', ...api.options });
        scores[name] = value;
      } catch (thrown) {
        scoreErrors[name] = `not recorded: ${thrown instanceof Error ? thrown.message : String(thrown)}`;
      }
    }
    return {
      caseId: testCase.id,
      runId: run.runId,
      input: testCase.input,
      ...(testCase.expected !== undefined ? { expected: testCase.expected } : {}),
      output,
      ...(error !== undefined ? { error } : {}),
      scores,
      scoreErrors,
    };
  };
}

/** A dataset version as Lemma answers it. */
interface DatasetVersion {
  name: string;
  description?: string;
  version: number;
  cases: Case[];
}

/** The dataset version to run, as Lemma has it (cases with their ids). */
async function datasetVersion<O>(api: Api, options: ExperimentOptions<O>): Promise<DatasetVersion> {
  const { dataset } = options;
  if (typeof dataset === 'string') {
    if (options.datasetName !== undefined && options.datasetName !== dataset) {
      throw new TypeError('datasetName is for a list of cases; dataset already names one');
    }
    const query = options.datasetVersion !== undefined ? `?version=${options.datasetVersion}` : '';
    try {
      const path = `/api/v1/datasets/${encodeURIComponent(dataset)}${query}`;
      return asVersion(await api.call('GET', path, undefined, `dataset ${JSON.stringify(dataset)}`));
    } catch (error) {
      if (!(error instanceof LemmaApiError) || error.status !== 404) throw error;
      const which = JSON.stringify(dataset) + (options.datasetVersion !== undefined ? ` version ${options.datasetVersion}` : '');
      throw new LemmaApiError(
        `Lemma has no dataset ${which}: create it (POST /api/v1/datasets), or pass its cases with datasetName`,
        404,
        error.code,
      );
    }
  }
  if (options.datasetVersion !== undefined) {
    throw new TypeError("datasetVersion is for a dataset's name, not a list of cases");
  }
  if (!options.datasetName) throw new TypeError('name the dataset the cases are kept as: datasetName');
  return keepCases(api, options.datasetName, dataset);
}

/**
 * Dataset `name` holding exactly `cases`: made, or its latest version when that has these cases
 * already (a script run again adds no version), else a new version.
 */
async function keepCases(api: Api, name: string, cases: CaseInput[]): Promise<DatasetVersion> {
  const subject = `dataset ${JSON.stringify(name)}`;
  try {
    return asVersion(await api.call('POST', '/api/v1/datasets', { name, cases }, subject));
  } catch (error) {
    if (!(error instanceof LemmaApiError) || error.status !== 409) throw error;
  }
  const path = `/api/v1/datasets/${encodeURIComponent(name)}`;
  const latest = asVersion(await api.call('GET', path, undefined, subject));
  if (sameCases(latest.cases, cases)) return latest;
  // A new version keeps the dataset's description.
  const body = { cases, expected_version: latest.version, description: latest.description ?? '' };
  return asVersion(await api.call('PUT', path, body, subject));
}

/** Whether Lemma's cases are the given ones (ids only compared where given). */
function sameCases(stored: Case[], given: CaseInput[]): boolean {
  if (stored.length !== given.length) return false;
  return given.every((want, i) => {
    const have = stored[i] as Case;
    return (
      (!want.id || want.id === have.id) &&
      canonical(have.input) === canonical(want.input) &&
      canonical(have.expected) === canonical(want.expected) &&
      canonical(have.metadata ?? {}) === canonical(want.metadata ?? {}) &&
      canonical(have.tags ?? []) === canonical(want.tags ?? [])
    );
  });
}

function asVersion(json: unknown): DatasetVersion {
  const v = json as Partial<DatasetVersion> | undefined;
  if (typeof v?.name !== 'string' || typeof v.version !== 'number' || !Array.isArray(v.cases)) {
    throw new LemmaApiError(`unexpected answer from Lemma for a dataset: ${JSON.stringify(json)?.slice(0, 200)}`, 200);
  }
  return v as DatasetVersion;
}

/** Lemma's REST API at the URL and key given, else `init()`'s, else the environment's. */
class Api {
  readonly url: string;
  readonly options: ExperimentApiOptions;
  private readonly apiKey: string | undefined;

  constructor(options: ExperimentApiOptions) {
    const { url, apiKey } = apiEndpoint(options);
    this.url = url;
    this.apiKey = apiKey;
    this.options = {
      url,
      ...(apiKey !== undefined ? { apiKey } : {}),
      ...(options.timeoutMillis !== undefined ? { timeoutMillis: options.timeoutMillis } : {}),
    };
  }

  async call(method: ApiCall['method'], path: string, body: unknown, subject: string): Promise<unknown> {
    const { json } = await callApi({
      method,
      url: this.url,
      path,
      apiKey: this.apiKey,
      ...(body !== undefined ? { body } : {}),
      timeoutMillis: this.options.timeoutMillis,
      doing: `${method === 'GET' ? 'read' : 'write'} ${subject}`,
      subject,
    });
    return json;
  }
}

function namedScorers(given: Scorer[] | Record<string, Scorer>): [string, Scorer][] {
  const pairs: [string, Scorer][] = Array.isArray(given) ? given.map((s) => [s.name, s]) : Object.entries(given);
  const seen = new Set<string>();
  for (const [name, score] of pairs) {
    if (typeof score !== 'function') throw new TypeError(`scorer ${JSON.stringify(name)} is not a function`);
    if (!METRIC_NAME.test(name)) {
      throw new TypeError(
        `a scorer's name is a metric name (1-128 letters, digits, '_', '-', '.' or ':'), not ${JSON.stringify(name)}: ` +
          "name it with scorer('name', fn), or pass scorers as { name: fn }",
      );
    }
    if (seen.has(name)) throw new TypeError(`two scorers are named ${JSON.stringify(name)}`);
    seen.add(name);
  }
  return pairs;
}

function means(results: CaseResult<unknown>[]): Record<string, number> {
  const sums = new Map<string, number[]>();
  for (const r of results) {
    for (const [name, value] of Object.entries(r.scores)) {
      const list = sums.get(name) ?? [];
      list.push(Number(value));
      sums.set(name, list);
    }
  }
  const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
  return Object.fromEntries(
    [...sums.keys()].sort().map((name) => [name, mean(sums.get(name) as number[])]),
  );
}

/** The time as a name may hold it: `20260301T101502.123Z`. */
function utcStamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '');
}
