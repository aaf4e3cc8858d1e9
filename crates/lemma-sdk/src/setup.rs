//! Setting up export: [`init`] for a program with no tracing of its own, [`span_processor`]
//! for one that already has an OpenTelemetry tracer provider.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, Weak};
use std::time::Duration;

use opentelemetry::trace::Span as _;
use opentelemetry::{global, Context, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchSpanProcessor, SdkTracerProvider, Span, SpanData, SpanProcessor,
};
use opentelemetry_sdk::Resource;

use crate::api::{self, ApiTarget};
use crate::config::Config;
use crate::context::run_context;
use crate::export::{self, Destination};
use crate::Error;

/// The handle [`init`] returns. Dropping it shuts Lemma down (flushing what is left), so keep
/// it alive until the program ends, e.g. `let _lemma = lemma_sdk::init(...)?;` in `main`.
#[must_use = "dropping the handle shuts Lemma down: bind it, e.g. `let _lemma = ...`"]
#[derive(Debug)]
pub struct Lemma {
    provider: SdkTracerProvider,
    shut_down: AtomicBool,
}

impl Lemma {
    /// Sends every finished span now and waits for the answer. Export problems are reported
    /// by the warning, never returned.
    pub fn flush(&self) {
        let _ = self.provider.force_flush();
    }

    /// Flushes and stops exporting. Calling it again, or dropping the handle after, does
    /// nothing more.
    pub fn shutdown(&self) {
        if !self.shut_down.swap(true, Ordering::SeqCst) {
            let _ = self.provider.shutdown_with_timeout(Duration::from_secs(10));
        }
    }

    /// The tracer provider `init` built and installed as the global one, to hand to other
    /// instrumentation (e.g. `tracing-opentelemetry`).
    pub fn tracer_provider(&self) -> &SdkTracerProvider {
        &self.provider
    }
}

impl Drop for Lemma {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Sets up tracing to Lemma: a tracer provider exporting over OTLP/HTTP (batched) to
/// `{url}/v1/traces` and to every [`Config::also_export_to`] destination, installed as the
/// global provider, with the W3C trace-context and baggage propagators.
///
/// It does not contact the server: if the server is unreachable or refuses the key, the
/// first export says so once (see the crate docs) and the program carries on.
///
/// ```no_run
/// # fn main() -> Result<(), lemma_sdk::Error> {
/// let lemma = lemma_sdk::init(lemma_sdk::Config::from_env().service_name("support-bot"))?;
/// // ... agent(), tool(), llm() ...
/// lemma.shutdown();
/// # Ok(()) }
/// ```
pub fn init(config: Config) -> Result<Lemma, Error> {
    let resource = resource(&config);
    let processor = span_processor(config)?;
    let provider = SdkTracerProvider::builder()
        .with_resource(resource)
        .with_span_processor(processor)
        .build();
    global::set_tracer_provider(provider.clone());
    global::set_text_map_propagator(crate::propagation::propagator());
    Ok(Lemma {
        provider,
        shut_down: AtomicBool::new(false),
    })
}

/// Lemma as one more span processor of a tracer provider the app already has: it exports to
/// Lemma (and to any [`Config::also_export_to`] destination) and copies the run context
/// onto every span. Install that provider as the global one, since `agent()` and the other
/// helpers use the global provider.
///
/// ```no_run
/// # fn main() -> Result<(), lemma_sdk::Error> {
/// use opentelemetry_sdk::trace::SdkTracerProvider;
///
/// let provider = SdkTracerProvider::builder()
///     // .with_batch_exporter(your_existing_exporter)
///     .with_span_processor(lemma_sdk::span_processor(lemma_sdk::Config::from_env())?)
///     .build();
/// opentelemetry::global::set_tracer_provider(provider.clone());
/// # Ok(()) }
/// ```
pub fn span_processor(config: Config) -> Result<LemmaSpanProcessor, Error> {
    let endpoint = export::traces_endpoint(&config.url)?;
    api::remember(ApiTarget::from_config(&config)?);
    let auth = config
        .api_key
        .as_ref()
        .map(|key| ("authorization", format!("Bearer {key}")));
    let headers = export::header_map(auth)?;
    let exporter = export::exporter(&endpoint, headers, config.timeout, Destination::Lemma)?;
    let mut processor = LemmaSpanProcessor::new(config.environment);
    processor.add(BatchSpanProcessor::builder(exporter).build());
    for build in config.extra {
        processor.add(build());
    }
    live_exports()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Arc::downgrade(&processor.exports));
    Ok(processor)
}

