//! Alerts against a real `lemma serve` and real HTTP receivers: a rule on single runs fires
//! while the run is going and resolves when it ends, once per run; deliveries are signed,
//! retried while the receiver is down, and a receiver that hangs holds up nothing; window
//! rules fire and resolve; test sends; the history; bad rules get a clear 400.

use std::time::{Duration, Instant};

use crate::common;
use crate::signals::{agent, failed_tool, now, put, send, span, MS};

use common::otlp::hex;
use common::receiver::{Mode, Receiver};
use common::{client, Server, KEY};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

fn post(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    let resp = client()
        .post(server.url(path))
        .bearer_auth(KEY)
        .json(body)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

fn channel(server: &Server, name: &str, kind: &str, url: &str, secret: Option<&str>) -> String {
    let mut body = json!({"name": name, "kind": kind, "url": url});
    if let Some(s) = secret {
        body["secret"] = json!(s);
    }
    let (status, answer) = post(server, "/api/v1/alerts/channels", &body);
    assert_eq!(status, 201, "{answer}");
    assert!(
        answer["channel"].get("secret").is_none(),
        "secrets are never shown"
    );
    answer["channel"]["id"].as_str().unwrap().to_string()
}

fn rule(server: &Server, body: Value) -> String {
    let (status, answer) = post(server, "/api/v1/alerts/rules", &body);
    assert_eq!(status, 201, "{answer}");
    answer["rule"]["id"].as_str().unwrap().to_string()
}

fn verify(secret: &str, header: &str, body: &[u8]) {
    let (t, v1) = header
        .split_once(",v1=")
        .map(|(t, v)| (t.trim_start_matches("t="), v))
        .expect("t=..,v1=..");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, expected, "the signature covers the time and the body");
}

