//! Command-line arguments, one file per subcommand, each with its own `run`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod config;
pub mod export;
pub mod fixture;
pub mod forward_tls;
pub mod import;
pub mod list;
pub mod listen;
pub mod prune;
pub mod replay;
pub mod replay_edit;
pub mod secret;
pub mod show;
mod size;
pub mod status;
pub mod trigger;
pub mod tui;
pub mod verify;

/// Webhook development tunnel and replay proxy.
///
/// `hookline listen --forward http://127.0.0.1:3000/webhooks` starts a relay on
/// this machine, prints the URL to post webhooks to, and forwards each delivery
/// to your app while storing it for inspection and replay.
#[derive(Debug, Parser)]
#[command(name = "hookline", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log debug details to stderr (RUST_LOG overrides).
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

/// Options shared by the commands that use the delivery store.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// Where deliveries are stored [default: the user's data directory]/hookline.
    #[arg(long, env = "HOOKLINE_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Receive webhooks through a relay (embedded by default), store each one
    /// and forward it to your app. Settings and routes may come from a config
    /// file (--config FILE, or hookline.toml in the current directory).
    Listen(Box<listen::ListenArgs>),
    /// Show stored deliveries, newest first.
    List(list::ListArgs),
    /// Show one delivery in full: request, signature verdict, body, attempts.
    Show(show::ShowArgs),
    /// Send stored deliveries to the app again, exactly, edited or re-signed.
    Replay(replay::ReplayArgs),
    /// Keep stored deliveries as named fixtures that `trigger NAME` sends again.
    Fixture(fixture::FixtureArgs),
    /// Send a realistic signed sample event (Stripe, GitHub, Shopify, Slack, …) to the listener or an app.
    Trigger(trigger::TriggerArgs),
    /// Write stored deliveries as JSON lines, HAR 1.2 or a curl script.
    Export(export::ExportArgs),
    /// Read a JSON lines export (a file, or - for stdin) back into the store
    /// (duplicates skipped).
    Import(import::ImportArgs),
    /// Delete old deliveries now, by age and/or count.
    Prune(prune::PruneArgs),
    /// Check one request's signature offline (exit 0 valid, 1 invalid, 2 usage).
    Verify(verify::VerifyArgs),
    /// Say whether a listener runs on this data dir; `--url` prints where senders post.
    Status(status::StatusArgs),
    /// Print the development secret that `listen` checks and `trigger` signs with.
    Secret(secret::SecretArgs),
    /// Browse, inspect and replay deliveries in a terminal UI.
    Tui(tui::TuiArgs),
}

/// Parses the command line, runs the command and maps the outcome to an
/// exit code: errors print as one `error: …` line (with their causes) and exit 1.
pub fn main() -> ExitCode {
    let mut cli = Cli::parse_with_sources(std::env::args_os()).unwrap_or_else(|err| err.exit());
    if let Command::Listen(args) = &mut cli.command {
        let cwd = std::env::current_dir().unwrap_or_default();
        match args.apply_config(&cwd) {
            Ok(Some(note)) => eprintln!("hookline: {note}"),
            Ok(None) => {}
            Err(err) => {
                eprintln!("error: {err:#}");
                return ExitCode::from(2);
            }
        }
    }
    crate::logging::init(cli.verbose, cli.tui_log_file().as_deref());
    // One thread: the client's work per delivery is small and passes through
    // several tasks, and on a multi-threaded runtime each hand-off woke
    // another worker; on one thread the c=16 tunnel costs the client about
    // 120 µs per delivery instead of 150-160 (BENCHMARKS.md). Store flushes
    // and other blocking work still go to the blocking pool.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli.run()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

impl Cli {
    /// Parses like `Cli::parse_from`, and also notes which `listen` settings
    /// came from a flag or the environment, so a config file fills only the rest.
    pub fn parse_with_sources<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::parser::ValueSource;
        use clap::{CommandFactory, FromArgMatches};
        let matches = Self::command().try_get_matches_from(args)?;
        let mut cli = Self::from_arg_matches(&matches)?;
        if let (Command::Listen(args), Some(sub)) =
            (&mut cli.command, matches.subcommand_matches("listen"))
        {
            args.given = sub
                .ids()
                .filter(|id| {
                    matches!(
                        sub.value_source(id.as_str()),
                        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
                    )
                })
                .map(|id| id.as_str().to_owned())
                .collect();
        }
        Ok(cli)
    }

    /// Where logs go while a terminal UI owns the screen: `tui.log` in the
    /// data dir. `tui` never creates the dir (it refuses one without a store).
    fn tui_log_file(&self) -> Option<PathBuf> {
        let dir = match &self.command {
            Command::Tui(args) => crate::data_dir::existing_store(args.store.data_dir.as_deref()),
            Command::Listen(args) if args.tui => {
                crate::data_dir::prepare(args.store.data_dir.as_deref())
            }
            _ => return None,
        };
        Some(dir.ok()?.join("tui.log"))
    }

    pub async fn run(self) -> anyhow::Result<ExitCode> {
        match self.command {
            Command::Listen(args) => args.run().await,
            Command::List(args) => args.run().await,
            Command::Show(args) => args.run().await,
            Command::Replay(args) => args.run().await,
            Command::Trigger(args) => args.run().await,
            Command::Fixture(args) => args.run().await,
            Command::Export(args) => args.run().await,
            Command::Import(args) => args.run().await,
            Command::Prune(args) => args.run().await,
            Command::Verify(args) => args.run(),
            Command::Status(args) => args.run().await,
            Command::Secret(args) => args.run().await,
            Command::Tui(args) => args.run().await,
        }
    }
}
