//! The clients: unstreamed calls and streams to one side (straight to the model server, or
//! through the proxy), many at once, each timed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};

use crate::upstream::{
    self, clock_ns, sent_at, CHUNKS_HEADER, GAP_HEADER, HELD_HEADER, HOLD_HEADER,
};

/// Where a call goes, with its headers.
#[derive(Clone)]
pub(super) struct Route {
    pub(super) url: String,
    pub(super) headers: HeaderMap,
}

impl Route {
    pub(super) fn new(url: String, lemma_key: Option<&str>) -> Route {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        // The provider's key, which the proxy passes on.
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Bearer sk-bench-provider-key"),
        );
        if let Some(key) = lemma_key {
            headers.insert("x-lemma-key", HeaderValue::from_str(key).expect("ascii"));
        }
        Route { url, headers }
    }
}

/// The times of the calls that succeeded, how many failed, and how long the batches took.
#[derive(Debug, Default)]
pub(super) struct Outcomes {
    pub(super) times: Vec<Duration>,
    pub(super) failures: usize,
    pub(super) first_failure: Option<String>,
    /// Calls made (or streams), failed ones included.
    pub(super) calls: usize,
    pub(super) seconds: f64,
}

impl Outcomes {
    pub(super) fn add<T>(&mut self, outcome: Result<T>, times: impl FnOnce(T) -> Vec<Duration>) {
        match outcome {
            Ok(t) => self.times.extend(times(t)),
            Err(e) => {
                self.failures += 1;
                self.first_failure.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }

    pub(super) fn merge(&mut self, other: Outcomes) {
        self.times.extend(other.times);
        self.failures += other.failures;
        self.calls += other.calls;
        self.seconds += other.seconds;
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
    }

    pub(super) fn report(&self, what: &str) {
        if let Some(why) = &self.first_failure {
            eprintln!("proxy: {} {what} failed, the first: {why}", self.failures);
        }
    }
}

/// How many streams have their headers and not yet their end, and the most so far.
#[derive(Default)]
pub(super) struct Gauge {
    now: AtomicUsize,
    pub(super) most: AtomicUsize,
}

impl Gauge {
    fn open(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
    }

    fn close(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Splits a stream of bytes into server-sent events (separated by a blank line).
#[derive(Default)]
struct Events {
    pending: Vec<u8>,
}

impl Events {
    /// Adds bytes as they arrived; calls `event` with each event they complete.
    fn push(&mut self, bytes: &[u8], mut event: impl FnMut(&[u8])) {
        self.pending.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(end) = self.pending[start..].windows(2).position(|w| w == b"\n\n") {
            event(&self.pending[start..start + end]);
            start += end + 2;
        }
        self.pending.drain(..start);
    }
}

/// How long the model takes over an unstreamed call: `mean` ± half of it, uniformly (so that
/// clients do not fall into step), or no time.
fn model_time(rng: &mut StdRng, mean: Duration) -> Duration {
    if mean.is_zero() {
        return mean;
    }
    mean / 2 + rng.random_range(Duration::ZERO..mean)
}

/// One unstreamed call the model takes `hold` over: send to last byte, less the time the
/// model server held the answer back.
async fn call(client: &reqwest::Client, route: &Route, hold: Duration) -> Result<Duration> {
    let sent = Instant::now();
    let answer = client
        .post(&route.url)
        .headers(route.headers.clone())
        .header(HOLD_HEADER, hold.as_micros() as u64)
        .body(upstream::request_body(false))
        .send()
        .await?;
    let status = answer.status();
    let held = answer
        .headers()
        .get(HELD_HEADER)
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .map(Duration::from_micros);
    let body = answer.bytes().await?;
    let took = sent.elapsed();
    if status != 200 {
        bail!("{status}: {}", String::from_utf8_lossy(&body));
    }
    if body != upstream::completion() {
        bail!("the answer was changed on the way");
    }
    let Some(held) = held else {
        bail!("the answer lost its {HELD_HEADER} header on the way");
    };
    Ok(took.saturating_sub(held))
}

/// One streamed call of `chunks` chunks `gap_ms` apart; each chunk's time under way.
async fn stream(
    client: &reqwest::Client,
    route: &Route,
    chunks: usize,
    gap_ms: u64,
    gauge: &Gauge,
) -> Result<Vec<Duration>> {
    let mut answer = client
        .post(&route.url)
        .headers(route.headers.clone())
        .header(CHUNKS_HEADER, chunks)
        .header(GAP_HEADER, gap_ms)
        .body(upstream::request_body(true))
        .send()
        .await?;
    if answer.status() != 200 {
        let status = answer.status();
        bail!("{status}: {}", answer.text().await.unwrap_or_default());
    }
    gauge.open();
    let mut events = Events::default();
    let mut delays = Vec::with_capacity(chunks);
    let mut done = false;
    let read = async {
        while let Some(bytes) = answer.chunk().await? {
            let now = clock_ns();
            events.push(&bytes, |event| {
                if event == b"data: [DONE]" {
                    done = true;
                } else if let Some(t) = sent_at(event) {
                    delays.push(Duration::from_nanos(now.saturating_sub(t)));
                }
            });
        }
        Ok::<_, anyhow::Error>(())
    };
    let read = read.await;
    gauge.close();
    read?;
    if !done || delays.len() != chunks {
        bail!(
            "the stream ended after {} of {chunks} chunks{}",
            delays.len(),
            if done { "" } else { ", without [DONE]" }
        );
    }
    Ok(delays)
}

/// What one batch does: `clients` clients at once, each making `each` calls one after another.
#[derive(Clone, Copy)]
pub(super) enum Work {
    /// Unstreamed calls the model takes `mean_hold` ± half of it over; each client starts up
    /// to `mean_hold` late.
    Calls { mean_hold: Duration },
    /// Streams of `chunks` chunks `gap_ms` apart; `staggered`, each client first waits up to
    /// one gap, so that chunks are not all made in the same instant.
    Streams {
        chunks: usize,
        gap_ms: u64,
        staggered: bool,
    },
}

pub(super) async fn batch(
    client: &reqwest::Client,
    route: &Route,
    clients: usize,
    each: usize,
    work: Work,
    gauge: &Arc<Gauge>,
) -> Outcomes {
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|i| {
            let (client, route, gauge) = (client.clone(), route.clone(), gauge.clone());
            // Seeded by client, so both sides are asked for the same model times.
            let mut rng = StdRng::seed_from_u64(i as u64);
            tokio::spawn(async move {
                let mut out = Outcomes::default();
                if let Work::Calls { mean_hold } = work {
                    // Clients start spread over a model's time, not all in the same instant.
                    if !mean_hold.is_zero() {
                        let wait = rng.random_range(Duration::ZERO..mean_hold);
                        tokio::time::sleep(wait).await;
                    }
                }
                for _ in 0..each {
                    match work {
                        Work::Calls { mean_hold } => {
                            let hold = model_time(&mut rng, mean_hold);
                            out.add(call(&client, &route, hold).await, |t| vec![t])
                        }
                        Work::Streams {
                            chunks,
                            gap_ms,
                            staggered,
                        } => {
                            if staggered {
                                let wait = rng.random_range(0..gap_ms.max(1) * 1000);
                                tokio::time::sleep(Duration::from_micros(wait)).await;
                            }
                            out.add(
                                stream(&client, &route, chunks, gap_ms, &gauge).await,
                                |delays| delays,
                            )
                        }
                    }
                }
                out
            })
        })
        .collect();
    let mut all = Outcomes::default();
    for task in tasks {
        match task.await {
            Ok(out) => all.merge(out),
            Err(e) => all.add::<()>(Err(e.into()), |_| Vec::new()),
        }
    }
    all.calls = clients * each;
    all.seconds = started.elapsed().as_secs_f64();
    all
}

/// `total` calls per client in batches of at most `per`, each batch made directly and through
/// the proxy, the order swapped every batch; the outcomes direct and proxied.
pub(super) async fn alternate(
    client: &reqwest::Client,
    (direct, proxied): (&Route, &Route),
    clients: usize,
    total: usize,
    per: usize,
    work: Work,
) -> (Outcomes, Outcomes) {
    let gauge = Arc::new(Gauge::default());
    let (mut d, mut p) = (Outcomes::default(), Outcomes::default());
    let mut left = total;
    let mut round = 0;
    while left > 0 {
        let each = left.min(per);
        if round % 2 == 0 {
            d.merge(batch(client, direct, clients, each, work, &gauge).await);
            p.merge(batch(client, proxied, clients, each, work, &gauge).await);
        } else {
            p.merge(batch(client, proxied, clients, each, work, &gauge).await);
            d.merge(batch(client, direct, clients, each, work, &gauge).await);
        }
        left -= each;
        round += 1;
    }
    (d, p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_split_however_the_bytes_arrive() {
        let stream = b"data: {\"t\":1}\n\ndata: {\"t\":22}\n\ndata: [DONE]\n\n";
        for cut in 0..stream.len() {
            let mut events = Events::default();
            let mut seen = Vec::new();
            events.push(&stream[..cut], |e| seen.push(e.to_vec()));
            events.push(&stream[cut..], |e| seen.push(e.to_vec()));
            assert_eq!(
                seen,
                [
                    b"data: {\"t\":1}".to_vec(),
                    b"data: {\"t\":22}".to_vec(),
                    b"data: [DONE]".to_vec()
                ],
                "cut at {cut}"
            );
            assert!(events.pending.is_empty());
        }
    }

    #[tokio::test]
    async fn calls_and_streams_straight_to_the_model_server() {
        let upstream = crate::upstream::Upstream::start().await.unwrap();
        let client = reqwest::Client::new();
        let route = Route::new(format!("{}/chat/completions", upstream.base_url()), None);
        let took = call(&client, &route, Duration::from_millis(300))
            .await
            .unwrap();
        assert!(
            took < Duration::from_millis(150),
            "the model's time is left out: {took:?}"
        );
        let gauge = Gauge::default();
        let delays = stream(&client, &route, 3, 5, &gauge).await.unwrap();
        assert_eq!(delays.len(), 3);
        assert_eq!(gauge.most.load(Ordering::SeqCst), 1);
        assert_eq!(gauge.now.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn model_times_stay_within_half_of_the_mean_either_way() {
        let mut rng = StdRng::seed_from_u64(1);
        let mean = Duration::from_millis(100);
        for _ in 0..1000 {
            let t = model_time(&mut rng, mean);
            assert!(t >= mean / 2 && t < mean * 3 / 2, "{t:?}");
        }
        assert_eq!(model_time(&mut rng, Duration::ZERO), Duration::ZERO);
    }
}
