//! Writes an agent run as GenAI spans: the scenarios say what the user asked, which tools the
//! model called with what, and what it answered; this keeps the conversation history, the
//! message JSON, token counts and durations consistent with that.

use rand::distr::{Alphanumeric, SampleString};
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};

use super::spec::{Exception, Failure, SpanSpec};

/// A chat model as the provider reports it.
#[derive(Debug, Clone, Copy)]
pub struct Model {
    pub name: &'static str,
    /// What the provider answers in `response.model` (a dated snapshot).
    pub snapshot: &'static str,
    pub provider: &'static str,
    /// Generation speed, for believable durations.
    pub ms_per_output_token: u64,
    /// Whether the provider caches the prompt prefix (Anthropic's prompt caching).
    pub caches_prompt: bool,
}

pub const GPT_4O: Model = Model {
    name: "gpt-4o",
    snapshot: "gpt-4o-2024-08-06",
    provider: "openai",
    ms_per_output_token: 12,
    caches_prompt: false,
};
pub const GPT_4O_MINI: Model = Model {
    name: "gpt-4o-mini",
    snapshot: "gpt-4o-mini-2024-07-18",
    provider: "openai",
    ms_per_output_token: 7,
    caches_prompt: false,
};
pub const GPT_4_1_MINI: Model = Model {
    name: "gpt-4.1-mini",
    snapshot: "gpt-4.1-mini-2025-04-14",
    provider: "openai",
    ms_per_output_token: 8,
    caches_prompt: false,
};
pub const CLAUDE_SONNET_4_5: Model = Model {
    name: "claude-sonnet-4-5",
    snapshot: "claude-sonnet-4-5-20250929",
    provider: "anthropic",
    ms_per_output_token: 14,
    caches_prompt: true,
};
pub const CLAUDE_HAIKU_4_5: Model = Model {
    name: "claude-haiku-4-5",
    snapshot: "claude-haiku-4-5-20251001",
    provider: "anthropic",
    ms_per_output_token: 6,
    caches_prompt: true,
};

const EMBEDDING_MODEL: &str = "text-embedding-3-small";

/// One tool call the model makes, and what the tool does with it.
pub struct Call {
    name: &'static str,
    args: Value,
    result: Value,
    ms: u64,
    sub_agent: Option<SpanSpec>,
    raises: Option<Exception>,
}

pub fn call(name: &'static str, args: Value, result: Value, ms: u64) -> Call {
    Call {
        name,
        args,
        result,
        ms,
        sub_agent: None,
        raises: None,
    }
}

impl Call {
    /// The tool hands the work to another agent, whose run nests under the tool span.
    pub fn via(mut self, sub_agent: SpanSpec) -> Call {
        self.sub_agent = Some(sub_agent);
        self
    }

    /// The tool fails with this exception instead of returning.
    pub fn raising(mut self, kind: &str, message: &str, stacktrace: &str) -> Call {
        self.raises = Some(Exception {
            kind: kind.into(),
            message: message.into(),
            stacktrace: stacktrace.into(),
        });
        self
    }
}

/// Who a run is for and where it ran; set on the agent's root span.
#[derive(Default)]
pub struct Context {
    pub user: Option<&'static str>,
    pub thread: Option<String>,
    pub environment: Option<&'static str>,
    pub tags: Vec<&'static str>,
    pub metadata: Vec<(&'static str, &'static str)>,
}

/// One agent run being written.
pub struct Agent<'r> {
    rng: &'r mut StdRng,
    name: &'static str,
    model: Model,
    system: String,
    /// Knowledge retrieved during this run, given to the model after the system prompt.
    context: Vec<String>,
    history: Vec<Value>,
    /// Send only the first user message and this many recent ones (long sessions).
    window: Option<usize>,
    spans: Vec<SpanSpec>,
    model_calls: usize,
    input: Option<String>,
    output: Option<String>,
    failure: Option<Failure>,
}

/// Tokens of tool definitions sent with every call.
const TOOL_SCHEMA_TOKENS: u64 = 420;

