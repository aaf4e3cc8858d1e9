use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything `lemma serve` can be told. The CLI fills it from flags and `LEMMA_*` variables.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// OTLP/HTTP, the REST API and (later) the dashboard.
    pub http_addr: SocketAddr,
    /// OTLP/gRPC.
    pub grpc_addr: SocketAddr,
    pub data_dir: PathBuf,
    /// Largest request body accepted, compressed or decompressed.
    pub max_body_bytes: usize,
    /// Spans waiting to be committed before new requests are refused with 503.
    pub queue_max_spans: usize,
    /// Most spans committed in one transaction.
    pub batch_max_spans: usize,
    /// The first key of a new data dir (else one is generated and printed once).
    pub bootstrap_key: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            http_addr: ([127, 0, 0, 1], 4318).into(),
            grpc_addr: ([127, 0, 0, 1], 4317).into(),
            data_dir: PathBuf::from("lemma-data"),
            max_body_bytes: 16 * 1024 * 1024,
            queue_max_spans: 100_000,
            batch_max_spans: 5_000,
            bootstrap_key: None,
        }
    }
}

impl ServerConfig {
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("lemma.db")
    }
}
