//! The `listen` config file: `--config FILE`, or `hookline.toml` found in
//! the current directory. The whole file is checked before anything starts,
//! and every mistake is reported as `FILE:LINE:COLUMN: what is wrong`.
//!
//! A file found by itself may come with a cloned repository, so it may not
//! name where deliveries leave this machine or what authenticates them
//! (`relay`, `relay-ca`, `token`, `channel`): those need the file named with `--config`.

mod file;
mod merge;

use std::ops::Range;
use std::path::{Path, PathBuf};

pub use file::ConfigFile;

/// The name looked for in the current directory.
pub const FOUND_NAME: &str = "hookline.toml";

/// Largest config file read; a settings file is a few KiB.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// Keys a file found by itself may not set.
const NEEDS_CONFIG_FLAG: [&str; 4] = ["relay", "relay-ca", "token", "channel"];

/// A config file, read and checked.
#[derive(Debug)]
pub struct Loaded {
    pub path: PathBuf,
    /// Named with `--config` (true) or found in the current directory.
    pub named: bool,
    pub file: ConfigFile,
}

/// Reads `path` and checks all of it. `named` says the user chose the file.
pub fn load(path: &Path, named: bool) -> anyhow::Result<Loaded> {
    let shown = path.display();
    let meta = std::fs::metadata(path)
        .map_err(|err| anyhow::anyhow!("cannot read config file {shown}: {err}"))?;
    if meta.len() > MAX_FILE_BYTES {
        anyhow::bail!("config file {shown} is larger than 1 MiB; is it the right file?");
    }
    let text = std::fs::read_to_string(path)
        .map_err(|err| anyhow::anyhow!("cannot read config file {shown}: {err}"))?;
    let file = parse(&text, named).map_err(|(span, message)| {
        let at = position(&text, span.map(|s| s.start));
        anyhow::anyhow!("{shown}{at}: {message}")
    })?;
    Ok(Loaded {
        path: path.to_owned(),
        named,
        file,
    })
}

/// Parses and checks a file's text; a mistake comes with its byte span.
pub fn parse(text: &str, named: bool) -> Result<ConfigFile, (Option<Range<usize>>, String)> {
    let file: ConfigFile =
        toml::from_str(text).map_err(|err| (err.span(), err.message().trim().to_owned()))?;
    if !named {
        let guarded = [
            file.relay.as_ref().map(|v| v.span()),
            file.relay_ca.as_ref().map(|v| v.span()),
            file.token.as_ref().map(|v| v.span()),
            file.channel.as_ref().map(|v| v.span()),
        ];
        for (key, value) in NEEDS_CONFIG_FLAG.iter().zip(guarded) {
            if let Some(span) = value {
                return Err((
                    Some(span),
                    format!(
                        "`{key}` cannot be set by a {FOUND_NAME} found in the current directory \
                         (a cloned repository may carry one); name the file with --config {FOUND_NAME} \
                         if you trust it"
                    ),
                ));
            }
        }
    }
    check_routes(&file)?;
    Ok(file)
}

/// What serde cannot see: unique route names, at least one target each.
fn check_routes(file: &ConfigFile) -> Result<(), (Option<Range<usize>>, String)> {
    let mut names = std::collections::HashSet::new();
    for route in &file.route {
        let name = route.name.get_ref();
        if name.trim().is_empty() {
            return Err((Some(route.name.span()), "a route needs a name".into()));
        }
        if name == crate::listen::DEFAULT_ROUTE {
            return Err((
                Some(route.name.span()),
                format!("the route name {name:?} is taken by --forward's route; choose another"),
            ));
        }
        if !names.insert(name.clone()) {
            return Err((
                Some(route.name.span()),
                format!("two routes are named {name:?}; route names must differ"),
            ));
        }
        if route.forward.get_ref().0.is_empty() {
            return Err((
                Some(route.forward.span()),
                format!("route {name:?} forwards nowhere: give it at least one URL"),
            ));
        }
    }
    Ok(())
}

/// `:LINE:COLUMN` of byte `offset` in `text`, both from 1.
fn position(text: &str, offset: Option<usize>) -> String {
    let Some(offset) = offset else {
        return String::new();
    };
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!(":{line}:{column}")
}

#[cfg(test)]
mod tests;
