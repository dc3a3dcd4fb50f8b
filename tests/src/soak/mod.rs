//! The soak behind `cargo run --release -p hookline-tests --bin soak`: real
//! `hookline-relay` and `hookline listen` child processes on loopback, each
//! killed with SIGKILL at random moments and restarted, a local app that goes
//! down at times, and senders whose every POST carries a unique soak id. At
//! the end the client's store and the app's log show whether any accepted
//! delivery was lost, stored twice or never forwarded. See BENCHMARKS.md.

pub mod app;
pub mod binaries;
pub mod chaos;
pub mod options;
pub mod output;
pub mod procs;
pub mod rng;
pub mod setup;
pub mod tally;
pub mod traffic;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hookline::forward::{DEFAULT_RETRY, delay_after};
use hookline::model::Outcome;
use hookline::retry::RetryPolicy;

use self::app::SoakApp;
use self::chaos::{Bounds, Plan};
use self::options::Options;
use self::procs::Proc;
use self::tally::Report;

/// How long each program may take to stop on SIGTERM at the end.
const STOP_GRACE: Duration = Duration::from_secs(30);
/// Longest the final drain may take, whatever happens.
const DRAIN_CAP: Duration = Duration::from_secs(180);

/// What happened besides the figures.
#[derive(Debug)]
pub struct Facts {
    pub plan: Plan,
    pub sending: Duration,
    pub drain: Duration,
    pub retry_span: Duration,
    pub stopped_cleanly: Vec<(&'static str, bool)>,
    /// The run's temp dir when kept (a failed run, or `--keep-dir`).
    pub kept: Option<PathBuf>,
}

/// The client's retry schedule (its defaults, passed explicitly) and what
/// follows from it: the total span of its retries, and the longest gap.
fn retry_schedule() -> (RetryPolicy, Duration, Duration) {
    let policy = DEFAULT_RETRY;
    let down = Outcome::Error {
        message: String::new(),
    };
    let delays: Vec<Duration> = (1..=policy.max_retries)
        .filter_map(|n| delay_after(&policy, &down, n))
        .collect();
    let span = delays.iter().sum();
    let gap = delays.iter().max().copied().unwrap_or_default();
    (policy, span, gap)
}

/// One whole run: setup, sending under fire, drain, verdict. The temp dir
/// with the data dirs and logs is kept when the run fails or errs.
pub async fn run(options: &Options) -> anyhow::Result<(Report, Facts)> {
    let bins = binaries::locate(options.bin_dir.as_deref())?;
    let dir = tempfile::Builder::new()
        .prefix("hookline-soak-")
        .tempdir()
        .context("cannot make a temp dir")?;
    // It holds the relay's token and every delivery: for this user only.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .context("cannot restrict the temp dir")?;
    match run_in(dir.path(), &bins, options).await {
        Ok((report, mut facts)) => {
            if options.keep_dir || !output::passed(&report, &facts) {
                facts.kept = Some(dir.keep());
            }
            Ok((report, facts))
        }
        Err(e) => {
            let kept = dir.keep();
            Err(e.context(format!("data dirs and logs kept in {}", kept.display())))
        }
    }
}

async fn run_in(
    root: &Path,
    bins: &binaries::Binaries,
    options: &Options,
) -> anyhow::Result<(Report, Facts)> {
    let (policy, retry_span, retry_gap) = retry_schedule();
    // Outages stay well inside the retry span, so none can use up a retry
    // budget on its own; kills during one still can make it longer.
    let outage_cap = if options.quick { 2 } else { 4 };
    let bounds = Bounds {
        client_down: Duration::from_millis(if options.quick { 800 } else { 1500 }),
        relay_down: Duration::from_millis(if options.quick { 600 } else { 1000 }),
        outage: Duration::from_secs(outage_cap).min(retry_span / 4),
    };
    if bounds.outage >= retry_span {
        bail!(
            "app outages ({:?}) must stay shorter than the retry span ({retry_span:?})",
            bounds.outage
        );
    }
    let span = Duration::from_secs_f64(options.deliveries as f64 / options.rate);
    let mut rng = rng::Rng::new(options.seed);
    let counts = (
        options.client_kills,
        options.relay_kills,
        options.app_outages,
    );
    let relay_count = options.cluster.max(1);
    let plan = Plan::draw(&mut rng, span, counts, bounds, relay_count);

    let token = procs::new_token(&bins.relay).await?;
    let tokens_file = root.join("tokens");
    std::fs::write(&tokens_file, format!("{token}\n")).context("cannot write the tokens file")?;
    let mut nats = match options.cluster {
        0 => None,
        _ => {
            let port = setup::free_port()?;
            let mut nats = setup::nats_proc(root, port)?;
            procs::start_listening(&mut nats, port).await?;
            Some((nats, format!("nats://127.0.0.1:{port}")))
        }
    };
    let ports = (0..relay_count)
        .map(|_| setup::free_port())
        .collect::<anyhow::Result<Vec<u16>>>()?;
    let mut app = SoakApp::start().await?;
    let mut relays: Vec<Proc> = ports
        .iter()
        .enumerate()
        .map(|(i, port)| {
            let cluster = nats.as_ref().map(|(_, url)| url.as_str());
            setup::relay_proc(&bins.relay, root, i, *port, &tokens_file, cluster)
        })
        .collect();
    let mut urls = Vec::new();
    for relay in &mut relays {
        urls.push(procs::start_relay(relay).await?);
    }
    let client_dir = root.join("client-data");
    let mut client = setup::client_proc(
        &bins.hookline,
        root,
        &ports,
        &token,
        &app.url(),
        policy,
        options,
    );
    procs::start_client(&mut client)?;
    eprintln!(
        "soak: {} deliveries at {}/s (~{:.0}s), {} client kills, {} relay kills, {} app outages \
         (at most {:.1}s each; retry span {:.1}s), {}, seed {}, dir {}",
        options.deliveries,
        options.rate,
        span.as_secs_f64(),
        plan.client.len(),
        plan.relay.len(),
        plan.app.len(),
        bounds.outage.as_secs_f64(),
        retry_span.as_secs_f64(),
        match options.cluster {
            0 => "one relay".to_owned(),
            n => format!("{n} relays on NATS JetStream"),
        },
        options.seed,
        root.display()
    );

    let start = Instant::now();
    let sending = async {
        Ok::<_, anyhow::Error>(traffic::run(&urls, options.deliveries, options.rate).await)
    };
    let (sending, (), (), ()) = tokio::try_join!(
        sending,
        chaos::client(&mut client, &plan.client, start),
        chaos::relay(&mut relays, &plan.relay, start, &urls),
        chaos::app(&mut app, &plan.app, start),
    )?;
    let sent_in = start.elapsed();
    eprintln!(
        "soak: sending done in {:.1}s; draining",
        sent_in.as_secs_f64()
    );
    for relay in &mut relays {
        relay.check_running()?;
    }
    client.check_running()?;

    let drained = Instant::now();
    {
        let mut watched: Vec<&mut Proc> = relays.iter_mut().collect();
        watched.push(&mut client);
        if let Some((nats, _)) = nats.as_mut() {
            watched.push(nats);
        }
        drain(&app, retry_gap + Duration::from_secs(2), &mut watched).await?;
    }
    let drain_took = drained.elapsed();
    let mut stopped_cleanly = vec![("client", client.terminate(STOP_GRACE).await?)];
    for relay in &mut relays {
        stopped_cleanly.push((relay.name, relay.terminate(STOP_GRACE).await?));
    }
    if let Some((mut nats, _)) = nats {
        nats.terminate(STOP_GRACE).await?;
    }
    let export = root.join("export.jsonl");
    setup::export_store(&bins.hookline, &client_dir, &export).await?;
    let stored = tally::read_export(&export)?;
    let report = {
        let log = app.log();
        let log = log.lock().expect("app log lock");
        tally::tally(&sending, &stored, &log, policy.max_retries as usize + 1)
    };
    let facts = Facts {
        plan,
        sending: sent_in,
        drain: drain_took,
        retry_span,
        stopped_cleanly,
        kept: None,
    };
    Ok((report, facts))
}

/// Waits until the app has seen nothing for `quiet` (longer than the
/// longest retry gap and the client's reconnect backoff: whatever is still
/// going to be forwarded has been), checking the programs stay up.
async fn drain(app: &SoakApp, quiet: Duration, procs: &mut [&mut Proc]) -> anyhow::Result<()> {
    let log = app.log();
    let begun = Instant::now();
    while begun.elapsed() < DRAIN_CAP {
        let last = log.lock().expect("app log lock").last_hit;
        if last.elapsed() >= quiet && begun.elapsed() >= quiet {
            return Ok(());
        }
        for proc in procs.iter_mut() {
            proc.check_running()?;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("soak: the app was still receiving after {DRAIN_CAP:?}; judging what is there");
    Ok(())
}
