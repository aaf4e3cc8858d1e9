// What the welcome page tells a new user to run, per SDK, for this server's URL. Pure data (no
// DOM) so the snippets can be checked by tests: each one must name this server and read the key
// from $LEMMA_API_KEY rather than embedding a secret in the page.

/** The environment variable every snippet reads the key from. */
export const KEY_VAR = 'LEMMA_API_KEY';

/**
 * The tabs of the welcome page for a server at `origin` (e.g. `http://127.0.0.1:4318`):
 * `[{id, label, blurb, variants: [{language, label, install, code, notes}]}]`.
 * A variant's `install` is a shell command, `code` a program in `language`.
 */
export function sdkTabs(origin) {
  const base = origin.replace(/\/+$/, '');
  const traces = `${base}/v1/traces`;
  return [
    {
      id: 'otel-python',
      label: 'OpenTelemetry Python',
      blurb: 'The official OpenTelemetry SDK with its OTLP/HTTP exporter. Lemma reads the GenAI semantic conventions, so spans named like these become runs, model calls and tool calls.',
      variants: [{
        language: 'python',
        label: 'Python',
        install: 'pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http',
        code: `import os

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

exporter = OTLPSpanExporter(
    endpoint="${traces}",
    headers={"Authorization": f"Bearer {os.environ['${KEY_VAR}']}"},
)
provider = TracerProvider(resource=Resource.create({"service.name": "my-agent"}))
provider.add_span_processor(BatchSpanProcessor(exporter))
trace.set_tracer_provider(provider)
tracer = trace.get_tracer("my-agent")

# One run: an agent span with a model call inside it.
with tracer.start_as_current_span("invoke_agent support_agent") as run:
    run.set_attribute("gen_ai.operation.name", "invoke_agent")
    run.set_attribute("gen_ai.agent.name", "support_agent")
    run.set_attribute("lemma.input", "Where is my order?")
    with tracer.start_as_current_span("chat gpt-4o-mini") as llm:
        llm.set_attribute("gen_ai.operation.name", "chat")
        llm.set_attribute("gen_ai.request.model", "gpt-4o-mini")
        llm.set_attribute("gen_ai.usage.input_tokens", 42)
        llm.set_attribute("gen_ai.usage.output_tokens", 18)
    run.set_attribute("lemma.output", "It ships on Friday.")

provider.shutdown()  # sends what is still buffered
`,
        notes: [
          ['Prefer configuration by environment? Set ', code(`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=${traces}`), ' and ',
            code(`OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer%20$${KEY_VAR}"`), ', then create ', code('OTLPSpanExporter()'), ' with no arguments.'],
        ],
      }],
    },
    {
      id: 'otel-js',
      label: 'OpenTelemetry JS',
      blurb: 'The official OpenTelemetry SDK for Node.js with the OTLP/HTTP (protobuf) exporter. Any instrumentation that writes GenAI spans, such as the Vercel AI SDK\'s telemetry, is picked up too.',
      variants: [{
        language: 'js',
        label: 'JavaScript',
        install: 'npm install @opentelemetry/sdk-node @opentelemetry/exporter-trace-otlp-proto @opentelemetry/api',
        code: `import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { trace } from '@opentelemetry/api';

const sdk = new NodeSDK({
  serviceName: 'my-agent',
  traceExporter: new OTLPTraceExporter({
    url: '${traces}',
    headers: { Authorization: \`Bearer \${process.env.${KEY_VAR}}\` },
  }),
});
sdk.start();
const tracer = trace.getTracer('my-agent');

// One run: an agent span with a model call inside it.
await tracer.startActiveSpan('invoke_agent support_agent', async (run) => {
  run.setAttributes({
    'gen_ai.operation.name': 'invoke_agent',
    'gen_ai.agent.name': 'support_agent',
    'lemma.input': 'Where is my order?',
  });
  tracer.startActiveSpan('chat gpt-4o-mini', (llm) => {
    llm.setAttributes({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': 42,
      'gen_ai.usage.output_tokens': 18,
    });
    llm.end();
  });
  run.setAttribute('lemma.output', 'It ships on Friday.');
  run.end();
});

await sdk.shutdown(); // sends what is still buffered
`,
        notes: [
          ['Vercel AI SDK: pass ', code("experimental_telemetry: { isEnabled: true, functionId: 'my-agent' }"), ' to its calls (v4–v6), or register ', code('@ai-sdk/otel'), ' (v7), with the SDK above.'],
        ],
      }],
    },
    {
      id: 'openinference',
      label: 'OpenInference',
      blurb: 'Arize\'s OpenInference instrumentors trace a library for you. Give them a tracer provider that exports to Lemma; here, every OpenAI call with its messages, tools and tokens.',
      variants: [{
        language: 'python',
        label: 'Python',
        install: 'pip install openinference-instrumentation-openai openai opentelemetry-sdk opentelemetry-exporter-otlp-proto-http',
        code: `import os

from openai import OpenAI
from openinference.instrumentation.openai import OpenAIInstrumentor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

provider = TracerProvider()
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(
    endpoint="${traces}",
    headers={"Authorization": f"Bearer {os.environ['${KEY_VAR}']}"},
)))
OpenAIInstrumentor().instrument(tracer_provider=provider)

# From here on, every OpenAI call is traced.
client = OpenAI()
reply = client.chat.completions.create(
    model="gpt-4o-mini",
    messages=[{"role": "user", "content": "Where is my order?"}],
)
print(reply.choices[0].message.content)

provider.shutdown()
`,
        notes: [
          ['The other instrumentors (Anthropic, LangChain, LlamaIndex, the OpenAI Agents SDK…) take the same ', code('tracer_provider'), '.'],
        ],
      }],
    },
    {
      id: 'langfuse',
      label: 'Langfuse SDK',
      blurb: 'Already instrumented with Langfuse? Point its SDK at Lemma: it posts to /api/public/otel with Basic auth, the key\'s public half as the user name and the key itself as the password.',
      variants: [
        {
          language: 'python',
          label: 'Python',
          install: 'pip install langfuse',
          code: `import os

from langfuse import Langfuse

langfuse = Langfuse(
    base_url="${base}",  # the SDK posts to ${base}/api/public/otel
    public_key="pk-lm-...",  # the PUBLIC KEY column of \`lemma keys list\`
    secret_key=os.environ["${KEY_VAR}"],
)

with langfuse.start_as_current_observation(
    as_type="agent", name="support_agent", input={"question": "Where is my order?"}
) as run:
    with langfuse.start_as_current_observation(as_type="generation", name="chat") as llm:
        llm.update(model="gpt-4o-mini", output="It ships on Friday.",
                   usage_details={"input": 42, "output": 18})
    run.update(output={"answer": "It ships on Friday."})

langfuse.shutdown()
`,
          notes: [
            ['The ', code('@observe()'), ' decorator and the ', code('langfuse.openai'), ' drop-in client work unchanged. With environment variables: ',
              code(`LANGFUSE_HOST=${base}`), ', ', code('LANGFUSE_PUBLIC_KEY=pk-lm-...'), ', ', code(`LANGFUSE_SECRET_KEY=$${KEY_VAR}`), '.'],
          ],
        },
        {
          language: 'js',
          label: 'TypeScript',
          install: 'npm install @langfuse/tracing @langfuse/otel @opentelemetry/sdk-trace-node',
          code: `import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { LangfuseSpanProcessor } from '@langfuse/otel';
import { startActiveObservation } from '@langfuse/tracing';

const provider = new NodeTracerProvider({
  spanProcessors: [
    new LangfuseSpanProcessor({
      baseUrl: '${base}', // posts to ${base}/api/public/otel
      publicKey: 'pk-lm-...', // the PUBLIC KEY column of \`lemma keys list\`
      secretKey: process.env.${KEY_VAR},
    }),
  ],
});
provider.register();

await startActiveObservation('support_agent', async (run) => {
  run.update({ input: { question: 'Where is my order?' } });
  // … generations, tools and retrievals nest under it
  run.update({ output: { answer: 'It ships on Friday.' } });
}, { asType: 'agent' });

await provider.shutdown();
`,
          notes: [],
        },
      ],
    },
    {
      id: 'lemma',
      label: 'Lemma SDK',
      blurb: 'Lemma\'s own SDKs are thin layers over OpenTelemetry: init() once, then wrap your agent. Runs get their agent name, input, output, thread and user without writing attributes by hand.',
      variants: [
        {
          language: 'python',
          label: 'Python',
          install: 'pip install ./sdk/python  # from a checkout of the Lemma repository: builds the wheel and installs it',
          code: `import lemma

lemma.init(url="${base}")  # reads the key from $${KEY_VAR}


@lemma.agent("support_agent")
def support(question: str) -> str:
    # model and tool calls made here nest under the run
    return "It ships on Friday."


support("Where is my order?")
lemma.shutdown()  # sends what is still buffered
`,
          notes: [
            ['More in ', code('sdk/python'), ' of the Lemma repository: threads and users, tool, model and retrieval helpers, streaming, cross-process runs.'],
          ],
        },
        {
          language: 'ts',
          label: 'TypeScript',
          install: 'npm ci --prefix ./sdk/typescript && npm pack ./sdk/typescript && npm install ./lemma-sdk-*.tgz  # from a checkout of the Lemma repository',
          code: `import { agent, init, shutdown } from '@lemma/sdk';

init({ url: '${base}' }); // reads the key from process.env.${KEY_VAR}

const support = agent('support_agent', async (question: string) => {
  // model and tool calls made here nest under the run
  return 'It ships on Friday.';
});

await support('Where is my order?');
await shutdown(); // sends what is still buffered
`,
          notes: [
            ['More in ', code('sdk/typescript'), ' of the Lemma repository: threads and users, tool, model and retrieval helpers, streaming, cross-process runs.'],
          ],
        },
      ],
    },
  ];
}

/** The command that loads sample runs into this server. */
export function demoCommand(origin) {
  return `lemma demo --url ${origin.replace(/\/+$/, '')} --key $${KEY_VAR}`;
}

/** Where OTLP goes, for the connection details. */
export function endpoints(origin) {
  const base = origin.replace(/\/+$/, '');
  return {
    traces: `${base}/v1/traces`,
    logs: `${base}/v1/logs`,
    langfuse: `${base}/api/public/otel`,
    header: `Authorization: Bearer $${KEY_VAR}`,
  };
}

/** Inline code in a note: `{code: text}` (the view renders it as <code>). */
function code(text) {
  return { code: text };
}
