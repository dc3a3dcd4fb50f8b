//! `bench`: measures the tunnel's cost side by side with direct delivery, and
//! the relay, store and TUI at scale. Prints markdown; `--json FILE` writes
//! the same figures as JSON. `--quick` is the CI smoke run: tiny counts,
//! every delivery checked, timings not judged.
//!
//! cargo run --release -p hookline-tests --bin bench -- [--quick] [--json FILE] [--only LIST] [--conns LIST]

use anyhow::Context;
use hookline_tests::bench::report::{self, Machine, Section};
use hookline_tests::bench::scenarios::{self, Settings, idle, idle_child};
use hookline_tests::bench::sink::Sink;

const SCENARIOS: [&str; 7] = ["pairs", "ack", "idle", "store", "tui", "bodies", "cluster"];

#[derive(Debug, Default)]
struct Args {
    quick: bool,
    json: Option<std::path::PathBuf>,
    only: Option<Vec<String>>,
    conns: Option<Vec<usize>>,
    idle_child: Option<(String, usize)>,
    idle_relay: Option<usize>,
}

fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Args> {
    let mut parsed = Args::default();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => parsed.quick = true,
            "--json" => parsed.json = Some(args.next().context("--json needs a file")?.into()),
            "--only" => {
                let list = args.next().context("--only needs a comma-separated list")?;
                let names: Vec<String> = list.split(',').map(str::to_owned).collect();
                if let Some(bad) = names.iter().find(|n| !SCENARIOS.contains(&n.as_str())) {
                    anyhow::bail!("unknown scenario {bad:?}; known: {}", SCENARIOS.join(", "));
                }
                parsed.only = Some(names);
            }
            "--conns" => {
                let list = args
                    .next()
                    .context("--conns needs a comma-separated list")?;
                let conns = list
                    .split(',')
                    .map(|n| {
                        n.parse::<usize>()
                            .context("--conns takes numbers like 1,16,64")
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                parsed.conns = Some(conns);
            }
            idle_child::CHILD_FLAG => {
                let addr = args.next().context("relay address")?;
                let n = args
                    .next()
                    .context("client count")?
                    .parse()
                    .context("client count")?;
                parsed.idle_child = Some((addr, n));
            }
            idle::RELAY_FLAG => {
                let n = args
                    .next()
                    .context("client count")?
                    .parse()
                    .context("client count")?;
                parsed.idle_relay = Some(n);
            }
            "-h" | "--help" => {
                println!(
                    "bench [--quick] [--json FILE] [--only {}] [--conns 1,16,64]",
                    SCENARIOS.join(",")
                );
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown argument {other:?}; try --help"),
        }
    }
    Ok(parsed)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    // The in-process relays and clients log to stderr with RUST_LOG set.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = parse(std::env::args().skip(1))?;
    if let Some((addr, n)) = &args.idle_child {
        return idle_child::child(addr, *n).await;
    }
    if let Some(n) = args.idle_relay {
        return idle::relay(n).await;
    }
    let command = std::iter::once("bench".to_owned())
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ");
    let machine = Machine::detect(command);
    let wanted = |name: &str| {
        args.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|o| o == name))
    };
    // The tunnel runs start the real binaries, built for this profile.
    let bins = (wanted("pairs") || wanted("bodies"))
        .then(|| hookline_tests::soak::binaries::locate(None))
        .transpose()?;
    let settings = Settings {
        quick: args.quick,
        bins,
        conns: args.conns.clone(),
    };
    let sink = Sink::start()?;
    let mut sections: Vec<Section> = Vec::new();
    let step = |name: &str| eprintln!("bench: {name}…");
    if wanted("pairs") {
        step("direct vs tunnel");
        sections.push(
            scenarios::pairs::run(settings.clone(), &sink)
                .await
                .context("direct vs tunnel")?,
        );
    }
    if wanted("ack") {
        step("ack mode");
        sections.push(
            scenarios::ack::run(settings.clone(), &sink)
                .await
                .context("ack mode")?,
        );
    }
    if wanted("bodies") {
        step("body sizes");
        sections.push(
            scenarios::bodies::run(settings.clone(), &sink)
                .await
                .context("body sizes")?,
        );
    }
    if wanted("cluster") {
        step("one relay vs a cluster");
        sections.push(
            scenarios::cluster::run(settings.clone(), &sink)
                .await
                .context("one relay vs a cluster")?,
        );
    }
    if wanted("store") || wanted("tui") {
        step("store");
        let (section, filled) = scenarios::store::run(settings.clone())
            .await
            .context("store")?;
        if wanted("store") {
            sections.push(section);
        }
        if wanted("tui") {
            step("tui");
            sections.push(
                scenarios::tui::run(settings.clone(), &filled)
                    .await
                    .context("tui")?,
            );
        }
    }
    if wanted("idle") {
        step("idle clients");
        sections.push(
            scenarios::idle::run(settings.clone())
                .await
                .context("idle clients")?,
        );
    }
    sink.stop();
    print!("{}", report::markdown(&machine, &sections));
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report::to_json(&machine, &sections))?;
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?;
    }
    eprintln!("bench: every scenario delivered and stored every request");
    Ok(())
}
