//! The relay inside `hookline listen` when no `--relay` is given: the whole
//! chain on one machine with one command.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use hookline_protocol::Secret;
use hookline_relay::{Relay, RelayConfig, TokenSet, new_token};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A running in-process relay.
#[derive(Debug)]
pub struct EmbeddedRelay {
    /// `ws://…` base the client connects to.
    pub url: String,
    pub token: Secret,
    relay: Relay,
    serving: JoinHandle<Result<(), hookline_relay::RelayError>>,
    shutdown: CancellationToken,
}

impl EmbeddedRelay {
    /// Starts the relay on `listen` with its queue in `data_dir/relay`. The
    /// token is kept in `data_dir/embedded-token` so the channel, and with it
    /// the public URL, stays the same across restarts.
    pub async fn start(
        data_dir: &Path,
        listen: SocketAddr,
        max_body: usize,
    ) -> anyhow::Result<Self> {
        let token = load_or_create_token(&data_dir.join("embedded-token"))?;
        let mut tokens = TokenSet::new();
        tokens.add(token.clone(), Vec::new());
        let mut config = RelayConfig::new(tokens, data_dir.join("relay"));
        config.max_body = max_body;
        // Every sender of a local relay is 127.0.0.1: a per-address cap would
        // be a cap on all of them together.
        config.max_connections_per_ip = config.max_connections;
        let relay = Relay::open(config).context("cannot open the embedded relay's queue")?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|err| bind_error(listen, &err))?;
        let addr = listener.local_addr().context("embedded relay address")?;
        let shutdown = CancellationToken::new();
        let serving = tokio::spawn({
            let relay = relay.clone();
            let shutdown = shutdown.clone();
            async move { relay.serve(listener, None, shutdown).await }
        });
        Ok(Self {
            url: format!("ws://{addr}"),
            token,
            relay,
            serving,
            shutdown,
        })
    }

    /// Stops accepting, finishes in-flight requests and flushes the queue.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        match self.serving.await {
            Ok(result) => result.context("embedded relay")?,
            Err(err) => anyhow::bail!("embedded relay task failed: {err}"),
        }
        self.relay
            .close()
            .await
            .context("flushing the embedded relay's queue")
    }
}

/// Why the embedded relay's address cannot be had, and what to do. Whoever
/// holds a busy port is not known (another `hookline listen`, or any
/// server), so the message names the address, not a culprit.
fn bind_error(listen: SocketAddr, err: &std::io::Error) -> anyhow::Error {
    let why = match err.kind() {
        std::io::ErrorKind::AddrInUse => format!("{listen} is already in use by another program"),
        std::io::ErrorKind::PermissionDenied => {
            format!("listening on {listen} is not permitted (ports below 1024 need privileges)")
        }
        std::io::ErrorKind::AddrNotAvailable => {
            format!("{} is not an address of this machine", listen.ip())
        }
        _ => format!("cannot listen on {listen}: {err}"),
    };
    anyhow::anyhow!(
        "the embedded relay cannot start: {why}; pick another address with --listen \
         (e.g. --listen 127.0.0.1:{}, or set HOOKLINE_LISTEN)",
        listen.port().saturating_add(1).max(1024)
    )
}

fn load_or_create_token(path: &Path) -> anyhow::Result<Secret> {
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => return Ok(Secret::new(text.trim())),
        Ok(_) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
    }
    let token = new_token().context("no randomness for the embedded relay's token")?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(token.expose().as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(token)
}