impl<'r> Agent<'r> {
    pub fn new(rng: &'r mut StdRng, name: &'static str, model: Model, system: &str) -> Agent<'r> {
        Agent {
            rng,
            name,
            model,
            system: system.to_string(),
            context: Vec::new(),
            history: Vec::new(),
            window: None,
            spans: Vec::new(),
            model_calls: 0,
            input: None,
            output: None,
            failure: None,
        }
    }

    /// Continues a conversation: earlier turns are sent to the model again.
    pub fn with_history(mut self, history: Vec<Value>) -> Agent<'r> {
        self.history = history;
        self
    }

    pub fn with_window(mut self, recent: usize) -> Agent<'r> {
        self.window = Some(recent);
        self
    }

    /// The content choices' random source, for scenarios that vary their steps.
    pub fn rng(&mut self) -> &mut StdRng {
        self.rng
    }

    pub fn span_count(&self) -> usize {
        1 + self.spans.iter().map(SpanSpec::count).sum::<usize>()
    }

    /// The user's message; the first one of the run is its input.
    pub fn user(&mut self, text: &str) {
        self.input.get_or_insert_with(|| text.to_string());
        self.history.push(message("user", vec![text_part(text)]));
    }

    /// Embeds the query and searches `source`; the documents go to the model as context.
    pub fn retrieve(&mut self, source: &str, query: &str, documents: Value) {
        let mut embed = SpanSpec::new(format!("embeddings {EMBEDDING_MODEL}"), true, 0);
        embed.own_ms = self.jitter(160);
        embed
            .attr("gen_ai.operation.name", "embeddings")
            .attr("gen_ai.provider.name", "openai")
            .attr("gen_ai.request.model", EMBEDDING_MODEL)
            .attr("gen_ai.response.model", EMBEDDING_MODEL)
            .attr("gen_ai.usage.input_tokens", tokens(query))
            .attr("gen_ai.embeddings.dimension.count", 1536);
        let mut search = SpanSpec::new(format!("retrieval {source}"), true, 0);
        search.own_ms = self.jitter(70);
        search
            .attr("gen_ai.operation.name", "retrieval")
            .attr("gen_ai.data_source.id", source)
            .attr("gen_ai.request.top_k", 3)
            .attr("gen_ai.retrieval.query.text", query)
            .attr("gen_ai.retrieval.documents", documents.to_string());
        search.children.push(embed);
        let excerpts: Vec<String> = documents
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| format!("[{}] {}", result_text(&d["id"]), result_text(&d["content"])))
            .collect();
        self.context
            .push(format!("Retrieved from {source}:\n{}", excerpts.join("\n")));
        self.spans.push(search);
    }

    /// The model says `say` (may be empty) and calls these tools, which then run in order.
    pub fn act(&mut self, say: &str, calls: Vec<Call>) {
        let ids: Vec<String> = calls.iter().map(|_| self.tool_call_id()).collect();
        let mut parts = Vec::new();
        if !say.is_empty() {
            parts.push(text_part(say));
        }
        for (c, id) in calls.iter().zip(&ids) {
            parts.push(json!({"type": "tool_call", "id": id, "name": c.name, "arguments": c.args}));
        }
        let reply = output_message(parts, "tool_call");
        let span = self.chat(reply.clone());
        self.spans.push(span);
        self.history.push(without_finish_reason(reply));
        for (c, id) in calls.into_iter().zip(ids) {
            let span = self.tool(&c, &id);
            let failed = span.failure.clone();
            self.spans.push(span);
            if let Some(failure) = failed {
                self.failure = Some(Failure {
                    message: format!("tool {} failed: {}", c.name, failure.message),
                    exception: None,
                });
                return;
            }
            self.history.push(message(
                "tool",
                vec![json!({"type": "tool_call_response", "id": id, "response": c.result})],
            ));
        }
    }

    /// The model's final answer, the run's output.
    pub fn reply(&mut self, text: &str) {
        let reply = output_message(vec![text_part(text)], "stop");
        let span = self.chat(reply.clone());
        self.spans.push(span);
        self.history.push(without_finish_reason(reply));
        self.output = Some(text.to_string());
    }

    /// The root span, and the conversation so far (for the next turn of a thread).
    pub fn finish(self, ctx: &Context) -> (SpanSpec, Vec<Value>) {
        let mut root = SpanSpec::new(format!("invoke_agent {}", self.name), false, 0);
        root.own_ms = 40 + self.rng.random_range(0..60);
        root.attr("gen_ai.operation.name", "invoke_agent")
            .attr("gen_ai.agent.name", self.name)
            .attr("gen_ai.provider.name", self.model.provider)
            .attr("lemma.agent.name", self.name)
            .attr("ai.agent.input", self.input)
            .attr("ai.agent.output", self.output)
            .attr("lemma.user_id", ctx.user)
            .attr("lemma.thread_id", ctx.thread.clone())
            .attr("gen_ai.conversation.id", ctx.thread.clone())
            .attr("lemma.environment", ctx.environment);
        if !ctx.tags.is_empty() {
            root.attr("lemma.tags", ctx.tags.clone());
        }
        for (k, v) in &ctx.metadata {
            root.attr(&format!("lemma.metadata.{k}"), *v);
        }
        root.failure = self.failure;
        root.children = self.spans;
        (root, self.history)
    }

    fn chat(&mut self, reply: Value) -> SpanSpec {
        let sent = self.sent_messages();
        let system = self.system_instructions();
        let system_tokens = tokens(&system.to_string()) + TOOL_SCHEMA_TOKENS;
        let input_tokens = system_tokens + tokens(&sent.to_string());
        let output_tokens = tokens(&reply["parts"].to_string());
        let finish = reply["finish_reason"].clone();
        let mut span = SpanSpec::new(format!("chat {}", self.model.name), true, 0);
        span.own_ms =
            self.jitter(350 + input_tokens / 40 + output_tokens * self.model.ms_per_output_token);
        let cached = (self.model.caches_prompt && self.model_calls > 0).then_some(system_tokens);
        self.model_calls += 1;
        let response_id = self.response_id();
        span.attr("gen_ai.operation.name", "chat")
            .attr("gen_ai.provider.name", self.model.provider)
            .attr("gen_ai.request.model", self.model.name)
            .attr("gen_ai.response.model", self.model.snapshot)
            .attr("gen_ai.response.id", response_id)
            .attr("gen_ai.response.finish_reasons", vec![finish])
            .attr("gen_ai.request.temperature", 0.2)
            .attr("gen_ai.request.max_tokens", 4096)
            .attr("gen_ai.usage.input_tokens", input_tokens)
            .attr("gen_ai.usage.output_tokens", output_tokens)
            .attr("gen_ai.usage.cache_read.input_tokens", cached)
            .attr("gen_ai.system_instructions", system.to_string())
            .attr("gen_ai.input.messages", sent.to_string())
            .attr("gen_ai.output.messages", json!([reply]).to_string());
        span
    }

    fn tool(&mut self, c: &Call, id: &str) -> SpanSpec {
        let mut span = SpanSpec::new(format!("execute_tool {}", c.name), false, 0);
        span.own_ms = self.jitter(c.ms);
        span.attr("gen_ai.operation.name", "execute_tool")
            .attr("gen_ai.tool.name", c.name)
            .attr("gen_ai.tool.type", "function")
            .attr("gen_ai.tool.call.id", id)
            .attr("gen_ai.tool.call.arguments", c.args.to_string());
        match &c.raises {
            Some(e) => {
                span.attr("error.type", e.kind.as_str());
                span.failure = Some(Failure {
                    message: format!("{}: {}", short_name(&e.kind), e.message),
                    exception: Some(e.clone()),
                });
            }
            None => {
                span.attr("gen_ai.tool.call.result", result_text(&c.result));
            }
        }
        if let Some(sub) = &c.sub_agent {
            span.own_ms = span.own_ms.min(30);
            span.children.push(sub.clone());
        }
        span
    }

    fn system_instructions(&self) -> Value {
        let mut parts = vec![text_part(&self.system)];
        parts.extend(self.context.iter().map(|c| text_part(c)));
        Value::Array(parts)
    }

    /// The history as sent: whole, or the first user message and the most recent ones, not
    /// starting on a tool result whose call was cut off.
    fn sent_messages(&self) -> Value {
        let Some(recent) = self.window else {
            return Value::Array(self.history.clone());
        };
        if self.history.len() <= recent + 1 {
            return Value::Array(self.history.clone());
        }
        let mut from = self.history.len() - recent;
        while from < self.history.len() && self.history[from]["role"] == "tool" {
            from += 1;
        }
        let mut sent = vec![self.history[0].clone()];
        sent.extend_from_slice(&self.history[from..]);
        Value::Array(sent)
    }

    /// Around `ms`, ±25%.
    fn jitter(&mut self, ms: u64) -> u64 {
        let spread = ms / 4;
        ms - spread + self.rng.random_range(0..=spread * 2)
    }

    fn response_id(&self) -> String {
        match self.model.provider {
            "anthropic" => format!("msg_01{}", random_alnum(22)),
            _ => format!("chatcmpl-{}", random_alnum(29)),
        }
    }

    fn tool_call_id(&self) -> String {
        match self.model.provider {
            "anthropic" => format!("toolu_01{}", random_alnum(22)),
            _ => format!("call_{}", random_alnum(24)),
        }
    }
}

