//! Lemma's integration tests, in one binary: each module drives real `lemma serve` processes
//! (and the real programs around them: SDKs, exporters, browsers, ClickHouse) from the outside.
//! One binary links once and builds `common` once, where a binary per file did both for every
//! file. `cargo test -p lemma-cli --test integration <module>::` runs one module.

mod common;

mod alerts;
mod auth;
mod backpressure;
mod backup;
mod bad_input;
mod bench;
mod cli;
mod clickhouse;
mod compat;
mod dashboard;
mod demo;
mod doctor;
mod erase;
mod experiments;
mod export;
mod fixtures_replay;
mod forward;
mod graph;
mod hardening;
mod ingestion;
mod lifecycle;
mod logs;
mod mcp;
mod metrics;
mod migrate;
mod openapi;
mod prices;
mod proxy;
mod redaction;
mod retention;
mod run_windows;
mod scopes;
mod sdk_python;
mod sdk_rust;
mod sdk_typescript;
mod signals;
mod stats;
mod storage;
mod transcript;
mod users;