fn events(server: &Server, rule: &str) -> Vec<Value> {
    server.api(&format!("/api/v1/alerts/events?rule={rule}"))["events"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_rule_on_single_runs_fires_while_the_run_goes_and_resolves_when_it_ends() {
    let server = Server::start();
    let hooks = Receiver::start(Mode::Accept);
    let webhook = channel(
        &server,
        "ops",
        "webhook",
        &format!("{}/hook", hooks.url),
        Some("s3cret"),
    );
    let slack = channel(
        &server,
        "slack",
        "slack",
        &format!("{}/slack", hooks.url),
        None,
    );
    let open_rule = rule(
        &server,
        json!({"name": "critical while running", "query": "signal.severity:critical -has:root",
               "condition": {"type": "each_run"}, "channels": [webhook, slack]}),
    );

    // Three failed tool calls of a run still going: the rule fires within moments.
    let run = hex(&[0x61; 16]);
    let t = now() - 5_000 * MS;
    let acked = Instant::now();
    send(
        &server,
        KEY,
        (2..=4)
            .map(|i| failed_tool(0x61, i, t + u64::from(i) * MS))
            .collect(),
    );
    let got = hooks.wait(Duration::from_secs(10), |r| r.len() >= 2);
    assert_eq!(got.len(), 2, "one request per channel: {got:?}");
    let latency = got
        .iter()
        .map(|r| r.at.duration_since(acked))
        .max()
        .unwrap();
    eprintln!("alert delivered {latency:?} after the spans were acknowledged");
    assert!(latency < Duration::from_secs(4), "{latency:?}");

    let hook = got.iter().find(|r| r.path == "/hook").expect("webhook");
    assert_eq!(hook.body["type"], "alert.firing");
    assert_eq!(hook.body["project"], "default");
    assert_eq!(hook.body["event"]["rule_id"], open_rule);
    assert_eq!(hook.body["event"]["run_id"], run);
    assert_eq!(hook.body["run"]["in_progress"], true);
    assert_eq!(hook.body["signals"][0]["kind"], "error_streak");
    let id = hook.body["event"]["id"].as_str().unwrap();
    assert_eq!(hook.header("x-lemma-event-id"), Some(id));
    verify(
        "s3cret",
        hook.header("x-lemma-signature").expect("signed"),
        &hook.raw,
    );
    let text = got.iter().find(|r| r.path == "/slack").unwrap().body["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains("critical while running") && text.contains("error_streak"),
        "{text}"
    );
    assert!(got
        .iter()
        .find(|r| r.path == "/slack")
        .unwrap()
        .header("x-lemma-signature")
        .is_none());

    // More spans of the same run: no second notification.
    send(&server, KEY, vec![failed_tool(0x61, 5, t + 5 * MS)]);
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(hooks.received().len(), 2, "deduplicated");

    // The root arrives: the run no longer matches, and the rule resolves.
    send(&server, KEY, vec![agent(0x61, t, vec![])]);
    let got = hooks.wait(Duration::from_secs(10), |r| r.len() >= 4);
    let resolved = got
        .iter()
        .find(|r| r.path == "/hook" && r.body["type"] == "alert.resolved");
    let resolved = resolved.expect("resolved");
    assert_eq!(resolved.body["event"]["run_id"], run);
    assert_eq!(resolved.body["run"]["in_progress"], false);

    // The history: resolved then firing, each delivered to both channels.
    let history = hooks.wait(Duration::from_secs(5), |_| {
        events(&server, &open_rule).iter().all(|e| {
            e["deliveries"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["status"] == "delivered")
        })
    });
    assert!(!history.is_empty());
    let history = events(&server, &open_rule);
    let states: Vec<&str> = history
        .iter()
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["resolved", "firing"]);
    for e in &history {
        let deliveries = e["deliveries"].as_array().unwrap();
        assert_eq!(deliveries.len(), 2);
        for d in deliveries {
            assert_eq!(d["status"], "delivered", "{e}");
            assert_eq!(d["attempts"], 1);
            assert_eq!(d["response_status"], 200);
        }
    }
}

#[test]
fn deliveries_are_retried_while_the_receiver_is_down_and_a_hanging_one_holds_up_nothing() {
    let server = Server::start();
    let flaky = Receiver::start(Mode::FailFirst(2));
    let hanging = Receiver::start(Mode::Hang);
    let flaky_channel = channel(&server, "flaky", "webhook", &flaky.url, None);
    let hanging_channel = channel(&server, "hanging", "webhook", &hanging.url, None);
    let r = rule(
        &server,
        json!({"name": "any failure", "query": "signal:error_streak",
               "condition": {"type": "each_run"}, "channels": [flaky_channel, hanging_channel]}),
    );
    let t = now() - 5_000 * MS;
    send(
        &server,
        KEY,
        (2..=4)
            .map(|i| failed_tool(0x62, i, t + u64::from(i) * MS))
            .collect(),
    );

    // The hanging receiver has the request and never answers; ingest goes on unhindered.
    hanging.wait(Duration::from_secs(10), |r| !r.is_empty());
    let start = Instant::now();
    for seed in 0x70..0x80u8 {
        send(
            &server,
            KEY,
            (1..=50)
                .map(|i| span(seed, i, None, t + u64::from(i) * MS, vec![]))
                .collect(),
        );
    }
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "800 spans took {took:?} while a receiver hangs"
    );

    // 503, 503, then 200: delivered on the third attempt (after 1 s and 2 s).
    let got = flaky.wait(Duration::from_secs(15), |r| r.len() >= 3);
    assert_eq!(got.len(), 3);
    assert!(
        got.iter()
            .all(|g| g.body["event"]["id"] == got[0].body["event"]["id"]),
        "the same event"
    );
    assert!(got[1].at.duration_since(got[0].at) >= Duration::from_millis(900));
    let delivered = flaky.wait(Duration::from_secs(5), |_| {
        events(&server, &r)[0]["deliveries"][0]["status"] == "delivered"
    });
    assert!(!delivered.is_empty());
    let e = &events(&server, &r)[0];
    assert_eq!(e["deliveries"][0]["attempts"], 3, "{e}");
    assert_eq!(
        e["deliveries"][1]["status"], "pending",
        "still trying the hanging receiver: {e}"
    );
}

