//! What breaks and when: a plan drawn from the seed (kill moments, how long
//! each program stays dead, app outages), then one loop per target carrying
//! it out while the senders run. Each event is printed as it happens.

use std::time::{Duration, Instant};

use anyhow::bail;

use super::app::SoakApp;
use super::procs::{Proc, start_client, start_relay};
use super::rng::Rng;

/// Shortest life of a restarted program before the next kill: enough to
/// start, short enough to sometimes catch it mid-recovery.
const MIN_UP: Duration = Duration::from_millis(300);

/// One SIGKILL: when (from the start of sending), how long until the
/// restart, and of which relay (always 0 for the client and a lone relay).
#[derive(Debug, Clone, Copy)]
pub struct Kill {
    pub at: Duration,
    pub down: Duration,
    pub target: usize,
}

/// How the app is out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutageKind {
    /// Its port is closed: connections are refused.
    Refusing,
    /// It answers 500 to everything.
    Failing,
}

#[derive(Debug, Clone, Copy)]
pub struct Outage {
    pub at: Duration,
    pub length: Duration,
    pub kind: OutageKind,
}

/// Every event of one run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub client: Vec<Kill>,
    pub relay: Vec<Kill>,
    pub app: Vec<Outage>,
}

/// Upper bounds of the random durations.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub client_down: Duration,
    pub relay_down: Duration,
    pub outage: Duration,
}

impl Plan {
    /// Outages that refuse connections, and those that answer 500.
    pub fn outage_kinds(&self) -> (usize, usize) {
        let refusing = self
            .app
            .iter()
            .filter(|o| o.kind == OutageKind::Refusing)
            .count();
        (refusing, self.app.len() - refusing)
    }

    /// Moments spread uniformly over the middle 90% of `span` (the sending
    /// phase), sorted; durations uniform up to `bounds`; each relay kill
    /// hits one of `relays` (drawn only when there are several, so a seed
    /// gives a lone relay the schedule it always gave).
    pub fn draw(
        rng: &mut Rng,
        span: Duration,
        counts: (usize, usize, usize),
        bounds: Bounds,
        relays: usize,
    ) -> Self {
        let mut moments = |n: usize| {
            let mut at: Vec<Duration> = (0..n)
                .map(|_| span.mul_f64(0.05 + 0.9 * rng.unit()))
                .collect();
            at.sort();
            at
        };
        let (client_at, relay_at, app_at) =
            (moments(counts.0), moments(counts.1), moments(counts.2));
        let short = Duration::from_millis(50);
        let client = client_at
            .into_iter()
            .map(|at| Kill {
                at,
                down: rng.between(short, bounds.client_down),
                target: 0,
            })
            .collect();
        let relay = relay_at
            .into_iter()
            .map(|at| Kill {
                at,
                down: rng.between(short, bounds.relay_down),
                target: if relays > 1 {
                    ((rng.unit() * relays as f64) as usize).min(relays - 1)
                } else {
                    0
                },
            })
            .collect();
        let app = app_at
            .into_iter()
            .map(|at| Outage {
                at,
                length: rng.between(bounds.outage / 4, bounds.outage),
                kind: if rng.coin() {
                    OutageKind::Refusing
                } else {
                    OutageKind::Failing
                },
            })
            .collect();
        Self { client, relay, app }
    }
}

fn say(start: Instant, what: &str) {
    eprintln!("soak: t={:>6.2}s {what}", start.elapsed().as_secs_f64());
}

async fn wait_for(start: Instant, at: Duration, up_since: Instant) {
    let when = (start + at).max(up_since + MIN_UP);
    tokio::time::sleep_until(when.into()).await;
}

/// Kills and restarts the client as planned.
pub async fn client(client: &mut Proc, kills: &[Kill], start: Instant) -> anyhow::Result<()> {
    let mut up_since = Instant::now();
    for (n, kill) in kills.iter().enumerate() {
        wait_for(start, kill.at, up_since).await;
        client.kill().await?;
        say(
            start,
            &format!(
                "SIGKILL client #{} (down {:.2}s)",
                n + 1,
                kill.down.as_secs_f64()
            ),
        );
        tokio::time::sleep(kill.down).await;
        start_client(client)?;
        up_since = Instant::now();
    }
    Ok(())
}

/// Kills and restarts the relays as planned; each must come back at its
/// own entry of `urls`.
pub async fn relay(
    relays: &mut [Proc],
    kills: &[Kill],
    start: Instant,
    urls: &[String],
) -> anyhow::Result<()> {
    let mut up_since = Instant::now();
    for (n, kill) in kills.iter().enumerate() {
        wait_for(start, kill.at, up_since).await;
        let relay = &mut relays[kill.target];
        relay.kill().await?;
        say(
            start,
            &format!(
                "SIGKILL {} #{} (down {:.2}s)",
                relay.name,
                n + 1,
                kill.down.as_secs_f64()
            ),
        );
        tokio::time::sleep(kill.down).await;
        let again = start_relay(relay).await?;
        let url = &urls[kill.target];
        if again != *url {
            bail!("the restarted relay serves the channel at {again}, not {url}");
        }
        up_since = Instant::now();
    }
    Ok(())
}

/// Takes the app down as planned; it is up when this returns.
pub async fn app(app: &mut SoakApp, outages: &[Outage], start: Instant) -> anyhow::Result<()> {
    let mut up_since = Instant::now();
    for (n, outage) in outages.iter().enumerate() {
        wait_for(start, outage.at, up_since).await;
        app.discard_copies();
        let how = match outage.kind {
            OutageKind::Refusing => {
                app.down();
                "refusing connections"
            }
            OutageKind::Failing => {
                app.set_failing(true);
                "answering 500"
            }
        };
        say(
            start,
            &format!(
                "app outage #{} ({how} for {:.2}s)",
                n + 1,
                outage.length.as_secs_f64()
            ),
        );
        tokio::time::sleep(outage.length).await;
        app.set_failing(false);
        app.up().await?;
        up_since = Instant::now();
    }
    app.discard_copies();
    Ok(())
}
