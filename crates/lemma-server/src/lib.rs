//! The Lemma server: OTLP receivers over HTTP and gRPC, the ingest writer that group-commits
//! spans to the store, API-key authentication, and the REST API.
//!
//! Data flows one way: receive → authenticate → decode → normalise → queue → commit → ack.

mod api;
mod auth;
mod config;
mod error;
mod ingest;
mod prices;
mod server;

pub use config::ServerConfig;
pub use server::{bootstrap, serve, Bootstrap};