/// The exports of every [`LemmaSpanProcessor`] [`span_processor`] made that is still in use,
/// so a run can flush its spans (see [`flush_exports`]) whoever owns the tracer provider.
fn live_exports() -> &'static Mutex<Vec<Weak<Exports>>> {
    static LIVE: Mutex<Vec<Weak<Exports>>> = Mutex::new(Vec::new());
    &LIVE
}

/// Sends every finished span that Lemma's processors still hold, and waits for the answers
/// (blocking). Problems are reported by the export warning, never returned.
pub(crate) fn flush_exports() {
    let exports: Vec<Arc<Exports>> = {
        let mut live = live_exports().lock().unwrap_or_else(|e| e.into_inner());
        live.retain(|w| w.strong_count() > 0);
        live.iter().filter_map(Weak::upgrade).collect()
    };
    for export in exports {
        let _ = all(read(&export).iter().map(|e| e.force_flush()));
    }
}

/// An OTLP/HTTP protobuf exporter to another backend, for [`Config::also_export_to`],
/// carried by the same HTTP client as Lemma's. `endpoint` is the full traces URL
/// (`http://collector:4318/v1/traces`); `headers` are sent with every request.
///
/// ```no_run
/// # fn main() -> Result<(), lemma_sdk::Error> {
/// let other = lemma_sdk::otlp_exporter(
///     "http://collector:4318/v1/traces",
///     &[("x-tenant", "acme")],
/// )?;
/// # Ok(()) }
/// ```
pub fn otlp_exporter(
    endpoint: &str,
    headers: &[(&str, &str)],
) -> Result<opentelemetry_otlp::SpanExporter, Error> {
    let headers = export::header_map(headers.iter().copied())?;
    export::exporter(
        endpoint,
        headers,
        Duration::from_secs(10),
        Destination::Other,
    )
}

/// The processors a [`LemmaSpanProcessor`] hands finished spans to. Shared (and locked, though
/// only `set_resource` and setup write) so that [`flush_exports`] can reach them.
type Exports = RwLock<Vec<Box<dyn SpanProcessor>>>;

fn read(exports: &Exports) -> RwLockReadGuard<'_, Vec<Box<dyn SpanProcessor>>> {
    exports.read().unwrap_or_else(|e| e.into_inner())
}

/// The span processor [`span_processor`] returns (and [`init`] installs): it stamps the run
/// context on spans as they start and hands finished spans to its exports.
#[derive(Debug)]
pub struct LemmaSpanProcessor {
    environment: Option<String>,
    exports: Arc<Exports>,
}

impl LemmaSpanProcessor {
    /// `environment` is the default `lemma.environment`.
    pub(crate) fn new(environment: Option<String>) -> Self {
        LemmaSpanProcessor {
            environment,
            exports: Arc::default(),
        }
    }

    pub(crate) fn add(&mut self, export: impl SpanProcessor + 'static) {
        self.exports
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Box::new(export));
    }
}

impl SpanProcessor for LemmaSpanProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        let mut rc = run_context(cx);
        if rc.environment.is_none() {
            rc.environment.clone_from(&self.environment);
        }
        if !rc.is_empty() {
            span.set_attributes(rc.attributes());
        }
    }

    fn on_end(&self, span: SpanData) {
        if let Some((last, others)) = read(&self.exports).split_last() {
            for export in others {
                export.on_end(span.clone());
            }
            last.on_end(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        all(read(&self.exports).iter().map(|e| e.force_flush()))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        all(read(&self.exports)
            .iter()
            .map(|e| e.shutdown_with_timeout(timeout)))
    }

    fn set_resource(&mut self, resource: &Resource) {
        let mut exports = self.exports.write().unwrap_or_else(|e| e.into_inner());
        for export in exports.iter_mut() {
            export.set_resource(resource);
        }
    }
}

/// Runs every operation (one failing must not stop the others); the first failure, if any.
fn all(results: impl Iterator<Item = OTelSdkResult>) -> OTelSdkResult {
    let mut outcome = Ok(());
    for result in results {
        if outcome.is_ok() {
            outcome = result;
        }
    }
    outcome
}

fn resource(config: &Config) -> Resource {
    let mut builder = Resource::builder().with_service_name(config.service_name_or_default());
    if let Some(environment) = &config.environment {
        builder = builder.with_attribute(KeyValue::new(
            "deployment.environment.name",
            environment.clone(),
        ));
    }
    builder.build()
}
