//! hookline-relay: the binary around the `hookline_relay` library. Flags live
//! in `args.rs`; this file only wires them to the library.

mod args;
mod cluster_args;
mod serve_tokens;
mod token_cmd;

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Parser;
use hookline_relay::acme::{Acme, AcmeConfig};
use hookline_relay::cluster::{ClusterOptions, JetStreamQueue};
use hookline_relay::{
    Heartbeat, OfflineMode, QueueLimits, Relay, RelayConfig, TokenSet, load_tls, new_token,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::args::{Cli, Command, Offline, ServeArgs};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hookline-relay: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::NewToken) => {
            let token = new_token().context("no OS randomness for a token")?;
            println!("{}", token.expose());
            eprintln!(
                "add this line to the relay's tokens file (--tokens-file) and give the token to the client"
            );
            Ok(())
        }
        Some(Command::Token(command)) => token_cmd::run(command).await,
        None => serve(cli.serve).await,
    }
}

fn queue_limits(args: &ServeArgs) -> QueueLimits {
    QueueLimits {
        max_count: args.queue_max_count,
        max_bytes: args.queue_max_bytes,
        max_age: args.queue_max_age,
    }
}

fn config(args: &ServeArgs, tokens: TokenSet) -> RelayConfig {
    let mut config = RelayConfig::new(tokens, args.data_dir.clone());
    config.public_url = args.public_url.clone();
    config.trust_proxy = args.trust_proxy;
    config.trusted_proxies = args.trusted_proxy.clone();
    config.max_body = args.max_body;
    config.response_timeout = args.response_timeout;
    config.offline = match args.offline {
        Offline::Queue => OfflineMode::Queue,
        Offline::Reject => OfflineMode::Reject,
    };
    config.queue_limits = queue_limits(args);
    config.channel_rate = args.channel_rate_limit;
    config.max_connections = args.max_connections;
    config.max_connections_per_ip = args.max_connections_per_ip;
    config.max_failed_handshakes = args.max_failed_handshakes;
    config.idle_timeout = args.idle_timeout;
    config.header_read_timeout = args.header_read_timeout;
    config.request_read_timeout = args.request_read_timeout;
    config.heartbeat = Heartbeat {
        ping_interval: args.ping_interval,
        dead_peer_after: args.dead_peer_after,
        ..Heartbeat::default()
    };
    config
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // Colours only on a terminal: in a log file or a journal they are noise.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_ansi(std::io::stdout().is_terminal())
        .init();
    let cluster = join_cluster(&args).await?;
    let tokens = serve_tokens::load(&args, cluster.as_ref()).await?;
    let channels: Vec<(String, String)> = tokens
        .initial
        .channels()
        .map(|(n, id)| (n.to_owned(), id.to_string()))
        .collect();
    let acme = acme(&args)?;
    let mut config = config(&args, tokens.initial.clone());
    config.acme_challenges = acme.as_ref().map(Acme::challenges);
    config.tokens_reloadable = tokens.reloadable();
    let relay = match cluster {
        Some((queue, _)) => Relay::with_cluster(config, queue),
        None => Relay::open(config),
    }
    .context("cannot start the relay")?;
    let http = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let tls_config = match (&acme, &args.tls_cert, &args.tls_key) {
        (Some(acme), _, _) => Some(acme.tls_config()?),
        (None, Some(cert), Some(key)) => Some(load_tls(cert, key)?),
        _ => None,
    };
    let tls = match (args.tls_listen, tls_config) {
        (Some(addr), Some(config)) => {
            let listener = TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            Some((listener, config))
        }
        (Some(_), None) => bail!(
            "--tls-listen needs a certificate: --acme-domain NAME --acme-email EMAIL to obtain \
             one automatically, or --tls-cert and --tls-key"
        ),
        (None, _) => None,
    };
    let base = args
        .public_url
        .clone()
        .unwrap_or_else(|| public_base(&args, tls.as_ref().map(|(l, _)| l)));
    for (name, id) in &channels {
        println!("channel {name}: {}/h/{id}", base.trim_end_matches('/'));
    }
    let shutdown = CancellationToken::new();
    tokio::spawn(signal(shutdown.clone()));
    let watcher = tokens.watch(relay.clone(), shutdown.clone());
    let renewals = acme.map(|acme| tokio::spawn(acme.run(shutdown.clone())));
    let plain = relay.serve(http, None, shutdown.clone());
    let secure = async {
        match tls {
            Some((listener, config)) => {
                relay
                    .serve(listener, Some(Arc::clone(&config)), shutdown.clone())
                    .await
            }
            None => Ok(()),
        }
    };
    let (a, b) = tokio::join!(plain, secure);
    for task in [watcher, renewals].into_iter().flatten() {
        let _ = task.await;
    }
    let closed = relay.close().await;
    a?;
    b?;
    closed?;
    Ok(())
}

/// The certificate manager for --acme-domain: serves a cached certificate at
/// once; orders and renewals run beside the listeners.
fn acme(args: &ServeArgs) -> anyhow::Result<Option<Acme>> {
    let acme = &args.acme;
    if acme.acme_domains.is_empty() {
        return Ok(None);
    }
    let mut config = AcmeConfig::new(acme.acme_domains.clone(), &args.data_dir);
    config.email = acme.acme_email.clone();
    config.directory = acme.acme_directory.clone();
    config.directory_ca = acme.acme_directory_ca.clone();
    config.renew_before = acme.acme_renew_before;
    Ok(Some(Acme::new(config).context("automatic HTTPS")?))
}

/// The base of the URLs printed at start: the first ACME name, or the listen address.
fn public_base(args: &ServeArgs, tls: Option<&TcpListener>) -> String {
    let Some(Ok(addr)) = tls.map(TcpListener::local_addr) else {
        return format!("http://{}", args.listen);
    };
    match args.acme.acme_domains.first() {
        Some(name) if addr.port() == 443 => format!("https://{name}"),
        Some(name) => format!("https://{name}:{}", addr.port()),
        None => format!("https://{addr}"),
    }
}

/// With --cluster: this relay's queue on JetStream, and the cluster settings.
async fn join_cluster(
    args: &ServeArgs,
) -> anyhow::Result<Option<(Arc<JetStreamQueue>, ClusterOptions)>> {
    let Some(options) = args.cluster.options() else {
        return Ok(None);
    };
    let queue = JetStreamQueue::connect(&options, &queue_limits(args))
        .await
        .context("cannot join the relay cluster")?;
    tracing::info!(nats = %options.servers.join(","), "relay cluster member: queues on JetStream");
    Ok(Some((queue, options)))
}

/// Ctrl-C or SIGTERM starts a graceful shutdown.
async fn signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!("cannot watch SIGTERM: {e}");
                    let _ = ctrl_c.await;
                    return shutdown.cancel();
                }
            };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down: finishing in-flight requests");
    shutdown.cancel();
}