#[test]
fn window_rules_fire_and_resolve_and_test_sends_say_what_the_receiver_answered() {
    let server = Server::start();
    let hooks = Receiver::start(Mode::Accept);
    let ch = channel(&server, "ops", "webhook", &hooks.url, None);

    // Test sends: to a live receiver, and to an address where nothing listens.
    let (status, answer) = post(
        &server,
        &format!("/api/v1/alerts/channels/{ch}/test"),
        &json!({}),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["delivered"], true);
    assert_eq!(answer["status"], 200);
    let test = hooks.wait(Duration::from_secs(5), |r| !r.is_empty());
    assert_eq!(test[0].body["test"], true);
    let dead = channel(
        &server,
        "dead",
        "webhook",
        &format!("http://{}", common::free_addr()),
        None,
    );
    let (_, answer) = post(
        &server,
        &format!("/api/v1/alerts/channels/{dead}/test"),
        &json!({}),
    );
    assert_eq!(answer["delivered"], false);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("could not reach"),
        "{answer}"
    );

    // Two failed runs in the last 10 s: the error rate rule fires, then resolves as they age out.
    let r = rule(
        &server,
        json!({"name": "error rate", "query": "",
               "condition": {"type": "window", "measure": "error_rate", "op": ">=", "threshold": 0.5, "window_secs": 10},
               "channels": [ch]}),
    );
    for seed in [0x81u8, 0x82] {
        let mut root = agent(seed, now() - 100 * MS, vec![]);
        root.end_time_unix_nano = now();
        root.status = Some(opentelemetry_proto::tonic::trace::v1::Status {
            code: 2,
            message: "boom".into(),
        });
        send(&server, KEY, vec![root]);
    }
    let got = hooks.wait(Duration::from_secs(15), |r| {
        r.iter()
            .any(|g| g.body["type"] == "alert.firing" && g.body["test"] == false)
    });
    let firing = got
        .iter()
        .find(|g| g.body["type"] == "alert.firing" && g.body["test"] == false)
        .expect("fired");
    assert_eq!(firing.body["event"]["key"], "window");
    assert_eq!(firing.body["event"]["value"], 1.0);
    assert!(
        firing.body["event"]["message"]
            .as_str()
            .unwrap()
            .contains("100.0%"),
        "{}",
        firing.body
    );
    let got = hooks.wait(Duration::from_secs(25), |r| {
        r.iter().any(|g| g.body["type"] == "alert.resolved")
    });
    assert!(
        got.iter().any(|g| g.body["type"] == "alert.resolved"),
        "resolved once the runs left the window"
    );
    let states: Vec<String> = events(&server, &r)
        .iter()
        .map(|e| e["state"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(states, ["resolved", "firing"]);
}

#[test]
fn bad_rules_and_channels_get_a_clear_400_and_rules_are_per_project() {
    let server = Server::start();
    let hooks = Receiver::start(Mode::Accept);
    let ch = channel(&server, "ops", "webhook", &hooks.url, None);
    let bad = |body: Value, says: &str| {
        let (status, answer) = post(&server, "/api/v1/alerts/rules", &body);
        assert_eq!(status, 400, "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message:?} should say {says:?}");
    };
    bad(
        json!({"name": "x", "query": "status:maybe", "condition": {"type": "each_run"}}),
        "unknown status",
    );
    bad(
        json!({"name": "x", "query": "duration>soon", "condition": {"type": "each_run"}}),
        "position",
    );
    bad(
        json!({"name": "x", "condition": {"type": "window", "measure": "count", "op": ">", "threshold": 1, "window_secs": 5}}),
        "window_secs",
    );
    bad(
        json!({"name": "x", "condition": {"type": "window", "measure": "error_rate", "op": ">", "threshold": 2, "window_secs": 60}}),
        "never be passed",
    );
    bad(
        json!({"name": "x", "condition": {"type": "each_run"}, "channels": ["ch_nope"]}),
        "no channel",
    );
    bad(
        json!({"name": "", "condition": {"type": "each_run"}}),
        "name",
    );
    bad(
        json!({"name": "x", "condition": {"type": "sometimes"}}),
        "condition",
    );
    let (status, answer) = post(
        &server,
        "/api/v1/alerts/channels",
        &json!({"name": "x", "kind": "webhook", "url": "ftp://x"}),
    );
    assert_eq!(status, 400, "{answer}");
    let (status, _) = put(
        &server,
        KEY,
        "/api/v1/alerts/rules/ar_missing",
        &json!({"name": "x", "condition": {"type": "each_run"}}),
    );
    assert_eq!(status, 404);

    // A channel in use cannot be deleted; the rule can, then the channel.
    let r = rule(
        &server,
        json!({"name": "loops", "query": "signal:loop", "condition": {"type": "each_run"}, "channels": [ch]}),
    );
    let delete = |path: &str| {
        client()
            .delete(server.url(path))
            .bearer_auth(KEY)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(delete(&format!("/api/v1/alerts/channels/{ch}")), 400);
    assert_eq!(delete(&format!("/api/v1/alerts/rules/{r}")), 204);
    assert_eq!(delete(&format!("/api/v1/alerts/channels/{ch}")), 204);

    // Another project sees none of this one's rules.
    rule(
        &server,
        json!({"name": "kept", "condition": {"type": "each_run"}}),
    );
    let (ok, out, err) = server.cli(&["projects", "create", "other"]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = server.cli(&["keys", "create", "--project", "other"]);
    assert!(ok, "{out}{err}");
    let other = common::key_from_output(&out);
    let (status, answer) = server.get_with("/api/v1/alerts/rules", &other);
    assert_eq!(status, 200);
    assert_eq!(answer["rules"], json!([]));
    assert_eq!(
        server.api("/api/v1/alerts/rules")["rules"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn the_cli_manages_signals_and_alerts() {
    let server = Server::start();
    let hooks = Receiver::start(Mode::Accept);
    let cli = |args: &[&str]| {
        let (ok, out, err) = server.cli(args);
        assert!(ok, "lemma {args:?}: {out}{err}");
        out
    };
    let t = now() - 5_000 * MS;
    send(
        &server,
        KEY,
        (2..=4)
            .map(|i| failed_tool(0x91, i, t + u64::from(i) * MS))
            .collect(),
    );
    let run = hex(&[0x91; 16]);
    let out = cli(&["signals", "show", &run]);
    assert!(
        out.contains("in progress") && out.contains("error_streak") && out.contains("critical"),
        "{out}"
    );
    let listed = cli(&["runs", "signal:error_streak"]);
    assert!(
        listed.contains(&run) && listed.contains("error_streak,tool_failing"),
        "{listed}"
    );

    cli(&["signals", "set", "error_streak=4", "stall_after_secs=60"]);
    let settings: Value = serde_json::from_str(&cli(&["signals", "settings"])).unwrap();
    assert_eq!(
        (
            settings["error_streak"].as_u64(),
            settings["stall_after_secs"].as_u64()
        ),
        (Some(4), Some(60))
    );
    let (ok, _, err) = server.cli(&["signals", "set", "error_streak=1"]);
    assert!(!ok && err.contains("error_streak must be from 2"), "{err}");
    let (ok, _, err) = server.cli(&["signals", "set", "nope=1"]);
    assert!(!ok && err.contains("no threshold \"nope\""), "{err}");

    let out = cli(&["alerts", "add-channel", "ops", &hooks.url, "--secret", "s"]);
    let channel = out
        .split_whitespace()
        .nth(2)
        .unwrap()
        .trim_end_matches('.')
        .to_string();
    assert!(channel.starts_with("ch_"), "{out}");
    assert!(cli(&["alerts", "test", &channel]).contains("Delivered"));
    assert_eq!(
        hooks.wait(Duration::from_secs(5), |r| !r.is_empty())[0].body["test"],
        true
    );
    let out = cli(&[
        "alerts",
        "add-rule",
        "slow",
        "--query",
        "env:prod",
        "--measure",
        "p95_latency_ms",
        "--threshold",
        "2000",
        "--window-secs",
        "600",
        "--channel",
        &channel,
    ]);
    let rule = out
        .split_whitespace()
        .nth(2)
        .unwrap()
        .trim_end_matches('.')
        .to_string();
    let rules = cli(&["alerts", "rules"]);
    assert!(
        rules.contains("p95_latency_ms > 2000.0 over 600 s") && rules.contains("env:prod"),
        "{rules}"
    );
    cli(&["alerts", "disable", &rule]);
    assert_eq!(
        server.api("/api/v1/alerts/rules")["rules"][0]["enabled"],
        false
    );
    let (ok, _, err) = server.cli(&["alerts", "delete-channel", &channel]);
    assert!(!ok && err.contains("notifies this channel"), "{err}");
    let (ok, _, err) = server.cli(&["alerts", "add-rule", "bad", "--query", "status:maybe"]);
    assert!(!ok && err.contains("unknown status"), "{err}");
    cli(&["alerts", "delete-rule", &rule]);
    cli(&["alerts", "delete-channel", &channel]);
    assert!(cli(&["alerts", "events"]).contains("WHEN"));
}
