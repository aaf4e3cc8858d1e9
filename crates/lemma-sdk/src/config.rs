//! What [`init`](crate::init) and [`span_processor`](crate::span_processor) are told.

use std::fmt;
use std::time::Duration;

use opentelemetry_sdk::trace::{BatchSpanProcessor, SpanExporter};

/// Where a local `lemma serve` listens by default.
pub const DEFAULT_URL: &str = "http://127.0.0.1:4318";

/// Builds the batch processor of one more destination, once the SDK is set up.
pub(crate) type ExtraExport = Box<dyn FnOnce() -> BatchSpanProcessor + Send + Sync>;

/// Lemma's settings: the server, the API key, how this program is named.
///
/// ```
/// use lemma_sdk::Config;
///
/// let config = Config::from_env() // LEMMA_URL, LEMMA_API_KEY, OTEL_SERVICE_NAME
///     .service_name("support-bot")
///     .environment("staging");
/// assert_eq!(config.service_name_or_default(), "support-bot");
/// ```
pub struct Config {
    pub(crate) url: String,
    pub(crate) api_key: Option<String>,
    pub(crate) service_name: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) timeout: Duration,
    pub(crate) extra: Vec<ExtraExport>,
}

impl Config {
    /// The defaults, ignoring the environment: `http://127.0.0.1:4318`, no key.
    pub fn new() -> Self {
        Config {
            url: DEFAULT_URL.to_string(),
            api_key: None,
            service_name: None,
            environment: None,
            timeout: Duration::from_secs(10),
            extra: Vec::new(),
        }
    }

    /// The defaults, then `LEMMA_URL`, `LEMMA_API_KEY` and `OTEL_SERVICE_NAME` where set.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mut config = Config::new();
        if let Some(url) = var("LEMMA_URL") {
            config.url = url.trim().to_string();
        }
        config.api_key = var("LEMMA_API_KEY").map(|k| k.trim().to_string());
        config.service_name = var("OTEL_SERVICE_NAME");
        config
    }

    /// The server's base URL, e.g. `http://127.0.0.1:4318`; spans go to `{url}/v1/traces`.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = url.into();
        self
    }

    /// The project's API key, sent as `Authorization: Bearer <key>`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The `service.name` of this program (default: `OTEL_SERVICE_NAME`, else the
    /// executable's name). Used by [`init`](crate::init) only: with
    /// [`span_processor`](crate::span_processor) the app's provider names itself.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// The deployment environment (`production`, `staging`, ...), written as
    /// `lemma.environment` on every span that no run names an environment for.
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// How long one export may take, retries included (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Also sends every span to `exporter` (another OTLP endpoint, a console exporter, ...),
    /// through its own batch processor, so a slow destination does not hold up the other.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), lemma_sdk::Error> {
    /// use lemma_sdk::{otlp_exporter, Config};
    ///
    /// let collector = otlp_exporter("http://collector:4318/v1/traces", &[])?;
    /// let lemma = lemma_sdk::init(Config::from_env().also_export_to(collector))?;
    /// # Ok(()) }
    /// ```
    pub fn also_export_to<E: SpanExporter + 'static>(mut self, exporter: E) -> Self {
        self.extra.push(Box::new(move || {
            BatchSpanProcessor::builder(exporter).build()
        }));
        self
    }

    /// The service name [`init`](crate::init) will use.
    pub fn service_name_or_default(&self) -> String {
        self.service_name.clone().unwrap_or_else(program_name)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the key itself.
        f.debug_struct("Config")
            .field("url", &self.url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("service_name", &self.service_name)
            .field("environment", &self.environment)
            .field("timeout", &self.timeout)
            .field("also_export_to", &self.extra.len())
            .finish()
    }
}

/// The executable's file name without extension, the default service name.
fn program_name() -> String {
    std::env::current_exe()
        .ok()
        .or_else(|| std::env::args_os().next().map(Into::into))
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown_service".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_overrides_defaults_and_hides_the_key() {
        let config = Config::new()
            .url("http://lemma:4318")
            .api_key("secret-key")
            .environment("staging");
        assert_eq!(config.url, "http://lemma:4318");
        assert_eq!(config.environment.as_deref(), Some("staging"));
        let shown = format!("{config:?}");
        assert!(!shown.contains("secret-key"), "{shown}");
        assert!(shown.contains("<set>"), "{shown}");
    }

    #[test]
    fn default_url_and_program_name() {
        let config = Config::new();
        assert_eq!(config.url, DEFAULT_URL);
        assert!(config.api_key.is_none());
        // The test binary's name, e.g. `lemma_sdk-0123abcd`.
        assert!(config.service_name_or_default().starts_with("lemma_sdk"));
    }
}
