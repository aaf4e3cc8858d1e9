//! The Lemma server: OTLP receivers over HTTP and gRPC, the ingest writer that group-commits
//! spans to the store, API-key authentication, the REST API
//! and the dashboard.
//!
//! Data flows one way: receive → authenticate → decode → normalise → queue → commit → ack.

mod alerts;
mod api;
mod auth;
mod body_limit;
mod config;
mod connections;
mod error;
mod forward;
mod ingest;
mod mcp;
mod openapi;
mod prices;
mod project_cache;
pub mod proxy;
mod recent;
mod redaction;
mod retention;
mod server;
mod signals;
mod web;

pub use config::{OidcConfig, ProxyConfig, ServerConfig, UserClaim};
pub use forward::ForwardConfig;
pub use server::{bootstrap, serve, Bootstrap};
