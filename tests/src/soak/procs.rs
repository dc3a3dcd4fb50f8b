//! The relay and the client as child processes: started, killed with SIGKILL,
//! restarted on the same data dir and port, and finally stopped with SIGTERM.
//! Each appends its stderr (and the client its stdout) to a log file in the
//! run's temp dir, across restarts.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// Longest a relay may take to listen again after a (re)start.
const RELAY_START: Duration = Duration::from_secs(30);

/// One program under test: how to start it, and its current process.
#[derive(Debug)]
pub struct Proc {
    pub name: &'static str,
    program: PathBuf,
    args: Vec<OsString>,
    log: PathBuf,
    /// Where stdout goes; `None`: piped to the soak.
    stdout: Option<PathBuf>,
    child: Option<Child>,
    /// Reads a piped stdout to its end, so the child never blocks on it.
    drain: Option<tokio::task::JoinHandle<()>>,
    pub starts: u32,
}

impl Proc {
    pub fn new(
        name: &'static str,
        program: &Path,
        args: Vec<OsString>,
        log: PathBuf,
        stdout: Option<PathBuf>,
    ) -> Self {
        Self {
            name,
            program: program.to_path_buf(),
            args,
            log,
            stdout,
            child: None,
            drain: None,
            starts: 0,
        }
    }

    /// Starts the program; its stdout is returned when piped.
    fn spawn(&mut self) -> anyhow::Result<Option<tokio::process::ChildStdout>> {
        if self.child.is_some() {
            bail!("{} is already running", self.name);
        }
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .stdin(Stdio::null())
            .stderr(append(&self.log)?)
            .kill_on_drop(true);
        match &self.stdout {
            Some(path) => command.stdout(append(path)?),
            None => command.stdout(Stdio::piped()),
        };
        clean_env(&mut command);
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {}", self.program.display()))?;
        let stdout = child.stdout.take();
        self.child = Some(child);
        self.starts += 1;
        Ok(stdout)
    }

    /// SIGKILL, then reaps the process. Fails if it had already exited on its
    /// own: a crash the soak did not cause.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        self.check_running()?;
        let mut child = self.child.take().context("not running")?;
        child.start_kill().context("SIGKILL")?;
        child.wait().await.context("reaping a killed child")?;
        self.finish_drain().await;
        Ok(())
    }

    /// SIGTERM and a wait of up to `grace` for a clean exit, SIGKILL after it.
    /// Returns whether the program exited cleanly in time.
    pub async fn terminate(&mut self, grace: Duration) -> anyhow::Result<bool> {
        self.check_running()?;
        let mut child = self.child.take().context("not running")?;
        let pid = child.id().context("no pid")?.to_string();
        // Signals need `kill(2)`; this workspace forbids unsafe code, so the
        // `kill` command sends it. The pid is our unreaped child's: not reused.
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .context("cannot run `kill`")?;
        if !sent.success() {
            bail!("`kill -TERM {pid}` failed");
        }
        let clean = match tokio::time::timeout(grace, child.wait()).await {
            Ok(status) => status.context("reaping a stopped child")?.success(),
            Err(_) => {
                child.start_kill().context("SIGKILL")?;
                child.wait().await.context("reaping a killed child")?;
                false
            }
        };
        self.finish_drain().await;
        Ok(clean)
    }

    /// Fails when the process exited without being asked to.
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        let child = self
            .child
            .as_mut()
            .with_context(|| format!("{} is not running", self.name))?;
        if let Some(status) = child.try_wait().context("checking a child")? {
            self.child = None;
            bail!(
                "{} exited by itself ({status}); its log: {}",
                self.name,
                self.log.display()
            );
        }
        Ok(())
    }

    pub fn log(&self) -> &Path {
        &self.log
    }

    async fn finish_drain(&mut self) {
        if let Some(drain) = self.drain.take() {
            // The pipe closed with the process, so this ends at once.
            let _ = drain.await;
        }
    }
}

/// Starts the relay and waits for it to listen; returns the channel URL it
/// prints (`channel NAME: URL`), which senders post to. Its stdout (where
/// its log goes too) is copied to its log file.
pub async fn start_relay(relay: &mut Proc) -> anyhow::Result<String> {
    let stdout = relay.spawn()?.context("the relay's stdout is piped")?;
    let mut log = tokio::fs::File::from_std(append(&relay.log)?);
    let mut lines = BufReader::new(stdout).lines();
    let url = tokio::time::timeout(RELAY_START, async {
        while let Some(line) = lines.next_line().await? {
            log.write_all(format!("{line}\n").as_bytes()).await?;
            if let Some((_, url)) = line
                .strip_prefix("channel ")
                .and_then(|rest| rest.rsplit_once(": "))
            {
                return Ok(Some(url.to_owned()));
            }
        }
        Ok::<_, std::io::Error>(None)
    })
    .await;
    let url = match url {
        Ok(Ok(Some(url))) => url,
        Ok(Ok(None)) | Ok(Err(_)) => bail!(
            "the relay stopped before listening; its log: {}",
            relay.log.display()
        ),
        Err(_) => bail!(
            "the relay did not listen within {RELAY_START:?}; its log: {}",
            relay.log.display()
        ),
    };
    relay.drain = Some(tokio::spawn(async move {
        // Reading goes on even if writing fails, so the relay never blocks.
        let mut writable = true;
        while let Ok(Some(line)) = lines.next_line().await {
            if writable && log.write_all(format!("{line}\n").as_bytes()).await.is_err() {
                writable = false;
            }
        }
        let _ = log.flush().await;
    }));
    Ok(url)
}

/// Starts the client without waiting for it: it connects (or keeps trying)
/// on its own, as it would after a crash.
pub fn start_client(client: &mut Proc) -> anyhow::Result<()> {
    client.spawn().map(drop)
}

/// Starts a server that prints nothing useful and waits until it accepts
/// connections on `port` (nats-server).
pub async fn start_listening(proc: &mut Proc, port: u16) -> anyhow::Result<()> {
    proc.spawn()?;
    let deadline = tokio::time::Instant::now() + RELAY_START;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        proc.check_running()?;
        if tokio::time::Instant::now() > deadline {
            bail!(
                "{} did not listen within {RELAY_START:?}; its log: {}",
                proc.name,
                proc.log.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// `hookline-relay new-token`: a token as the relay's operator would make one.
pub async fn new_token(relay_bin: &Path) -> anyhow::Result<String> {
    let mut command = Command::new(relay_bin);
    command.arg("new-token").stdin(Stdio::null());
    clean_env(&mut command);
    let output = command
        .output()
        .await
        .with_context(|| format!("cannot run {} new-token", relay_bin.display()))?;
    let token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() || token.is_empty() {
        bail!(
            "`hookline-relay new-token` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(token)
}

/// Settings from the soak's own environment (a developer's HOOKLINE_* or
/// WEBHOOK_SECRET) must not reach the programs under test.
pub fn clean_env(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        let text = name.to_string_lossy();
        if text.starts_with("HOOKLINE_") || text == "WEBHOOK_SECRET" {
            command.env_remove(&name);
        }
    }
}

fn append(path: &Path) -> anyhow::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))
}
