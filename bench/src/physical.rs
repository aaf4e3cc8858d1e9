//! The machine's limits for ingest, measured on the same payloads: how fast one core decodes
//! OTLP protobuf (and decodes plus normalises it as Lemma does), and how fast the disk takes
//! sequential writes and fsyncs.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use serde::Serialize;

use crate::workload::Batch;

#[derive(Debug, Clone, Serialize)]
pub struct Physical {
    /// prost decoding of the requests, one core.
    pub decode_spans_per_s: f64,
    pub decode_mb_per_s: f64,
    /// Lemma's decode and normalisation (lemma-core), one core.
    pub normalize_spans_per_s: f64,
    /// Sequential writes of 1 MiB blocks, fsynced at the end.
    pub write_mb_per_s: f64,
    /// 4 KiB appends each followed by fdatasync, the cost floor of a durable commit.
    pub fsyncs_per_s: f64,
}

/// Measures each figure for about `each`, writing scratch files in `dir`.
pub fn measure(
    batches: &[Batch],
    dir: &Path,
    each: Duration,
    write_bytes: u64,
) -> Result<Physical> {
    let spans: u64 = batches.iter().map(|b| b.spans as u64).sum();
    let bytes: u64 = batches.iter().map(|b| b.body.len() as u64).sum();
    let (rounds, secs) = repeat(each, || {
        for b in batches {
            let req = ExportTraceServiceRequest::decode(&b.body[..]).expect("valid");
            std::hint::black_box(req);
        }
    });
    let decode_spans_per_s = (spans * rounds) as f64 / secs;
    let decode_mb_per_s = (bytes * rounds) as f64 / secs / 1e6;
    let (rounds, secs) = repeat(each, || {
        for b in batches {
            let req = lemma_core::otlp::decode_trace_request(
                &b.body,
                lemma_core::otlp::Encoding::Protobuf,
            )
            .expect("valid");
            for mut span in lemma_core::otlp::extract_spans(req).spans {
                lemma_core::semconv::normalize(&mut span);
                std::hint::black_box(span);
            }
        }
    });
    let normalize_spans_per_s = (spans * rounds) as f64 / secs;
    Ok(Physical {
        decode_spans_per_s,
        decode_mb_per_s,
        normalize_spans_per_s,
        write_mb_per_s: write_bandwidth(dir, write_bytes)?,
        fsyncs_per_s: fsync_rate(dir, each)?,
    })
}

/// Calls `f` until `at_least` has passed; how many times, and the seconds taken.
fn repeat(at_least: Duration, mut f: impl FnMut()) -> (u64, f64) {
    let started = Instant::now();
    let mut n = 0;
    while n == 0 || started.elapsed() < at_least {
        f();
        n += 1;
    }
    (n, started.elapsed().as_secs_f64())
}

fn write_bandwidth(dir: &Path, total: u64) -> Result<f64> {
    let path = dir.join("bench-write.tmp");
    let block = vec![0x5au8; 1 << 20];
    let started = Instant::now();
    let mut f = File::create(&path)?;
    let mut written = 0;
    while written < total {
        f.write_all(&block)?;
        written += block.len() as u64;
    }
    f.sync_all()?;
    let secs = started.elapsed().as_secs_f64();
    drop(f);
    std::fs::remove_file(&path)?;
    Ok(written as f64 / secs / 1e6)
}

fn fsync_rate(dir: &Path, each: Duration) -> Result<f64> {
    let path = dir.join("bench-fsync.tmp");
    let mut f = File::create(&path)?;
    let block = [0x5au8; 4096];
    let (n, secs) = repeat(each, || {
        f.write_all(&block).expect("writable");
        f.sync_data().expect("syncable");
    });
    drop(f);
    std::fs::remove_file(&path)?;
    Ok(n as f64 / secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Workload;

    #[test]
    fn every_figure_is_positive() {
        let batches = Workload::new(1, 1_700_000_000_000_000_000).batches(300);
        let tmp = tempfile::tempdir().unwrap();
        let p = measure(&batches, tmp.path(), Duration::from_millis(50), 4 << 20).unwrap();
        for v in [
            p.decode_spans_per_s,
            p.decode_mb_per_s,
            p.normalize_spans_per_s,
            p.write_mb_per_s,
            p.fsyncs_per_s,
        ] {
            assert!(v > 0.0 && v.is_finite(), "{p:?}");
        }
        assert!(
            p.decode_spans_per_s > p.normalize_spans_per_s,
            "normalising costs more than decoding"
        );
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            0,
            "scratch files removed"
        );
    }
}
