//! Command-line flags of `hookline-relay`, each with an environment fallback.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use hookline_protocol::limits;
use hookline_relay::{IpNet, parse_duration};

/// The public half of hookline: accepts webhooks at per-channel URLs and
/// streams them to the developer's `hookline` client over a WebSocket.
#[derive(Debug, Parser)]
#[command(name = "hookline-relay", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

// Parsed once per run: the size of the token commands' NATS flags does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a new random token to put in the tokens file (one per line).
    NewToken,
    /// Add, list or revoke named tokens in the tokens file; a running relay
    /// picks the change up without a restart.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token NAME, print it once and store only its hash. For an existing
    /// NAME, add the --channel names (its token is then read from stdin), or
    /// change its limits (--rate, --queue-bytes alone need no token).
    Add {
        /// A name for the token (who or what uses it): letters, digits, '-', '_', '.'.
        name: String,
        /// An extra channel the token owns, beside `default` (repeatable).
        #[arg(long = "channel")]
        channels: Vec<String>,
        /// Requests per second each of its channels may take, instead of the
        /// relay's --channel-rate-limit (0: no limit).
        #[arg(long)]
        rate: Option<u32>,
        /// Bytes each of its channels may keep queued, instead of the relay's
        /// --queue-max-bytes.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        queue_bytes: Option<u64>,
        #[command(flatten)]
        file: TokensFileArg,
    },
    /// Show each token's name, creation date, channels and own limits, never the token.
    List {
        #[command(flatten)]
        file: TokensFileArg,
    },
    /// Remove token NAME: its sessions end, its URLs answer 404 and its queued
    /// deliveries are deleted.
    Revoke {
        /// The name given at `token add`.
        name: String,
        #[command(flatten)]
        file: TokensFileArg,
    },
}

/// Where the tokens are kept: a relay's file, or a cluster's bucket.
#[derive(Debug, clap::Args)]
pub struct TokensFileArg {
    /// The tokens file the relay serves with (its --tokens-file).
    #[arg(
        long,
        env = "HOOKLINE_RELAY_TOKENS_FILE",
        required_unless_present = "cluster"
    )]
    pub tokens_file: Option<PathBuf>,
    /// Edit the token bucket of the relay cluster on this NATS instead of a
    /// file (every relay of the cluster applies the change at once).
    #[command(flatten)]
    pub cluster: crate::cluster_args::ClusterArgs,
}

/// What the clients' offline senders get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Offline {
    /// Keep the delivery and answer 202 Accepted.
    Queue,
    /// Keep nothing and answer 503 with Retry-After.
    Reject,
}

