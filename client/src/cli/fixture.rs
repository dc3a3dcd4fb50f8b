//! `hookline fixture`: keep stored deliveries as named fixtures that
//! `hookline trigger NAME` sends again, re-signed and with fresh ids.

use std::process::ExitCode;

use super::StoreArgs;
use super::list::open_store;
use crate::escape::{Lines, for_terminal};
use crate::fixtures::{Fixture, FixtureError, Fixtures, check_name};
use crate::store::time::format_utc;

/// Save, list, show and remove fixtures.
#[derive(Debug, clap::Args)]
pub struct FixtureArgs {
    #[command(subcommand)]
    pub action: FixtureAction,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum FixtureAction {
    /// Keep a stored delivery (method, path, headers, body) as fixture NAME.
    Save {
        /// The delivery: `latest`, `latest~N`, an id, or a unique start or end of one.
        id: String,
        /// Letters, digits, '.', '_' or '-'; not a built-in sample's name.
        name: String,
        /// Replace a fixture of that name.
        #[arg(long)]
        force: bool,
    },
    /// List the saved fixtures.
    List,
    /// Show one fixture: request line, headers and body.
    Show { name: String },
    /// Remove a fixture.
    Rm { name: String },
}

impl FixtureArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let fixtures = self.fixtures()?;
        match self.action {
            FixtureAction::Save { id, name, force } => {
                check_name(&name)?;
                let access = open_store(&self.store).await?;
                let id = access.resolve(&id).await?;
                let stored = access
                    .get(id)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("delivery {id} was deleted meanwhile"))?;
                let fixture = Fixture::from_stored(&name, &stored, crate::clock::now_ms());
                fixtures.save(&fixture, force)?;
                println!(
                    "saved delivery {id} as fixture {name}; send it with `hookline trigger {name}`"
                );
            }
            FixtureAction::List => {
                let fixtures = fixtures.list()?;
                if fixtures.is_empty() {
                    println!("no fixtures; save one with `hookline fixture save ID NAME`");
                }
                for f in fixtures {
                    let line = format!(
                        "{:<24}  {} {}  {} bytes  saved {} UTC from {}",
                        f.name,
                        f.method,
                        request_path(&f),
                        f.body.len(),
                        format_utc(f.saved_at_ms),
                        f.from
                    );
                    println!("{}", for_terminal(line, Lines::One));
                }
            }
            FixtureAction::Show { name } => {
                let fixture = fixtures.get(&name)?.ok_or(FixtureError::Unknown(name))?;
                print!("{}", describe(&fixture));
            }
            FixtureAction::Rm { name } => {
                fixtures.remove(&name)?;
                println!("removed fixture {name}");
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    fn fixtures(&self) -> anyhow::Result<Fixtures> {
        let data_dir = crate::data_dir::resolve(self.store.data_dir.as_deref())?;
        Ok(Fixtures::in_data_dir(&data_dir))
    }
}

fn request_path(f: &Fixture) -> String {
    let path = if f.path.is_empty() { "/" } else { &f.path };
    match &f.query {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    }
}

/// The fixture for people, sender text escaped.
fn describe(f: &Fixture) -> String {
    let mut out = format!("{} {}\n", f.method, request_path(f));
    out.push_str(&format!(
        "saved      {} UTC from delivery {}\n\nheaders ({})\n",
        format_utc(f.saved_at_ms),
        f.from,
        f.headers.len()
    ));
    for h in &f.headers {
        out.push_str(&format!(
            "  {}: {}\n",
            h.name,
            String::from_utf8_lossy(&h.value)
        ));
    }
    out.push_str(&format!("\nbody ({} bytes)\n", f.body.len()));
    out.push_str(&crate::store::render::render_body(&f.body, 64 * 1024));
    out.push('\n');
    for_terminal(out, Lines::Kept)
}
