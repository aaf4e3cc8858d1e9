//! Where the ClickHouse store is: `clickhouse://[user:password@]host:port/database`, with
//! `?cluster=NAME&shards=host:port,host:port` for a cluster (every shard's HTTP address, for
//! creating the tables each shard keeps).

use crate::StoreError;

#[derive(Debug, Clone, PartialEq)]
pub struct ClickHouseConfig {
    /// `http://host:port` the store sends its queries to.
    pub url: String,
    pub database: String,
    pub user: Option<String>,
    pub password: Option<String>,
    /// The cluster (from the servers' `remote_servers`) the tables are spread over, if any.
    pub cluster: Option<String>,
    /// Every shard's `http://host:port` (the query address alone without a cluster).
    pub shards: Vec<String>,
}

fn invalid(url: &str, why: &str) -> StoreError {
    StoreError::Invalid(format!(
        "invalid ClickHouse address {:?}: {why} (expected clickhouse://[user:password@]host:8123/database)",
        redact(url)
    ))
}

/// The address without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(_) => url.to_string(),
        // Unreadable as a URL: whatever precedes an `@` in the authority may hold a password.
        Err(_) => {
            let (prefix, rest) = match url.split_once("://") {
                Some((scheme, rest)) => (format!("{scheme}://"), rest),
                None => (String::new(), url),
            };
            let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
            match authority.rfind('@') {
                Some(at) => format!("{prefix}***@{}", &rest[at + 1..]),
                None => url.to_string(),
            }
        }
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !s.as_bytes()[0].is_ascii_digit()
}

impl ClickHouseConfig {
    pub fn parse(address: &str) -> Result<ClickHouseConfig, StoreError> {
        let u = url::Url::parse(address).map_err(|e| invalid(address, &e.to_string()))?;
        if u.scheme() != "clickhouse" {
            return Err(invalid(address, "the scheme must be clickhouse://"));
        }
        let host = u
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid(address, "no host"))?;
        let port = u.port().unwrap_or(8123);
        let database = u.path().trim_start_matches('/');
        let database = if database.is_empty() {
            "lemma"
        } else {
            database
        };
        // Names are spliced into DDL: only plain identifiers pass.
        if !is_name(database) {
            return Err(invalid(
                address,
                "the database name may hold only letters, digits and _",
            ));
        }
        let decode = |s: &str| {
            percent_decode(s).ok_or_else(|| invalid(address, "bad percent-encoding in user info"))
        };
        let user = match u.username() {
            "" => None,
            name => Some(decode(name)?),
        };
        let password = u.password().map(decode).transpose()?;
        let url = format!("http://{host}:{port}");
        let mut cluster = None;
        let mut shards = Vec::new();
        for (key, value) in u.query_pairs() {
            match key.as_ref() {
                "cluster" if is_name(&value) => cluster = Some(value.into_owned()),
                "cluster" => {
                    return Err(invalid(
                        address,
                        "the cluster name may hold only letters, digits and _",
                    ))
                }
                "shards" => {
                    for shard in value.split(',').filter(|s| !s.is_empty()) {
                        if shard.contains('/') || !shard.contains(':') {
                            return Err(invalid(address, "shards are host:port, comma-separated"));
                        }
                        shards.push(format!("http://{shard}"));
                    }
                }
                other => {
                    return Err(invalid(
                        address,
                        &format!("unknown option {other:?} (known: cluster, shards)"),
                    ))
                }
            }
        }
        if cluster.is_none() && !shards.is_empty() {
            return Err(invalid(address, "shards= needs cluster="));
        }
        if shards.is_empty() {
            shards.push(url.clone());
        }
        Ok(ClickHouseConfig {
            url,
            database: database.to_string(),
            user,
            password,
            cluster,
            shards,
        })
    }
}

fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_with_defaults_and_credentials() {
        let c = ClickHouseConfig::parse("clickhouse://localhost/").unwrap();
        assert_eq!(c.url, "http://localhost:8123");
        assert_eq!(c.database, "lemma");
        assert_eq!(c.shards, ["http://localhost:8123"]);
        let c = ClickHouseConfig::parse("clickhouse://bob:p%40ss@ch.internal:9123/traces").unwrap();
        assert_eq!(c.url, "http://ch.internal:9123");
        assert_eq!(c.database, "traces");
        assert_eq!(c.user.as_deref(), Some("bob"));
        assert_eq!(c.password.as_deref(), Some("p@ss"));
        let c = ClickHouseConfig::parse("clickhouse://a:8123/db?cluster=two&shards=a:8123,b:8124")
            .unwrap();
        assert_eq!(c.cluster.as_deref(), Some("two"));
        assert_eq!(c.shards, ["http://a:8123", "http://b:8124"]);
    }

    #[test]
    fn bad_addresses_say_what_is_wrong_without_the_password() {
        for (bad, says) in [
            ("http://localhost:8123/db", "scheme"),
            ("clickhouse://localhost/db;drop", "database name"),
            ("clickhouse://localhost/db?cluster=a-b", "cluster name"),
            ("clickhouse://localhost/db?shards=a:1", "needs cluster"),
            ("clickhouse://localhost/db?x=1", "unknown option"),
            ("clickhouse://u:secret@/db", "host"),
        ] {
            let e = ClickHouseConfig::parse(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
            assert!(!e.contains("secret"), "{e}");
        }
    }
}
