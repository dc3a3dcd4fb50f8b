//! The tunnel as it runs for a user: the `hookline-relay` and `hookline
//! listen` binaries as child processes (built for the bench's own profile),
//! so that the load generator, the sink and the two halves do not share one
//! runtime, and each half's CPU time can be read from `/proc/PID/stat`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hookline::control::StoreAccess;
use hookline_protocol::{ChannelId, DEFAULT_CHANNEL_NAME, Secret};
use tokio::process::{Child, Command};

use super::payload::SECRET;
use crate::soak::binaries::Binaries;
use crate::soak::procs::clean_env;

const TOKEN: &str = "bench-child-token-7e2a";

/// How long the two processes may take to start and connect.
const START: Duration = Duration::from_secs(30);

/// CPU time each half used.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuTimes {
    pub relay: Duration,
    pub client: Duration,
}

impl CpuTimes {
    pub fn since(self, earlier: CpuTimes) -> CpuTimes {
        CpuTimes {
            relay: self.relay.saturating_sub(earlier.relay),
            client: self.client.saturating_sub(earlier.client),
        }
    }
}

/// The relay and client processes, killed on drop.
#[derive(Debug)]
pub struct ChildTunnel {
    pub addr: SocketAddr,
    relay: Child,
    client: Child,
    client_dir: std::path::PathBuf,
    access: StoreAccess,
    ticks_per_sec: u64,
    _dir: tempfile::TempDir,
}

impl ChildTunnel {
    /// Starts the relay (no rate limit) and a client forwarding to
    /// `forward` with the payload's secret, and waits until it is connected.
    pub async fn start(bins: &Binaries, forward: &str) -> anyhow::Result<ChildTunnel> {
        let dir = tempfile::tempdir().context("temp dir")?;
        let port = crate::soak::setup::free_port()?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut relay = Command::new(&bins.relay);
        relay
            .args(["--listen", &addr.to_string(), "--channel-rate-limit", "0"])
            .arg("--data-dir")
            .arg(dir.path().join("relay"));
        clean_env(&mut relay);
        let relay = relay
            .env("HOOKLINE_RELAY_TOKENS", TOKEN)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("start hookline-relay")?;
        let deadline = Instant::now() + START;
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            if Instant::now() > deadline {
                bail!("the relay did not listen within {START:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let client_dir = dir.path().join("client");
        let mut client = Command::new(&bins.hookline);
        client
            .args([
                "listen",
                "--relay",
                &format!("ws://{addr}"),
                "--token",
                TOKEN,
            ])
            .args([
                "--forward",
                forward,
                "--secret",
                SECRET,
                "--scheme",
                "autosend",
            ])
            .args(["--output", "quiet", "--keep", "10000000"])
            .arg("--data-dir")
            .arg(&client_dir);
        clean_env(&mut client);
        let client = client
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("start hookline listen")?;
        // Only through the listener's socket: opening the store directly
        // would take its lock from the starting listener.
        let socket = hookline::control::socket_path(&client_dir);
        let access = loop {
            if socket.exists()
                && let Ok(access) = StoreAccess::open(&client_dir).await
            {
                if access.listener_pid().is_some() {
                    break access;
                }
                bail!("the client's store opened without its listener");
            }
            if Instant::now() > deadline {
                bail!("the client did not start within {START:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let tunnel = ChildTunnel {
            addr,
            relay,
            client,
            client_dir,
            access,
            ticks_per_sec: ticks_per_sec(),
            _dir: dir,
        };
        tunnel.until_connected(deadline).await?;
        Ok(tunnel)
    }

    async fn until_connected(&self, deadline: Instant) -> anyhow::Result<()> {
        loop {
            let metrics = crate::sender::try_send(
                &crate::sender::http_client(),
                "GET",
                &format!("http://{}/metrics", self.addr),
                &[],
                Vec::new(),
            )
            .await?;
            if String::from_utf8_lossy(&metrics.body)
                .contains("hookline_relay_connected_clients 1\n")
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("the client did not connect within {START:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Path of the channel's ingress, with `/webhooks` as the suffix.
    pub fn ingress_path(&self) -> String {
        let channel = ChannelId::derive(&Secret::new(TOKEN), DEFAULT_CHANNEL_NAME);
        format!("/h/{channel}/webhooks")
    }

    /// CPU time (user + system) each process used so far.
    pub fn cpu(&self) -> anyhow::Result<CpuTimes> {
        let of = |child: &Child| -> anyhow::Result<Duration> {
            let pid = child.id().context("process gone")?;
            let ticks = cpu_ticks(&Path::new("/proc").join(pid.to_string()).join("stat"))?;
            Ok(Duration::from_micros(
                ticks * 1_000_000 / self.ticks_per_sec,
            ))
        };
        Ok(CpuTimes {
            relay: of(&self.relay)?,
            client: of(&self.client)?,
        })
    }

    /// Waits until the client's store holds `expected` deliveries, all with a
    /// valid signature and none failed; fails loudly otherwise.
    pub async fn await_stored(&self, expected: u64, within: Duration) -> anyhow::Result<Duration> {
        let start = Instant::now();
        loop {
            let counts = self.access.counts().await.context("store counts")?;
            if counts.total >= expected || start.elapsed() > within {
                if counts.total != expected || counts.invalid != 0 || counts.failed != 0 {
                    bail!(
                        "store holds {} deliveries ({} invalid, {} failed) after {:?}; expected {expected}, all valid ({})",
                        counts.total,
                        counts.invalid,
                        counts.failed,
                        start.elapsed(),
                        self.client_dir.display()
                    );
                }
                return Ok(start.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops both processes.
    pub async fn stop(mut self) {
        let _ = self.client.kill().await;
        let _ = self.relay.kill().await;
    }
}

/// utime + stime of `/proc/PID/stat`, in clock ticks. The command name (field
/// 2) may hold spaces, so fields are counted after its closing parenthesis.
fn cpu_ticks(stat: &Path) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(stat).with_context(|| format!("{}", stat.display()))?;
    let after = text
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("no command name in /proc stat")?;
    // Fields 3.. after the name: state is index 0, utime index 11, stime index 12.
    let fields: Vec<&str> = after.split_whitespace().collect();
    let number = |i: usize| -> anyhow::Result<u64> {
        fields
            .get(i)
            .context("short /proc stat")?
            .parse()
            .context("/proc stat field")
    };
    Ok(number(11)? + number(12)?)
}

/// Clock ticks per second (`getconf CLK_TCK`), 100 where it cannot be asked.
fn ticks_per_sec() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_utime_and_stime_past_a_name_with_spaces() {
        let dir = tempfile::tempdir().unwrap();
        let stat = dir.path().join("stat");
        std::fs::write(
            &stat,
            "4242 (hookline listen) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 9 0",
        )
        .unwrap();
        assert_eq!(cpu_ticks(&stat).unwrap(), 281);
    }
}
