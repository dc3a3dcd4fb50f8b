//! The tunnel under test, started in this process: a relay on 127.0.0.1:0
//! with one token (or several relays sharing a NATS JetStream cluster), and
//! optionally the real `hookline listen` pipeline connected to the first,
//! verifying, storing and forwarding to the sink.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use hookline::listen::{ListenOptions, Listening, RelayChoice};
use hookline::store::Counts;
use hookline::verify::{Scheme, SchemeChoice, Verifier};
use hookline_protocol::{ChannelId, DEFAULT_CHANNEL_NAME, Secret};
use hookline_relay::cluster::{ClusterOptions, JetStreamQueue};
use hookline_relay::{Relay, RelayConfig, RelayError, TokenSet};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::payload::SECRET;

const TOKEN: &str = "bench-token-4c1d9a";

/// A lagging event subscription must not stall the wait.
const RECHECK: Duration = Duration::from_millis(50);

/// The relays (the client's first), and the client once [`Tunnel::connect`] ran.
#[derive(Debug)]
pub struct Tunnel {
    /// The first relay's address, where the client connects.
    pub addr: SocketAddr,
    pub client: Option<Listening>,
    relays: Vec<Serving>,
    dir: tempfile::TempDir,
}

impl Tunnel {
    /// A relay with its queue in a fresh temp dir; `tweak` adjusts its config.
    pub async fn relay(tweak: impl FnOnce(&mut RelayConfig)) -> anyhow::Result<Tunnel> {
        let dir = tempfile::tempdir().context("temp dir")?;
        let mut tokens = TokenSet::new();
        tokens.add(Secret::new(TOKEN), Vec::new());
        let mut config = RelayConfig::new(tokens, dir.path().join("relay"));
        tweak(&mut config);
        let relay = Relay::open(config).context("relay open")?;
        let served = serve_relay(relay).await?;
        Ok(Tunnel {
            addr: served.1,
            client: None,
            relays: vec![served],
            dir,
        })
    }

    /// `count` relays sharing the JetStream cluster at `nats`.
    pub async fn cluster(nats: &str, count: usize) -> anyhow::Result<Tunnel> {
        let dir = tempfile::tempdir().context("temp dir")?;
        let mut relays = Vec::with_capacity(count);
        for i in 0..count {
            let mut tokens = TokenSet::new();
            tokens.add(Secret::new(TOKEN), Vec::new());
            let config = RelayConfig::new(tokens, dir.path().join(format!("relay-{i}")));
            let options = ClusterOptions::new(vec![nats.to_owned()]);
            let queue = JetStreamQueue::connect(&options, &config.queue_limits)
                .await
                .context("join the cluster")?;
            let relay = Relay::with_cluster(config, queue).context("relay open")?;
            relays.push(serve_relay(relay).await?);
        }
        Ok(Tunnel {
            addr: relays[0].1,
            client: None,
            relays,
            dir,
        })
    }

    /// Every relay's address, the client's first.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.relays.iter().map(|r| r.1).collect()
    }

    /// Path of the channel's ingress, with `/webhooks` as the suffix.
    pub fn ingress_path(&self) -> String {
        let channel = ChannelId::derive(&Secret::new(TOKEN), DEFAULT_CHANNEL_NAME);
        format!("/h/{channel}/webhooks")
    }

    /// Starts the client (AutoSend secret, store in the temp dir) forwarding
    /// to `forward`; returns once the relay has welcomed it.
    pub async fn connect(&mut self, forward: &str) -> anyhow::Result<()> {
        let target = forward.parse().context("forward URL")?;
        let mut options = ListenOptions::new(target, self.dir.path().join("client"));
        options.relay = RelayChoice::Remote {
            urls: vec![format!("ws://{}", self.addr)],
            token: Secret::new(TOKEN),
            tls: None,
        };
        options.verifier = Verifier::new(
            SchemeChoice::Fixed(Scheme::Autosend),
            vec![Secret::new(SECRET)],
        );
        let started = tokio::time::timeout(Duration::from_secs(20), Listening::start(options));
        self.client = Some(started.await.context("client start timed out")??);
        Ok(())
    }

    /// Waits until the client's store holds `expected` deliveries, all with a
    /// valid signature and none failed; fails loudly otherwise.
    pub async fn await_stored(&self, expected: u64, within: Duration) -> anyhow::Result<Duration> {
        let client = self.client.as_ref().context("no client connected")?;
        let start = Instant::now();
        let mut events = client.store.subscribe();
        let mut counts: Counts;
        loop {
            counts = client.store.counts().context("store counts")?;
            let Some(left) = within.checked_sub(start.elapsed()) else {
                break;
            };
            if counts.total >= expected {
                break;
            }
            // Woken by the next store write (or a periodic recheck), then
            // every queued event is skipped: one count per burst.
            let _ = tokio::time::timeout(left.min(RECHECK), events.recv()).await;
            while events.try_recv().is_ok() {}
        }
        let took = start.elapsed();
        if counts.total != expected || counts.invalid != 0 || counts.failed != 0 {
            anyhow::bail!(
                "store holds {} deliveries ({} invalid, {} failed) after {took:?}; expected {expected}, all valid",
                counts.total,
                counts.invalid,
                counts.failed
            );
        }
        Ok(took)
    }

    /// Stops the client (forwards finish, last flush) and then the relay.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(client) = self.client.take() {
            client.stop().await.context("client stop")?;
        }
        for (relay, _, shutdown, serving) in self.relays {
            shutdown.cancel();
            serving
                .await
                .context("relay task")?
                .context("relay serve")?;
            relay.close().await.context("relay close")?;
        }
        Ok(())
    }
}

type Serving = (
    Relay,
    SocketAddr,
    CancellationToken,
    JoinHandle<Result<(), RelayError>>,
);

/// Opens `config` and serves it on a fresh loopback port.
pub async fn serve(config: RelayConfig) -> anyhow::Result<Serving> {
    serve_relay(Relay::open(config).context("relay open")?).await
}

async fn serve_relay(relay: Relay) -> anyhow::Result<Serving> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("bind relay")?;
    let addr = listener.local_addr().context("relay address")?;
    let shutdown = CancellationToken::new();
    let serving = tokio::spawn({
        let (relay, shutdown) = (relay.clone(), shutdown.clone());
        async move { relay.serve(listener, None, shutdown).await }
    });
    Ok((relay, addr, shutdown, serving))
}
