//! ClickHouse servers started on loopback, for tests and benchmarks: each in its own
//! directory, on free ports, stopped when dropped. Two or more started together form a
//! cluster named [`CLUSTER`], one shard each (no replicas, so no ZooKeeper).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The cluster name local servers share in `remote_servers`.
pub const CLUSTER: &str = "lemma";

const SERVER_BIN: &str = "/usr/sbin/clickhouse-server";

pub struct LocalServer {
    dir: PathBuf,
    pub http_port: u16,
    pub tcp_port: u16,
    child: Option<Child>,
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl LocalServer {
    /// Starts one server in `dir` (created if missing).
    pub fn start(dir: &Path) -> std::io::Result<LocalServer> {
        Ok(Self::start_cluster(dir, 1)?.pop().expect("one server"))
    }

    /// Starts `shards` servers in subdirectories of `dir`, each knowing the others as the
    /// shards of [`CLUSTER`].
    pub fn start_cluster(dir: &Path, shards: usize) -> std::io::Result<Vec<LocalServer>> {
        if !Path::new(SERVER_BIN).exists() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{SERVER_BIN} is missing: run scripts/clickhouse-setup"),
            ));
        }
        let mut servers = Vec::new();
        for i in 0..shards {
            servers.push(LocalServer {
                dir: dir.join(format!("clickhouse-{i}")),
                http_port: free_port()?,
                tcp_port: free_port()?,
                child: None,
            });
        }
        let shards_xml: String = servers
            .iter()
            .map(|s| {
                format!(
                    "<shard><replica><host>127.0.0.1</host><port>{}</port></replica></shard>",
                    s.tcp_port
                )
            })
            .collect();
        for s in &mut servers {
            s.configure(&shards_xml)?;
            s.resume()?;
        }
        Ok(servers)
    }

    /// The server process, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Where its data and logs are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `http://127.0.0.1:PORT`
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    fn configure(&self, shards_xml: &str) -> std::io::Result<()> {
        let dir = &self.dir;
        std::fs::create_dir_all(dir.join("data"))?;
        std::fs::create_dir_all(dir.join("log"))?;
        let d = dir.display();
        let interserver = free_port()?;
        std::fs::write(
            dir.join("config.xml"),
            format!(
                r#"<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level>
        <log>{d}/log/server.log</log><errorlog>{d}/log/server.err.log</errorlog></logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>{http}</http_port>
    <tcp_port>{tcp}</tcp_port>
    <interserver_http_port>{interserver}</interserver_http_port>
    <path>{d}/data/</path>
    <tmp_path>{d}/data/tmp/</tmp_path>
    <user_files_path>{d}/data/user_files/</user_files_path>
    <format_schema_path>{d}/data/format_schemas/</format_schema_path>
    <users_config>{d}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mark_cache_size>268435456</mark_cache_size>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <remote_servers><{CLUSTER}>{shards_xml}</{CLUSTER}></remote_servers>
    <query_log><database>system</database><table>query_log</table>
        <flush_interval_milliseconds>7500</flush_interval_milliseconds></query_log>
    <part_log><database>system</database><table>part_log</table>
        <flush_interval_milliseconds>7500</flush_interval_milliseconds></part_log>
</yandex>
"#,
                http = self.http_port,
                tcp = self.tcp_port,
            ),
        )?;
        std::fs::write(
            dir.join("users.xml"),
            r#"<?xml version="1.0"?>
<yandex>
    <profiles><default><log_queries>1</log_queries></default></profiles>
    <users><default>
        <password></password>
        <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
        <profile>default</profile><quota>default</quota>
    </default></users>
    <quotas><default></default></quotas>
</yandex>
"#,
        )
    }

    /// Starts the server again after `stop` or `kill`, with its data, and waits until it
    /// answers.
    pub fn resume(&mut self) -> std::io::Result<()> {
        let log = std::fs::File::create(self.dir.join("log/stdout.log"))?;
        let child = Command::new(SERVER_BIN)
            .arg(format!(
                "--config-file={}",
                self.dir.join("config.xml").display()
            ))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.ping() {
                return Ok(());
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                return Err(std::io::Error::other(format!(
                    "clickhouse-server exited with {status}: see {}",
                    self.dir.join("log").display()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(std::io::Error::other(format!(
            "clickhouse-server did not answer within 30 s: see {}",
            self.dir.join("log").display()
        )))
    }

    fn ping(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.http_port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
        if s.write_all(b"GET /ping HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .is_err()
        {
            return false;
        }
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out.ends_with("Ok.\n")
    }

    /// Stops the server (SIGTERM) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the server at once (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.kill();
    }
}