/// Automatic HTTPS from an ACME CA.
#[derive(Debug, clap::Args)]
pub struct AcmeArgs {
    /// Obtain and renew the --tls-listen certificate for this DNS name from an
    /// ACME CA (repeatable). The name must resolve to this host, and the CA
    /// must reach port 443 (TLS-ALPN-01, tried first) or port 80 (HTTP-01 on
    /// --listen). Account and certificate are cached in --data-dir.
    #[arg(long = "acme-domain", env = "HOOKLINE_RELAY_ACME_DOMAINS", value_delimiter = ',',
          value_name = "NAME", requires_all = ["acme_email", "tls_listen"],
          conflicts_with_all = ["tls_cert", "tls_key", "cluster"])]
    pub acme_domains: Vec<String>,
    /// Contact address for the CA account (expiry and policy notices).
    #[arg(long, env = "HOOKLINE_RELAY_ACME_EMAIL", value_name = "EMAIL")]
    pub acme_email: Option<String>,
    /// The CA's ACME directory URL: a staging or private CA instead of Let's
    /// Encrypt production.
    #[arg(long, env = "HOOKLINE_RELAY_ACME_DIRECTORY", value_name = "URL",
          default_value = hookline_relay::acme::DEFAULT_DIRECTORY)]
    pub acme_directory: String,
    /// PEM certificate(s) to trust for the ACME directory's own HTTPS (a
    /// private CA), beside the usual web roots.
    #[arg(long, env = "HOOKLINE_RELAY_ACME_DIRECTORY_CA", value_name = "PEM")]
    pub acme_directory_ca: Option<PathBuf>,
    /// Renew when the certificate has less than this left, e.g. 30d.
    #[arg(long, env = "HOOKLINE_RELAY_ACME_RENEW_BEFORE", default_value = "30d",
          value_parser = parse_duration)]
    pub acme_renew_before: Duration,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Plain-HTTP listen address, for local use or behind a TLS-terminating proxy.
    #[arg(long, env = "HOOKLINE_RELAY_LISTEN", default_value = "127.0.0.1:8700")]
    pub listen: SocketAddr,
    /// HTTPS listen address (0.0.0.0:443 for a public relay); its certificate
    /// comes from --acme-domain, or from --tls-cert and --tls-key.
    #[arg(long, env = "HOOKLINE_RELAY_TLS_LISTEN")]
    pub tls_listen: Option<SocketAddr>,
    /// PEM certificate chain for --tls-listen.
    #[arg(long, env = "HOOKLINE_RELAY_TLS_CERT", requires_all = ["tls_key", "tls_listen"])]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-listen.
    #[arg(long, env = "HOOKLINE_RELAY_TLS_KEY", requires_all = ["tls_cert", "tls_listen"])]
    pub tls_key: Option<PathBuf>,
    #[command(flatten)]
    pub acme: AcmeArgs,
    /// File of lines `TOKEN [CHANNEL_NAME...]` and of hashed tokens written by
    /// `hookline-relay token add`; `#` starts a comment. Each token owns a
    /// default channel plus the named ones. Reloaded when it changes and on SIGHUP.
    #[arg(long, env = "HOOKLINE_RELAY_TOKENS_FILE")]
    pub tokens_file: Option<PathBuf>,
    /// Tokens separated by commas or whitespace. Prefer the environment
    /// variable: command lines are visible to other users.
    #[arg(long, env = "HOOKLINE_RELAY_TOKENS", hide_env_values = true)]
    pub tokens: Option<String>,
    /// Directory of the durable delivery queue (one relay process per directory).
    #[arg(
        long,
        env = "HOOKLINE_RELAY_DATA_DIR",
        default_value = "hookline-relay-data"
    )]
    pub data_dir: PathBuf,
    /// Public base URL senders use, e.g. https://relay.example.com. Default: taken
    /// from each request's Host (and X-Forwarded-* with --trust-proxy).
    #[arg(long, env = "HOOKLINE_RELAY_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Believe X-Forwarded-Proto/Host/For: only behind a proxy that sets them.
    /// Alone, every peer counts as a proxy, so the per-address limits
    /// (--max-connections-per-ip, --max-failed-handshakes) are off and the
    /// proxy must do its own; name the proxies with --trusted-proxy instead
    /// to keep the limits for everyone else.
    #[arg(long, env = "HOOKLINE_RELAY_TRUST_PROXY")]
    pub trust_proxy: bool,
    /// Address or network of a proxy in front of the relay (10.0.0.5,
    /// 10.0.0.0/8, fd00::/8); repeat it or separate with commas. Only these
    /// peers count as proxies: their X-Forwarded-* is believed (no need for
    /// --trust-proxy) and they are exempt from the per-address limits, since
    /// every sender behind them shares their address. Other peers are direct
    /// senders: their X-Forwarded-* is ignored and the limits apply.
    #[arg(
        long,
        env = "HOOKLINE_RELAY_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_name = "ADDR[/BITS]"
    )]
    pub trusted_proxy: Vec<IpNet>,
    /// Largest webhook body in bytes (GitHub sends up to 25 MiB).
    #[arg(long, env = "HOOKLINE_RELAY_MAX_BODY", default_value_t = limits::DEFAULT_MAX_BODY_BYTES,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=limits::MAX_BODY_BYTES_CEILING as u64))]
    pub max_body: usize,
    /// How long a sender waits for the local app's answer, e.g. 9s, 500ms, 2m.
    /// Senders give up near 10 s, so stay below that.
    #[arg(long, env = "HOOKLINE_RELAY_RESPONSE_TIMEOUT", default_value = "9s", value_parser = parse_duration)]
    pub response_timeout: Duration,
    /// What senders get while the channel's client is offline.
    #[arg(
        long,
        env = "HOOKLINE_RELAY_OFFLINE",
        value_enum,
        default_value = "queue"
    )]
    pub offline: Offline,
    /// Most deliveries queued per channel; past it senders get 503.
    #[arg(long, env = "HOOKLINE_RELAY_QUEUE_MAX_COUNT", default_value_t = 10_000)]
    pub queue_max_count: u64,
    /// Most bytes queued per channel; past it senders get 503.
    #[arg(long, env = "HOOKLINE_RELAY_QUEUE_MAX_BYTES", default_value_t = 512 * 1024 * 1024)]
    pub queue_max_bytes: u64,
    /// Requests per second one channel may take, in bursts of up to a
    /// second's worth; past it senders get 429 with Retry-After (they retry).
    /// Counted per relay process. 0: no limit. A token's `rate=` overrides it.
    #[arg(long, env = "HOOKLINE_RELAY_CHANNEL_RATE_LIMIT", default_value_t = 100)]
    pub channel_rate_limit: u32,
    /// Unacknowledged deliveries older than this are dropped (counted in /metrics).
    #[arg(long, env = "HOOKLINE_RELAY_QUEUE_MAX_AGE", default_value = "7d", value_parser = parse_duration)]
    pub queue_max_age: Duration,
    /// Most open connections per listener; further ones wait in the listen backlog.
    #[arg(long, env = "HOOKLINE_RELAY_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,
    /// Most open connections from one address (IPv6: one /64); past it a
    /// connection gets 429 and is closed, so a flood from one address leaves
    /// room for others. Trusted proxies are exempt (see --trusted-proxy).
    #[arg(long, env = "HOOKLINE_RELAY_MAX_CONNECTIONS_PER_IP", default_value_t = 256,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_connections_per_ip: usize,
    /// Failed client handshakes (bad token, another token's channel…) one address may
    /// make per minute; then its connects get 429 until the minute is over.
    /// Refusals are logged as one summary line a minute. Trusted proxies are exempt.
    #[arg(long, env = "HOOKLINE_RELAY_MAX_FAILED_HANDSHAKES", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_failed_handshakes: u32,
    /// Close an HTTP connection with no traffic for this long (above --response-timeout).
    #[arg(long, env = "HOOKLINE_RELAY_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// Time allowed for a request's headers and the TLS handshake (slowloris guard).
    #[arg(long, env = "HOOKLINE_RELAY_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: Duration,
    /// Time allowed for a whole request, headers and body, from its first
    /// byte; a sender still sending after it gets 408. The wait for the local
    /// app's answer is not included (--response-timeout).
    #[arg(long, env = "HOOKLINE_RELAY_REQUEST_READ_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub request_read_timeout: Duration,
    /// How often the relay pings each client.
    #[arg(long, env = "HOOKLINE_RELAY_PING_INTERVAL", default_value = "10s", value_parser = parse_duration)]
    pub ping_interval: Duration,
    /// A client silent this long is considered dead and its session closed.
    #[arg(long, env = "HOOKLINE_RELAY_DEAD_PEER_AFTER", default_value = "30s", value_parser = parse_duration)]
    pub dead_peer_after: Duration,
    #[command(flatten)]
    pub cluster: crate::cluster_args::ClusterArgs,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn every_flag_is_documented_and_tokens_stay_hidden() {
        Cli::command().debug_assert();
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("HOOKLINE_RELAY_TOKENS"));
        for arg in Cli::command().get_arguments() {
            assert!(
                arg.get_help().is_some() || arg.get_long_help().is_some(),
                "{} undocumented",
                arg.get_id()
            );
        }
    }
}
