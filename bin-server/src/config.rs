//! Configuration from the environment (and `.env`), as API.md's table sets
//! it. Every error names the variable that is wrong.

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::http::HeaderValue;
use chrono_tz::Tz;
use minifb_adapters_http::{HttpConfig, TrustedProxies};
use rand::Rng;
use rand::distr::Alphanumeric;

/// Shortest accepted secret (`MINIFB_JWT_SECRET`, `MINIFB_ADMIN_TOKEN`).
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Where mail goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailConfig {
    /// Appended to a JSON-lines file (`MINIFB_MAIL_OUTBOX`), when
    /// `MINIFB_SMTP_URL` is not set.
    Outbox(String),
    /// Sent through `MINIFB_SMTP_URL`, from `MINIFB_MAIL_FROM`.
    Smtp { url: String, from: String },
}

/// A secret and whether it was generated at start-up.
#[derive(Clone)]
pub struct Secret {
    pub value: String,
    pub generated: bool,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret(generated: {})", self.generated)
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub bind: SocketAddr,
    pub jwt_secret: Secret,
    pub admin_token: Secret,
    /// CORS origins, the request timeout (`MINIFB_REQUEST_TIMEOUT`,
    /// seconds) and the trusted proxies.
    pub http: HttpConfig,
    pub mail: MailConfig,
    pub timezone: Tz,
    pub password_iterations: u32,
    pub log_format: LogFormat,
    /// Database connections; by default [`default_pool_size`].
    pub pool_size: usize,
    /// Lifetime of access tokens (`MINIFB_ACCESS_TOKEN_TTL`, seconds).
    pub access_token_ttl: Duration,
    /// Open connections per process (`MINIFB_MAX_CONNECTIONS`).
    pub max_connections: usize,
    /// Live notification streams per process (`MINIFB_MAX_STREAMS`).
    pub max_streams: usize,
    /// Longest silence on a stream before a keep-alive comment
    /// (`MINIFB_STREAM_KEEPALIVE`, seconds, 1 to 15; tests shorten it).
    pub stream_keep_alive: Duration,
    /// Sign-ups per client address per 5 minutes (`MINIFB_SIGNUP_LIMIT`);
    /// `None` when it is `0` (no limit).
    pub signup_limit: Option<u32>,
    /// Streaming replicas that may serve reads (`MINIFB_REPLICA_URLS`,
    /// comma-separated); none by default.
    pub replica_urls: Vec<String>,
    /// How far behind a replica may be and still serve others' reads
    /// (`MINIFB_REPLICA_MAX_LAG`, seconds).
    pub replica_max_lag: Duration,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup`, so tests need not touch the
    /// process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let database_url = get("DATABASE_URL").context(
            "DATABASE_URL is not set: point it at PostgreSQL, or use `make run`, which starts a private one",
        )?;
        let bind = get("MINIFB_BIND")
            .unwrap_or_else(|| "127.0.0.1:8080".into())
            .parse()
            .context("MINIFB_BIND must be an address and port such as 127.0.0.1:8080")?;
        let timezone = get("MINIFB_TIMEZONE")
            .unwrap_or_else(|| "UTC".into())
            .parse::<Tz>()
            .map_err(|_| {
                anyhow::anyhow!("MINIFB_TIMEZONE must be an IANA zone such as Asia/Seoul")
            })?;
        let number = |name: &str, default: u64, range: RangeInclusive<u64>| {
            bounded_number(get(name), name, default, range)
        };
        let password_iterations = number(
            "MINIFB_PASSWORD_ITERATIONS",
            600_000,
            1..=u64::from(u32::MAX),
        )?;
        let log_format = match get("MINIFB_LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(_) => bail!("MINIFB_LOG_FORMAT must be 'pretty' or 'json'"),
        };
        let pool_size = number("MINIFB_DB_POOL_SIZE", default_pool_size(), 1..=1000)?;
        let access_token_ttl = number("MINIFB_ACCESS_TOKEN_TTL", 15 * 60, 60..=86_400)?;
        let request_timeout = number("MINIFB_REQUEST_TIMEOUT", 30, 2..=3600)?;
        let max_connections = number("MINIFB_MAX_CONNECTIONS", 10_000, 1..=1_000_000)?;
        // Streams must leave connections for everything else: by default
        // half of them, and never all of them.
        let max_streams = number("MINIFB_MAX_STREAMS", max_connections / 2, 0..=1_000_000)?;
        if max_streams >= max_connections {
            bail!(
                "MINIFB_MAX_STREAMS ({max_streams}) must be below MINIFB_MAX_CONNECTIONS \
                 ({max_connections}), or streams alone could take every connection"
            );
        }
        let signup_limit = number("MINIFB_SIGNUP_LIMIT", 25, 0..=1_000_000)?;
        let trusted_proxies = TrustedProxies::parse(&get("MINIFB_TRUSTED_PROXIES").unwrap_or_default())
            .map_err(|error| {
                anyhow::anyhow!(
                    "MINIFB_TRUSTED_PROXIES must be comma-separated IP addresses or CIDR ranges: {error}"
                )
            })?;
        let stream_keep_alive = number("MINIFB_STREAM_KEEPALIVE", 15, 1..=15)?;
        let replica_urls = list(get("MINIFB_REPLICA_URLS"));
        // The entry is not quoted: it may hold a password.
        if let Some(position) = replica_urls
            .iter()
            .position(|url| !url.starts_with("postgres://") && !url.starts_with("postgresql://"))
        {
            bail!(
                "MINIFB_REPLICA_URLS must be comma-separated postgres:// URLs; entry {} is not one",
                position + 1
            );
        }
        let replica_max_lag = number("MINIFB_REPLICA_MAX_LAG", 5, 1..=86_400)?;
        let cors_origins = list(get("MINIFB_CORS_ORIGINS"))
            .into_iter()
            .map(|origin| {
                HeaderValue::from_str(&origin)
                    .with_context(|| format!("MINIFB_CORS_ORIGINS has an invalid origin: {origin}"))
            })
            .collect::<anyhow::Result<_>>()?;
        let mail = match get("MINIFB_SMTP_URL") {
            Some(url) => MailConfig::Smtp {
                url,
                from: get("MINIFB_MAIL_FROM")
                    .unwrap_or_else(|| "minifb <no-reply@localhost>".into()),
            },
            None => MailConfig::Outbox(
                get("MINIFB_MAIL_OUTBOX").unwrap_or_else(|| "./data/outbox.jsonl".into()),
            ),
        };
        Ok(Self {
            database_url,
            bind,
            // Secrets are read as given: one of only spaces is refused like a
            // short one, never silently replaced.
            jwt_secret: secret(lookup("MINIFB_JWT_SECRET"), "MINIFB_JWT_SECRET")?,
            admin_token: secret(lookup("MINIFB_ADMIN_TOKEN"), "MINIFB_ADMIN_TOKEN")?,
            http: HttpConfig {
                cors_origins,
                request_timeout: Duration::from_secs(request_timeout),
                trusted_proxies,
                ..HttpConfig::default()
            },
            mail,
            timezone,
            password_iterations: u32::try_from(password_iterations)?,
            log_format,
            pool_size: usize::try_from(pool_size)?,
            access_token_ttl: Duration::from_secs(access_token_ttl),
            max_connections: usize::try_from(max_connections)?,
            max_streams: usize::try_from(max_streams)?,
            stream_keep_alive: Duration::from_secs(stream_keep_alive),
            signup_limit: Some(u32::try_from(signup_limit)?).filter(|&n| n > 0),
            replica_urls,
            replica_max_lag: Duration::from_secs(replica_max_lag),
        })
    }
}

/// A comma-separated list, blanks dropped.
fn list(value: Option<String>) -> Vec<String> {
    value
        .map(|v| {
            v.split(',')
                .map(|item| item.trim().to_owned())
                .filter(|item| !item.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// A whole number in `range`, or `default` when the variable is unset.
fn bounded_number(
    value: Option<String>,
    name: &str,
    default: u64,
    range: RangeInclusive<u64>,
) -> anyhow::Result<u64> {
    let Some(value) = value else {
        return Ok(default);
    };
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|n| range.contains(n))
        .with_context(|| {
            format!(
                "{name} must be a whole number from {} to {}",
                range.start(),
                range.end()
            )
        })
}

fn secret(value: Option<String>, name: &str) -> anyhow::Result<Secret> {
    match value {
        Some(value) if value.trim().is_empty() => {
            bail!("{name} is blank: give at least {MIN_SECRET_BYTES} bytes, or unset it")
        }
        Some(value) if value.len() >= MIN_SECRET_BYTES => Ok(Secret {
            value,
            generated: false,
        }),
        Some(value) => bail!(
            "{name} must be at least {MIN_SECRET_BYTES} bytes long (it is {})",
            value.len()
        ),
        None => Ok(Secret {
            value: rand::rng()
                .sample_iter(&Alphanumeric)
                .take(48)
                .map(char::from)
                .collect(),
            generated: true,
        }),
    }
}

/// Twice the CPUs, at least 4: enough connections to keep PostgreSQL busy
/// while others wait on the network, few enough that, with the server, the
/// database and a load generator sharing the cores, requests queue for a
/// connection in order instead of being preempted half-way through a query
/// (more connections than that lengthen the tail of every read; see
/// `docs/performance.md`).
pub fn default_pool_size() -> u64 {
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    u64::try_from(cpus.saturating_mul(2).max(4)).unwrap_or(4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> anyhow::Result<Config> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_follow_the_contract() {
        let config = config(&[("DATABASE_URL", "postgres://x")]).unwrap();
        assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(config.password_iterations, 600_000);
        assert_eq!(config.timezone, Tz::UTC);
        assert!(config.jwt_secret.generated && config.jwt_secret.value.len() >= 32);
        assert!(config.admin_token.generated);
        assert_ne!(config.jwt_secret.value, config.admin_token.value);
        assert!(config.http.cors_origins.is_empty());
        assert_eq!(
            config.mail,
            MailConfig::Outbox("./data/outbox.jsonl".into())
        );
        assert_eq!(config.access_token_ttl, Duration::from_secs(900));
        assert_eq!(config.http.request_timeout, Duration::from_secs(30));
        assert_eq!(config.max_connections, 10_000);
        assert_eq!(config.max_streams, 5_000);
        assert_eq!(config.signup_limit, Some(25));
        assert!(config.replica_urls.is_empty());
        assert_eq!(config.replica_max_lag, Duration::from_secs(5));
    }

    #[test]
    fn replicas_are_comma_separated_urls_with_a_lag_bound_of_a_second_or_more() {
        let config = config(&[
            ("DATABASE_URL", "x"),
            (
                "MINIFB_REPLICA_URLS",
                "postgres://u:p@r1:5433/db, postgresql://r2/db,",
            ),
            ("MINIFB_REPLICA_MAX_LAG", "1"),
        ])
        .unwrap();
        assert_eq!(
            config.replica_urls,
            ["postgres://u:p@r1:5433/db", "postgresql://r2/db"]
        );
        assert_eq!(config.replica_max_lag, Duration::from_secs(1));
        for (name, value) in [
            ("MINIFB_REPLICA_MAX_LAG", "0"),
            ("MINIFB_REPLICA_MAX_LAG", "soon"),
            ("MINIFB_REPLICA_URLS", "host=r1 password=secret"),
        ] {
            let error = super::tests::config(&[("DATABASE_URL", "x"), (name, value)])
                .unwrap_err()
                .to_string();
            assert!(error.contains(name), "{name}={value}: {error}");
            assert!(!error.contains("secret"), "{error}");
        }
    }

    #[test]
    fn streams_default_to_half_the_connections_and_never_take_them_all() {
        let streams = |vars: &[(&str, &str)]| {
            let mut all = vec![("DATABASE_URL", "x")];
            all.extend_from_slice(vars);
            config(&all).map(|c| c.max_streams)
        };
        assert_eq!(streams(&[("MINIFB_MAX_CONNECTIONS", "30")]).unwrap(), 15);
        assert_eq!(
            streams(&[
                ("MINIFB_MAX_CONNECTIONS", "30"),
                ("MINIFB_MAX_STREAMS", "29")
            ])
            .unwrap(),
            29
        );
        for refused in ["30", "31"] {
            let error = streams(&[
                ("MINIFB_MAX_CONNECTIONS", "30"),
                ("MINIFB_MAX_STREAMS", refused),
            ])
            .unwrap_err()
            .to_string();
            assert!(
                error.contains("MINIFB_MAX_STREAMS") && error.contains("MINIFB_MAX_CONNECTIONS"),
                "{refused}: {error}"
            );
        }
        let error = streams(&[("MINIFB_MAX_STREAMS", "10000")]).unwrap_err();
        assert!(error.to_string().contains("below"), "{error}");
    }

    #[test]
    fn a_signup_limit_of_zero_turns_it_off() {
        let limit = |value: &str| {
            config(&[("DATABASE_URL", "x"), ("MINIFB_SIGNUP_LIMIT", value)]).map(|c| c.signup_limit)
        };
        assert_eq!(limit("0").unwrap(), None);
        assert_eq!(limit("3").unwrap(), Some(3));
        let error = limit("-1").unwrap_err().to_string();
        assert!(error.contains("MINIFB_SIGNUP_LIMIT"), "{error}");
    }

    #[test]
    fn errors_name_the_variable() {
        let missing = config(&[]).unwrap_err().to_string();
        assert!(missing.contains("DATABASE_URL"), "{missing}");
        // (variable, value, what else the message must say)
        let cases = [
            ("MINIFB_JWT_SECRET", "short", "32"),
            ("MINIFB_TIMEZONE", "Mars/Base", ""),
            ("MINIFB_LOG_FORMAT", "xml", ""),
            ("MINIFB_ACCESS_TOKEN_TTL", "5", ""),
            ("MINIFB_ADMIN_TOKEN", "   ", "blank"),
            ("MINIFB_TRUSTED_PROXIES", "10.0.0.1, nginx", "'nginx'"),
        ];
        for (name, value, detail) in cases {
            let error = config(&[("DATABASE_URL", "x"), (name, value)])
                .unwrap_err()
                .to_string();
            assert!(
                error.contains(name) && error.contains(detail),
                "{name}={value:?}: {error}"
            );
        }
    }

    #[test]
    fn cors_origins_are_comma_separated() {
        let config = config(&[
            ("DATABASE_URL", "x"),
            (
                "MINIFB_CORS_ORIGINS",
                "https://a.example, http://localhost:3000,",
            ),
        ])
        .unwrap();
        assert_eq!(
            config.http.cors_origins,
            ["https://a.example", "http://localhost:3000"]
        );
    }

    #[test]
    fn an_origin_that_is_no_header_value_is_refused_naming_the_variable() {
        let origins = "https://a.example,https://b\u{7f}.example";
        let error = config(&[("DATABASE_URL", "x"), ("MINIFB_CORS_ORIGINS", origins)])
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "MINIFB_CORS_ORIGINS has an invalid origin: https://b\u{7f}.example"
        );
    }

    #[test]
    fn mail_goes_through_smtp_when_its_url_is_set_and_else_to_the_outbox() {
        let mail = |vars: &[(&str, &str)]| {
            let mut all = vec![
                ("DATABASE_URL", "x"),
                ("MINIFB_MAIL_OUTBOX", "/tmp/o.jsonl"),
            ];
            all.extend_from_slice(vars);
            config(&all).unwrap().mail
        };
        assert_eq!(mail(&[]), MailConfig::Outbox("/tmp/o.jsonl".into()));
        let smtp = mail(&[("MINIFB_SMTP_URL", "smtp://mail:25")]);
        let from = "minifb <no-reply@localhost>".to_owned();
        let url = "smtp://mail:25".to_owned();
        assert_eq!(smtp, MailConfig::Smtp { url, from });
        let smtp = mail(&[
            ("MINIFB_SMTP_URL", "smtp://mail:25"),
            ("MINIFB_MAIL_FROM", "Ops <ops@example.com>"),
        ]);
        let MailConfig::Smtp { from, .. } = smtp else {
            panic!("{smtp:?}");
        };
        assert_eq!(from, "Ops <ops@example.com>");
    }
}
