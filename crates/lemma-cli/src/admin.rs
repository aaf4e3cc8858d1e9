//! `lemma projects ...` and `lemma keys ...`: administration on the store itself (the data dir,
//! or ClickHouse), so only someone with access to the server's files or database can mint keys.

use anyhow::Context;
use clap::Subcommand;
use std::sync::Arc;

use lemma_core::redact::{Detector, Pattern, RedactionRules};
use lemma_store::{KeyScope, Store};

use crate::render::{time_ago, Table};
use crate::DataDir;

#[derive(Subcommand)]
pub enum ProjectsCommand {
    /// Create a project (then create a key for it with `lemma keys create`).
    Create {
        name: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// List projects.
    List {
        #[command(flatten)]
        data: DataDir,
    },
    /// Show or set how long a project keeps its runs: older ones are deleted (with their
    /// spans, metric events and log records) by the server, at start and every hour.
    Retention {
        name: String,
        /// Keep runs this many days.
        #[arg(long, conflicts_with = "forever")]
        days: Option<u32>,
        /// Keep runs forever (the default).
        #[arg(long)]
        forever: bool,
        #[command(flatten)]
        data: DataDir,
    },
    /// Show or replace a project's redaction rules: what they match is replaced (or, for
    /// dropped keys, removed) in every span, log record and metric event before it is stored.
    /// Given any rule, the rules given replace the project's; servers apply them within 5 s.
    Redaction {
        name: String,
        /// Built-in detectors, comma-separated: email, card, secret, phone.
        #[arg(long, value_delimiter = ',', value_parser = parse_detector)]
        detect: Vec<Detector>,
        /// A pattern of your own, as NAME=REGEX (repeatable); matches become
        /// `[REDACTED:NAME]`.
        #[arg(long, value_parser = parse_pattern)]
        pattern: Vec<Pattern>,
        /// An attribute key whose value is dropped, at any depth; `prefix.*` drops every key
        /// it starts (repeatable).
        #[arg(long = "drop-key")]
        drop_keys: Vec<String>,
        /// Turn redaction off.
        #[arg(long, conflicts_with_all = ["detect", "pattern", "drop_keys"])]
        off: bool,
        #[command(flatten)]
        data: DataDir,
    },
}

fn parse_scope(text: &str) -> Result<KeyScope, String> {
    KeyScope::parse(text).ok_or_else(|| "not a scope; choose from ingest, read, admin".to_string())
}

fn parse_detector(text: &str) -> Result<Detector, String> {
    Detector::ALL
        .into_iter()
        .find(|d| d.name() == text)
        .ok_or_else(|| "not a detector; choose from email, card, secret, phone".to_string())
}

fn parse_pattern(text: &str) -> Result<Pattern, String> {
    match text.split_once('=') {
        Some((name, regex)) => Ok(Pattern {
            name: name.to_string(),
            regex: regex.to_string(),
        }),
        None => Err("expected NAME=REGEX, e.g. order=ORD-\\d{6}".into()),
    }
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create an API key for a project; the key is shown once.
    Create {
        #[arg(long, default_value = "default")]
        project: String,
        /// What the key may do: `ingest` (send spans, logs and metric events: for apps and
        /// SDKs), `read` (read runs and settings: for dashboards and agents), or `admin`
        /// (everything, including deleting runs and changing settings and keys).
        #[arg(long, default_value = "admin", value_parser = parse_scope)]
        scope: KeyScope,
        #[command(flatten)]
        data: DataDir,
    },
    /// List API keys (never their secrets).
    List {
        #[arg(long)]
        project: Option<String>,
        #[command(flatten)]
        data: DataDir,
    },
    /// Revoke a key by its id or public key.
    Revoke {
        key: String,
        #[command(flatten)]
        data: DataDir,
    },
}

/// Opens the store a server already made: an admin command run from another folder must not
/// create an empty data dir and mint keys no server reads.
pub(crate) fn open(data: &DataDir) -> anyhow::Result<(Arc<dyn Store>, tokio::runtime::Runtime)> {
    let location = data.location()?;
    if let lemma_store::StoreLocation::Embedded { data_dir } = &location {
        let file = data_dir.join(lemma_store::DATABASE_FILE);
        if !file.exists() {
            anyhow::bail!(
                "no Lemma store at {}: pass the server's data dir with --data-dir (or \
                 LEMMA_DATA_DIR), or its ClickHouse with --store; `lemma serve` creates the \
                 store on first start",
                file.display()
            );
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let store = rt
        .block_on(location.open())
        .with_context(|| format!("opening {}", location.database()))?;
    Ok((store, rt))
}

/// The project of this name, or an error saying the store has none.
pub(crate) fn find_project(
    store: &dyn Store,
    rt: &tokio::runtime::Runtime,
    name: &str,
) -> anyhow::Result<lemma_store::Project> {
    rt.block_on(store.project_by_name(name))?
        .ok_or_else(|| anyhow::anyhow!("no project {name:?} in this store"))
}

pub fn projects(cmd: ProjectsCommand) -> anyhow::Result<()> {
    match cmd {
        ProjectsCommand::Create { name, data } => {
            let (store, rt) = open(&data)?;
            let p = rt.block_on(store.create_project(&name))?;
            println!(
                "Created project {:?}. Create a key for it: lemma keys create --project {:?}{}",
                p.name,
                p.name,
                data.flags()
            );
        }
        ProjectsCommand::List { data } => {
            let (store, rt) = open(&data)?;
            let mut t = Table::new(&["NAME", "CREATED", "KEEPS RUNS"]);
            for p in rt.block_on(store.list_projects())? {
                let retention = rt.block_on(store.retention(p.id))?;
                t.row(vec![
                    p.name,
                    time_ago(p.created_at_unix_nano),
                    keeps(retention),
                ]);
            }
            t.print();
        }
        ProjectsCommand::Retention {
            name,
            days,
            forever,
            data,
        } => {
            let (store, rt) = open(&data)?;
            let project = find_project(store.as_ref(), &rt, &name)?;
            if days.is_some() || forever {
                rt.block_on(store.set_retention(project.id, days))?;
            }
            let retention = rt.block_on(store.retention(project.id))?;
            println!("Project {name:?} keeps runs {}.", keeps(retention));
        }
        ProjectsCommand::Redaction {
            name,
            detect,
            pattern,
            drop_keys,
            off,
            data,
        } => {
            let (store, rt) = open(&data)?;
            let project = find_project(store.as_ref(), &rt, &name)?;
            let given = RedactionRules {
                detectors: detect,
                patterns: pattern,
                drop_keys,
            };
            if off || !given.is_empty() {
                rt.block_on(store.set_redaction(project.id, &given))?;
            }
            let rules = rt.block_on(store.redaction(project.id))?;
            print_redaction(&name, &rules);
        }
    }
    Ok(())
}

fn print_redaction(name: &str, rules: &RedactionRules) {
    if rules.is_empty() {
        println!("Project {name:?} redacts nothing.");
        return;
    }
    println!("Project {name:?} redacts, before storing:");
    for d in &rules.detectors {
        println!("  {:<12} {}", d.name(), d.description());
    }
    for p in &rules.patterns {
        println!("  {:<12} /{}/", p.name, p.regex);
    }
    if !rules.drop_keys.is_empty() {
        println!("  {:<12} {}", "drop keys", rules.drop_keys.join(", "));
    }
}

pub fn keys(cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Create {
            project,
            scope,
            data,
        } => {
            let (store, rt) = open(&data)?;
            let k = rt.block_on(store.create_key(&project, None, scope))?;
            println!(
                "API key for project {:?}, scope {} (shown once, keep it safe):\n\n    {}\n",
                k.info.project,
                scope.name(),
                k.secret
            );
            println!(
                "Public key (Basic auth user name, e.g. LANGFUSE_PUBLIC_KEY): {}",
                k.info.public_key
            );
        }
        KeysCommand::List { project, data } => {
            let (store, rt) = open(&data)?;
            let mut t = Table::new(&[
                "ID",
                "PROJECT",
                "PUBLIC KEY",
                "KEY",
                "SCOPE",
                "CREATED",
                "STATUS",
            ]);
            for k in rt.block_on(store.list_keys(project.as_deref()))? {
                t.row(vec![
                    k.id.to_string(),
                    k.project,
                    k.public_key,
                    k.hint,
                    k.scope.name().to_string(),
                    time_ago(k.created_at_unix_nano),
                    if k.revoked {
                        "revoked".into()
                    } else {
                        "active".into()
                    },
                ]);
            }
            t.print();
        }
        KeysCommand::Revoke { key, data } => {
            let (store, rt) = open(&data)?;
            if rt.block_on(store.revoke_key(&key))? {
                println!("Revoked key {key}.");
            } else {
                anyhow::bail!(
                    "no key with id or public key {key:?} (see `lemma keys list{}`)",
                    data.flags()
                );
            }
        }
    }
    Ok(())
}

/// "for 30 days", "forever".
fn keeps(days: Option<u32>) -> String {
    match days {
        Some(1) => "for 1 day".into(),
        Some(d) => format!("for {d} days"),
        None => "forever".into(),
    }
}