/// Ids differ on every invocation, unlike the content.
fn random_alnum(n: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), n)
}

fn text_part(text: &str) -> Value {
    json!({"type": "text", "content": text})
}

fn message(role: &str, parts: Vec<Value>) -> Value {
    json!({"role": role, "parts": parts})
}

fn output_message(parts: Vec<Value>, finish_reason: &str) -> Value {
    json!({"role": "assistant", "parts": parts, "finish_reason": finish_reason})
}

fn without_finish_reason(mut m: Value) -> Value {
    if let Some(o) = m.as_object_mut() {
        o.remove("finish_reason");
    }
    m
}

/// A tool's text result is sent as is, structured results as JSON.
fn result_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `payments.errors.InvalidRequestError` → `InvalidRequestError`.
fn short_name(kind: &str) -> &str {
    kind.rsplit('.').next().unwrap_or(kind)
}

/// Roughly four characters a token, as for English text and code.
pub fn tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn agent(rng: &mut StdRng) -> Agent<'_> {
        Agent::new(rng, "helper", GPT_4O, "Be brief.")
    }

    fn attr<'a>(s: &'a SpanSpec, key: &str) -> &'a Value {
        s.attribute(key)
            .unwrap_or_else(|| panic!("{} has no {key}", s.name))
    }

    fn parse(v: &Value) -> Value {
        serde_json::from_str(v.as_str().unwrap()).unwrap()
    }

    #[test]
    fn tool_loop_keeps_history_and_ids_consistent() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut a = agent(&mut rng);
        a.user("What is 2+2?");
        a.act(
            "Let me compute.",
            vec![call("add", json!({"a": 2, "b": 2}), json!({"sum": 4}), 10)],
        );
        a.reply("4.");
        let (root, history) = a.finish(&Context::default());
        let names: Vec<&str> = root.children.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["chat gpt-4o", "execute_tool add", "chat gpt-4o"]);
        assert_eq!(attr(&root, "ai.agent.input"), "What is 2+2?");
        assert_eq!(attr(&root, "ai.agent.output"), "4.");

        let first_out = parse(attr(&root.children[0], "gen_ai.output.messages"));
        let call_id = first_out[0]["parts"][1]["id"].as_str().unwrap();
        assert!(call_id.starts_with("call_"));
        assert_eq!(first_out[0]["finish_reason"], "tool_call");
        assert_eq!(attr(&root.children[1], "gen_ai.tool.call.id"), call_id);

        let second_in = parse(attr(&root.children[2], "gen_ai.input.messages"));
        assert_eq!(second_in.as_array().unwrap().len(), 3);
        assert_eq!(second_in[2]["parts"][0]["id"], call_id);
        assert_eq!(second_in[2]["parts"][0]["response"]["sum"], 4);
        assert_eq!(history.len(), 4);
        assert_ne!(
            attr(&root.children[0], "gen_ai.response.id"),
            attr(&root.children[2], "gen_ai.response.id")
        );
        let in0 = attr(&root.children[0], "gen_ai.usage.input_tokens").as_u64();
        let in2 = attr(&root.children[2], "gen_ai.usage.input_tokens").as_u64();
        assert!(in2 > in0, "the history grows");
    }

    #[test]
    fn a_raising_tool_fails_the_run_and_stops_it() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut a = agent(&mut rng);
        a.user("Refund me.");
        a.act(
            "",
            vec![
                call("refund", json!({}), Value::Null, 10).raising(
                    "billing.errors.Declined",
                    "card expired",
                    "Traceback ...",
                ),
                call("notify", json!({}), json!("sent"), 10),
            ],
        );
        let (root, _) = a.finish(&Context::default());
        assert_eq!(root.children.len(), 2, "the second call never runs");
        let tool = &root.children[1];
        let failure = tool.failure.as_ref().unwrap();
        assert_eq!(failure.message, "Declined: card expired");
        assert_eq!(
            failure.exception.as_ref().unwrap().kind,
            "billing.errors.Declined"
        );
        assert!(tool.attribute("gen_ai.tool.call.result").is_none());
        assert_eq!(
            root.failure.as_ref().unwrap().message,
            "tool refund failed: Declined: card expired"
        );
    }

    #[test]
    fn a_window_keeps_the_task_and_recent_messages() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut a = agent(&mut rng).with_window(4);
        a.user("Task.");
        for i in 0..5 {
            a.act("", vec![call("step", json!({"i": i}), json!("ok"), 5)]);
        }
        a.reply("Done.");
        let (root, _) = a.finish(&Context::default());
        let last = root.children.last().unwrap();
        let sent = parse(attr(last, "gen_ai.input.messages"));
        let sent = sent.as_array().unwrap();
        assert_eq!(sent[0]["parts"][0]["content"], "Task.");
        assert!(sent.len() <= 5);
        assert_ne!(sent[1]["role"], "tool");
    }

    #[test]
    fn anthropic_calls_read_the_cached_prompt_after_the_first() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut a = Agent::new(&mut rng, "coder", CLAUDE_SONNET_4_5, "Write code.");
        a.user("Fix it.");
        a.act(
            "",
            vec![call(
                "read_file",
                json!({"path": "a.py"}),
                json!("x = 1"),
                5,
            )],
        );
        a.reply("Fixed.");
        let (root, _) = a.finish(&Context::default());
        assert!(root.children[0]
            .attribute("gen_ai.usage.cache_read.input_tokens")
            .is_none());
        assert!(attr(&root.children[2], "gen_ai.usage.cache_read.input_tokens").as_u64() > Some(0));
        assert!(attr(&root.children[1], "gen_ai.tool.call.id")
            .as_str()
            .unwrap()
            .starts_with("toolu_01"));
    }

    #[test]
    fn context_lands_on_the_root() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut a = agent(&mut rng);
        a.user("Hi");
        a.reply("Hello!");
        let ctx = Context {
            user: Some("u-1"),
            thread: Some("t-1".into()),
            environment: Some("staging"),
            tags: vec!["canary"],
            metadata: vec![("channel", "web")],
        };
        let (root, _) = a.finish(&ctx);
        assert_eq!(root.name, "invoke_agent helper");
        assert_eq!(attr(&root, "lemma.thread_id"), "t-1");
        assert_eq!(attr(&root, "lemma.environment"), "staging");
        assert_eq!(attr(&root, "lemma.tags"), &json!(["canary"]));
        assert_eq!(attr(&root, "lemma.metadata.channel"), "web");
    }
}
