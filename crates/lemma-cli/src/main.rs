//! `lemma`: run the server, manage projects and keys, and read runs from a terminal.

mod admin;
mod alerts;
mod backup;
mod client;
mod demo;
mod doctor;
mod erase;
mod experiments;
mod export;
mod health;
mod mcp;
mod migrate;
mod prices;
mod proxy;
mod render;
mod serve;
mod signals;
mod users;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "lemma",
    version,
    about = "Tracing for AI agents: OTLP in, runs out."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server with its embedded store.
    Serve(Box<serve::ServeArgs>),
    /// Serve the MCP tools on stdio for an IDE agent, reading the server at LEMMA_URL.
    Mcp(mcp::McpArgs),
    /// Run the LLM proxy on its own, next to the agents, recording every model call into the
    /// Lemma server at LEMMA_URL.
    Proxy(proxy::ProxyCommandArgs),
    /// Manage projects (works on the data dir directly).
    #[command(subcommand)]
    Projects(admin::ProjectsCommand),
    /// Manage the people who sign in to the dashboard, and their role in each project (works
    /// on the data dir directly).
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Manage API keys (works on the data dir directly).
    #[command(subcommand)]
    Keys(admin::KeysCommand),
    /// Copy the embedded store (projects, keys, prices, spans, metric events, log records)
    /// into ClickHouse. Stopped, it goes on where it was when run again; it ends by checking
    /// each project's counts on both sides.
    Migrate(migrate::MigrateArgs),
    /// Copy the embedded store to a file while the server runs: a consistent snapshot,
    /// checked after it is written.
    Backup(backup::BackupArgs),
    /// Put a backup in place of a data dir's store (the server stopped).
    Restore(backup::RestoreArgs),
    /// List runs, newest first, optionally filtered by a query.
    Runs {
        /// A query, e.g. `agent:support-agent status:error since:24h "refund"`.
        query: Vec<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Sort by this instead of the start time, largest first (with `--asc`, smallest).
        #[arg(long, value_parser = sort_names(), default_value = "start_time")]
        sort: String,
        /// Smallest (or oldest) first.
        #[arg(long)]
        asc: bool,
        #[command(flatten)]
        remote: Remote,
    },
    /// Show one run as a span tree, or as a transcript of its conversation.
    Run {
        run_id: String,
        /// The conversation: messages, tool calls with their results, sub-agents, errors.
        #[arg(long)]
        transcript: bool,
        /// Cut the transcript, or the tree of a run read in windows, to pages of this many
        /// characters.
        #[arg(long, default_value_t = lemma_core::present::Budget::default().max_chars)]
        max_chars: usize,
        /// The first step (transcript) or span (tree of a run too long to read whole) to show:
        /// the offset a previous page asked for.
        #[arg(long, default_value_t = 0)]
        offset: usize,
        #[command(flatten)]
        remote: Remote,
    },
    /// Delete a run: its spans, summary, metric events and log records. Spans of it sent
    /// later start it anew.
    DeleteRun {
        run_id: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Delete every run a query finds, with their spans, metric events and log records, after
    /// saying how many (and asking, unless --yes).
    DeleteRuns(erase::DeleteRunsArgs),
    /// Erase a user: every run they own or that holds a span naming them, with their spans,
    /// metric events and log records, after saying how many (and asking, unless --yes).
    EraseUser(erase::EraseUserArgs),
    /// Post a metric event to a run: feedback, task success, a score.
    Metric {
        run_id: String,
        /// Letters, digits, `_`, `-`, `.` and `:`.
        name: String,
        /// `true`/`false`, a number, or text.
        value: String,
        /// Send the value as text even if it reads as a number or boolean.
        #[arg(long)]
        text: bool,
        #[arg(long)]
        comment: Option<String>,
        /// Who produced it, such as user, sdk or evaluator.
        #[arg(long, default_value = "user")]
        source: String,
        /// The span the event is about, if not the whole run.
        #[arg(long)]
        span_id: Option<String>,
        #[command(flatten)]
        remote: Remote,
    },
    /// Export the runs matching a query (every run by default) as OTLP JSON lines, which any
    /// OTLP/HTTP endpoint takes back, or as one span per line; checked complete against each
    /// run's span count.
    Export(export::ExportArgs),
    /// List threads, most recently active first.
    Threads {
        query: Vec<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[command(flatten)]
        remote: Remote,
    },
    /// Show one thread's runs, turn by turn.
    Thread {
        thread_id: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Model prices that costs are computed with (built-in, and the project's own).
    #[command(subcommand)]
    Prices(prices::PricesCommand),
    /// What is worth a look in runs: a run's signals, the project's thresholds, counts.
    #[command(subcommand)]
    Signals(signals::SignalsCommand),
    /// Alert rules, the channels they notify (webhooks, Slack), test sends and the history.
    #[command(subcommand)]
    Alerts(alerts::AlertsCommand),
    /// Datasets of test cases, versioned: import, export, show.
    #[command(subcommand)]
    Datasets(experiments::DatasetsCommand),
    /// Experiments over datasets, and their comparison case by case (a CI gate with
    /// --fail-on-regression).
    #[command(subcommand)]
    Experiments(experiments::ExperimentsCommand),
    /// Load realistic sample agent runs into a server, to see what Lemma shows.
    Demo(demo::DemoArgs),
    /// Find out why spans don't appear: check the endpoint, port, TLS and key an OTLP exporter
    /// set up here would use (flags, else the OTEL_EXPORTER_OTLP_* variables), send it a test
    /// run, and say how to fix each problem.
    Doctor(doctor::DoctorArgs),
    /// How the project's spans arrive: problems in recent runs (missing parents, runs without
    /// a root, clock skew, calls recorded twice, late spans) with the fix for each, the
    /// services sending, and refused requests.
    Health {
        #[command(flatten)]
        remote: Remote,
    },
}

/// Where the server is and how to authenticate.
#[derive(Args, Clone)]
pub struct Remote {
    /// The Lemma server.
    #[arg(long, env = "LEMMA_URL", default_value = "http://127.0.0.1:4318")]
    pub url: String,
    /// An API key of the project to read.
    #[arg(long, env = "LEMMA_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Print the API's JSON answer instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The embedded store's folder when neither `--data-dir` nor `LEMMA_DATA_DIR` names one.
const DEFAULT_DATA_DIR: &str = "lemma-data";

/// Where the store is, for `serve` and the admin commands.
#[derive(Args, Clone)]
pub struct DataDir {
    /// Where the embedded store keeps its files.
    #[arg(long, env = "LEMMA_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Store in ClickHouse instead: clickhouse://[user:password@]host:8123/database (add
    /// ?cluster=NAME&shards=host:port,... for a cluster). See the README's "Scale out".
    #[arg(long, env = "LEMMA_STORE", hide_env_values = true)]
    pub store: Option<String>,
}

impl DataDir {
    /// The flags that name this store again, for hints that print a command to run next: none
    /// for the default data dir (or one given through the environment).
    pub fn flags(&self) -> String {
        if let Some(store) = &self.store {
            if std::env::var("LEMMA_STORE").ok().as_deref() != Some(store.as_str()) {
                return format!(" --store '{}'", lemma_store::clickhouse::redact(store));
            }
            return String::new();
        }
        let from_env = std::env::var_os("LEMMA_DATA_DIR").map(PathBuf::from);
        if self.data_dir == std::path::Path::new(DEFAULT_DATA_DIR)
            || from_env.as_deref() == Some(self.data_dir.as_path())
        {
            return String::new();
        }
        format!(" --data-dir {:?}", self.data_dir.display().to_string())
    }

    pub fn location(&self) -> anyhow::Result<lemma_store::StoreLocation> {
        Ok(lemma_store::StoreLocation::new(
            self.store.as_deref(),
            self.data_dir.clone(),
        )?)
    }
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(*args),
        Command::Mcp(args) => mcp::run(args),
        Command::Proxy(args) => proxy::run(args),
        Command::Projects(cmd) => admin::projects(cmd),
        Command::Keys(cmd) => admin::keys(cmd),
        Command::Users(cmd) => users::run(cmd),
        Command::Migrate(args) => migrate::run(args),
        Command::Backup(args) => backup::run_backup(args),
        Command::Restore(args) => backup::run_restore(args),
        Command::Runs {
            query,
            limit,
            sort,
            asc,
            remote,
        } => client::runs(&remote, &query.join(" "), limit, &sort, asc),
        Command::Run {
            run_id,
            transcript,
            max_chars,
            offset,
            remote,
        } => {
            let budget = lemma_core::present::Budget {
                max_chars,
                offset,
                ..Default::default()
            };
            client::run(&remote, &run_id, transcript, budget)
        }
        Command::DeleteRun { run_id, remote } => client::delete_run(&remote, &run_id),
        Command::DeleteRuns(args) => erase::delete_runs(args),
        Command::EraseUser(args) => erase::erase_user(args),
        Command::Metric {
            run_id,
            name,
            value,
            text,
            comment,
            source,
            span_id,
            remote,
        } => {
            let value = if text {
                lemma_core::MetricValue::Text(value)
            } else {
                lemma_core::MetricValue::guess(&value)
            };
            let metric = client::NewMetric {
                name,
                value,
                comment,
                source,
                span_id,
            };
            client::metric(&remote, &run_id, &metric)
        }
        Command::Export(args) => export::run(args),
        Command::Threads {
            query,
            limit,
            remote,
        } => client::threads(&remote, &query.join(" "), limit),
        Command::Thread { thread_id, remote } => client::thread(&remote, &thread_id),
        Command::Prices(cmd) => prices::run(cmd),
        Command::Signals(cmd) => signals::run(cmd),
        Command::Alerts(cmd) => alerts::run(cmd),
        Command::Datasets(cmd) => experiments::datasets(cmd),
        Command::Experiments(cmd) => experiments::experiments(cmd),
        Command::Demo(args) => demo::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Health { remote } => health::run(&remote),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// Parses `host:port`, accepting `localhost`.
pub fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    s.to_socket_addrs()
        .map_err(|e| format!("{s:?} is not an address (host:port): {e}"))?
        .next()
        .ok_or_else(|| format!("{s:?} resolves to no address"))
}

/// The sorts `lemma runs --sort` takes: the API's.
fn sort_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(lemma_store::RunSort::ALL.map(|s| s.name()))
}
