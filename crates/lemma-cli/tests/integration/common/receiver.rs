//! A real HTTP receiver for webhooks: records what is POSTed to it, and answers as told
//! (accepting, failing the first requests, or never answering).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

#[derive(Debug, Clone, Copy)]
pub enum Mode {
    Accept,
    /// 503 to the first `n` requests, then 200.
    FailFirst(u32),
    /// Reads each request and never answers.
    Hang,
    /// 200 with this JSON body.
    Reply(&'static str),
}

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub raw: Vec<u8>,
    pub body: Value,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct Receiver {
    pub url: String,
    got: Arc<Mutex<Vec<Received>>>,
    server: Arc<tiny_http::Server>,
}

impl Receiver {
    pub fn start(mode: Mode) -> Receiver {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("a receiver"));
        let port = server.server_addr().to_ip().unwrap().port();
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let (s, g) = (server.clone(), got.clone());
        std::thread::spawn(move || {
            let mut seen = 0u32;
            for mut request in s.incoming_requests() {
                let mut raw = Vec::new();
                let _ = request.as_reader().read_to_end(&mut raw);
                g.lock().unwrap().push(Received {
                    path: request.url().to_string(),
                    headers: request
                        .headers()
                        .iter()
                        .map(|h| (h.field.to_string(), h.value.to_string()))
                        .collect(),
                    body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
                    raw,
                    at: Instant::now(),
                });
                seen += 1;
                match mode {
                    Mode::Accept => drop(request.respond(tiny_http::Response::empty(200))),
                    Mode::FailFirst(n) if seen <= n => {
                        drop(request.respond(tiny_http::Response::empty(503)))
                    }
                    Mode::FailFirst(_) => drop(request.respond(tiny_http::Response::empty(200))),
                    Mode::Reply(body) => drop(
                        request.respond(
                            tiny_http::Response::from_string(body).with_header(
                                "content-type: application/json"
                                    .parse::<tiny_http::Header>()
                                    .unwrap(),
                            ),
                        ),
                    ),
                    Mode::Hang => {
                        std::thread::spawn(move || {
                            std::thread::sleep(Duration::from_secs(120));
                            drop(request);
                        });
                    }
                }
            }
        });
        Receiver {
            url: format!("http://127.0.0.1:{port}"),
            got,
            server,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// What was received once `done` holds of it, or when `within` passed.
    pub fn wait(&self, within: Duration, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let got = self.received();
            if done(&got) || start.elapsed() > within {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.unblock();
    }
}
