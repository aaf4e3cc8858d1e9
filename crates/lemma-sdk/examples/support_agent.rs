//! A small support agent traced into Lemma: retrieval, tool calls, model calls, a sub-agent,
//! a failing run, a streamed answer, and a worker process that continues the run.
//!
//! The "model" is a stand-in function so the example runs offline. Start a server, then:
//!
//! ```sh
//! cargo run --release -- serve                      # prints the API key on first start
//! LEMMA_API_KEY=<key> cargo run -p lemma-sdk --example support_agent
//! ```
//!
//! Each run's ID is printed; open `http://127.0.0.1:4318/runs/<id>` to see it.

use std::error::Error;
use std::time::Duration;

use lemma_sdk::{agent, llm, retrieval, tool, Config, LlmCall, Message};
use serde_json::{json, Value};

/// What a failing step returns.
#[derive(Debug)]
struct SupportError(String);

impl std::fmt::Display for SupportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for SupportError {}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    if std::env::args().nth(1).as_deref() == Some("--worker") {
        return refund_worker();
    }
    // LEMMA_URL (default http://127.0.0.1:4318) and LEMMA_API_KEY come from the environment.
    let lemma = lemma_sdk::init(Config::from_env().service_name("support-agent"))?;

    // One conversation: three runs sharing a thread id form one thread in Lemma.
    for question in [
        "Where is order 1042?",
        "Can I get a refund for order 1042?",
        "And order 9999?", // fails: the order does not exist
    ] {
        let (answer, run_id) = support(question, "conversation-42").await;
        match answer {
            Ok(answer) => println!("Q: {question}\nA: {answer}"),
            Err(error) => println!("Q: {question}\n!  {error}"),
        }
        println!("   run {run_id}\n");
    }

    // A streamed answer: the run stays open until the last chunk.
    let run = agent("support_agent")
        .input("Write a thank-you note")
        .thread_id("conversation-42")
        .start();
    let call = run.in_scope(|| {
        llm("support-model")
            .provider("example")
            .input_messages(&[Message::user("Write a thank-you note")])
            .start()
    });
    let mut note = String::new();
    for chunk in ["Thank you ", "for your ", "patience!"] {
        tokio::time::sleep(Duration::from_millis(150)).await; // tokens arriving
        print!("{chunk}");
        note.push_str(chunk);
    }
    println!();
    call.usage(12, 6);
    call.complete(&note);
    println!("   run {}\n", run.run_id());
    run.complete(&note);

    lemma.shutdown();
    Ok(())
}

/// One turn of the conversation.
async fn support(question: &str, thread: &str) -> (Result<String, SupportError>, lemma_sdk::RunId) {
    let question = question.to_string();
    agent("support_agent")
        .input(&question)
        .thread_id(thread)
        .user_id("customer-7")
        .tag("example")
        .metadata("channel", "chat")
        .run(|_run| async move {
            let policy = retrieval("help-center")
                .query(&question)
                .run(|_| async { Ok::<_, SupportError>(search_help_center(&question)) })
                .await?;
            let order_id = question
                .split_whitespace()
                .find_map(|w| w.trim_end_matches('?').parse::<u32>().ok())
                .ok_or_else(|| SupportError("no order number in the question".into()))?;
            let order = tool("lookup_order")
                .call_id(format!("call_{order_id}"))
                .arguments(&json!({ "order_id": order_id }))
                .run(|_| async move { lookup_order(order_id) })
                .await?;
            let refund = if question.contains("refund") {
                // Another process does refunds; it continues this run.
                tool("request_refund")
                    .arguments(&json!({ "order_id": order_id }))
                    .run(|_| async move { run_refund_worker(order_id).await })
                    .await?
            } else {
                Value::Null
            };
            let messages = vec![
                Message::system(format!("Policy: {policy}")),
                Message::user(question.clone()),
                Message::assistant("").with_tool_call(
                    format!("call_{order_id}"),
                    "lookup_order",
                    &json!({ "order_id": order_id }),
                ),
                Message::tool_result(format!("call_{order_id}"), &order),
            ];
            let draft = llm("support-model")
                .provider("example")
                .input_messages(&messages)
                .run(
                    |call| async move { Ok::<_, SupportError>(fake_model(&call, &order, &refund)) },
                )
                .await?;
            // A sub-agent reviews the draft.
            let (reviewed, _) = agent("tone_reviewer")
                .input(&draft)
                .run(|_| async move { Ok::<_, SupportError>(format!("{draft} Have a great day!")) })
                .await;
            reviewed
        })
        .await
}

fn search_help_center(query: &str) -> String {
    if query.contains("refund") {
        "Refunds are possible within 30 days of delivery.".into()
    } else {
        "Orders ship within 2 business days.".into()
    }
}

fn lookup_order(order_id: u32) -> Result<Value, SupportError> {
    match order_id {
        1042 => Ok(json!({ "order_id": 1042, "status": "shipped", "carrier": "UPS" })),
        _ => Err(SupportError(format!("order {order_id} not found"))),
    }
}

/// The stand-in for a model call: answers from the tool results and records what a real
/// integration would (output message, usage, finish reason).
fn fake_model(call: &LlmCall, order: &Value, refund: &Value) -> String {
    let answer = if refund.is_null() {
        format!(
            "Your order {} has {}.",
            order["order_id"],
            order["status"].as_str().unwrap_or("?")
        )
    } else {
        format!(
            "Your refund {} is approved.",
            refund["refund_id"].as_str().unwrap_or("?")
        )
    };
    call.output_messages(
        &json!({ "role": "assistant", "content": answer, "finish_reason": "stop" }),
    );
    call.usage(48, 14);
    call.finish_reasons(["stop"]);
    answer
}

/// Runs this example again as a worker process, handing it the current run.
async fn run_refund_worker(order_id: u32) -> Result<Value, SupportError> {
    let env = lemma_sdk::context_env(); // TRACEPARENT, TRACESTATE, BAGGAGE
    let exe = std::env::current_exe().map_err(|e| SupportError(e.to_string()))?;
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(exe)
            .args(["--worker", &order_id.to_string()])
            .envs(env)
            .output()
    })
    .await
    .map_err(|e| SupportError(e.to_string()))?
    .map_err(|e| SupportError(e.to_string()))?;
    if !output.status.success() {
        return Err(SupportError("the refund worker failed".into()));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| SupportError(e.to_string()))
}

/// The worker process: its agent nests under the caller's tool span, in the same run and
/// thread.
fn refund_worker() -> Result<(), Box<dyn Error>> {
    let lemma = lemma_sdk::init(Config::from_env().service_name("refund-worker"))?;
    let _continued = lemma_sdk::continue_from_env();
    let order_id: u32 = std::env::args().nth(2).unwrap_or_default().parse()?;
    let (refund, _) = agent("refund_worker")
        .input(&json!({ "order_id": order_id }))
        .run_sync(|_| {
            tool("issue_refund")
                .arguments(&json!({ "order_id": order_id, "amount": 25.0 }))
                .run_sync(|_| {
                    Ok::<_, SupportError>(json!({ "refund_id": format!("R-{order_id}") }))
                })
        });
    println!("{}", refund?);
    lemma.shutdown();
    Ok(())
}
