//! Reading a long run in windows: the outline's first answer (the one a view opens with), a
//! span by id, a search and the overview, then clients paging through the whole outline at
//! once, with the server's resident memory sampled meanwhile.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde::Serialize;
use serde_json::Value;

use crate::procfs;
use crate::stats::ms;
use crate::target::lemma::Lemma;
use crate::target::Target;

/// Clients paging through the outline together.
pub const PAGING_CLIENTS: usize = 8;
/// Rows per page they ask for (the most a page holds).
const PAGE_ROWS: usize = 2_000;
/// Repeats of the cheap reads; their median is reported.
const REPEATS: usize = 9;

#[derive(Debug, Clone, Serialize)]
pub struct WindowFigures {
    /// The first outline request after ingest: it reads and sorts every light row.
    pub outline_cold_ms: f64,
    /// The same request once the outline is kept (median).
    pub outline_warm_ms: f64,
    pub outline_first_bytes: u64,
    /// One span in full by id (median over spans spread through the run).
    pub span_ms: f64,
    /// `find?q=kind:tool` (median).
    pub find_ms: f64,
    /// `overview?buckets=200` (median).
    pub overview_ms: f64,
    /// The server's resident memory before the clients start, and the most sampled while
    /// they page through the whole outline.
    pub rss_before_paging_bytes: u64,
    pub rss_paging_peak_bytes: u64,
    pub paging_pages: usize,
    pub paging_seconds: f64,
    /// What `GET /api/v1/runs/{id}` answers (422 past its span limit).
    pub whole_run_status: u16,
}

fn median(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times.get(times.len() / 2).map_or(0.0, |d| ms(*d))
}

async fn timed(lemma: &Lemma, path: &str) -> Result<(Duration, bytes::Bytes)> {
    let asked = Instant::now();
    let (status, body) = lemma.get_status(path).await?;
    if status != 200 {
        bail!("GET {path}: {status} {}", String::from_utf8_lossy(&body));
    }
    Ok((asked.elapsed(), body))
}

pub async fn measure(lemma: &Lemma, run_id: &str) -> Result<WindowFigures> {
    let base = format!("/api/v1/runs/{run_id}");
    let outline = format!("{base}/outline");
    let (cold, first) = timed(lemma, &outline).await?;
    let mut warm = Vec::new();
    for _ in 0..REPEATS {
        warm.push(timed(lemma, &outline).await?.0);
    }
    let first_page: Value = serde_json::from_slice(&first)?;
    let total = first_page["total"].as_u64().unwrap_or(0) as usize;

    // Spans spread through the run: the first row of evenly spaced pages.
    let mut spans = Vec::new();
    for i in 0..REPEATS {
        let offset = i * total / REPEATS;
        let (_, page) = timed(lemma, &format!("{outline}?offset={offset}&limit=1")).await?;
        let page: Value = serde_json::from_slice(&page)?;
        let Some(id) = page["rows"][0]["span_id"].as_str() else {
            bail!("no row at offset {offset} of {total}");
        };
        spans.push(timed(lemma, &format!("{base}/spans/{id}")).await?.0);
    }
    let mut finds = Vec::new();
    let mut overviews = Vec::new();
    for _ in 0..REPEATS {
        finds.push(timed(lemma, &format!("{base}/find?q=kind:tool")).await?.0);
        overviews.push(
            timed(lemma, &format!("{base}/overview?buckets=200"))
                .await?
                .0,
        );
    }
    let (whole_run_status, _) = lemma.get_status(&base).await?;

    let pid = lemma.server().pid();
    let rss_before = procfs::current_rss(pid).unwrap_or(0);
    let started = Instant::now();
    let paging = async {
        let clients = (0..PAGING_CLIENTS).map(|_| async {
            let mut pages = 0;
            let mut offset = 0;
            while offset < total {
                timed(
                    lemma,
                    &format!("{outline}?offset={offset}&limit={PAGE_ROWS}"),
                )
                .await?;
                offset += PAGE_ROWS;
                pages += 1;
            }
            Ok::<_, anyhow::Error>(pages)
        });
        futures_util::future::try_join_all(clients).await
    };
    let (pages, peak) = procfs::peak_rss_during(pid, Duration::from_millis(10), paging).await;
    let pages: Vec<usize> = pages?;
    let peak = peak.max(rss_before);
    Ok(WindowFigures {
        outline_cold_ms: ms(cold),
        outline_warm_ms: median(warm),
        outline_first_bytes: first.len() as u64,
        span_ms: median(spans),
        find_ms: median(finds),
        overview_ms: median(overviews),
        rss_before_paging_bytes: rss_before,
        rss_paging_peak_bytes: peak,
        paging_pages: pages.iter().sum(),
        paging_seconds: started.elapsed().as_secs_f64(),
        whole_run_status,
    })
}
