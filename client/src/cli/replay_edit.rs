//! `replay --edit`: the body edited in `$EDITOR`, and what to do about the
//! signature it no longer matches (re-sign, send it stale on purpose, or
//! stop), asked before anything is sent.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, bail};
use hookline_protocol::{DeliveryId, Header};

use crate::replay::{Replayer, stale_signature};
use crate::verify::Scheme;

/// The edited body and the request it belongs to.
#[derive(Debug)]
pub struct EditedBody {
    pub body: Vec<u8>,
    original: Vec<u8>,
    headers: Vec<Header>,
}

/// What to do with an edited body's old signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleChoice {
    /// Send as decided by the flags (nothing stale, or stale on purpose).
    Send,
    /// Sign the edited body again.
    Resign,
    /// Send nothing.
    Abort,
}

impl EditedBody {
    /// Opens the stored body in `$EDITOR` (or `vi`) and reads back what was saved.
    pub async fn edit(replayer: &Replayer, id: DeliveryId) -> anyhow::Result<Self> {
        let stored = replayer
            .access()
            .get(id)
            .await?
            .context("delivery vanished from the store")?;
        let path =
            std::env::temp_dir().join(format!("hookline-body-{id}-{}.json", std::process::id()));
        let file = EditFile::create(path, &stored.delivery.body)?;
        let status = crate::editor::edit(file.path())
            .await
            .map_err(anyhow::Error::msg)?;
        if !status.success() {
            bail!("the editor exited with {status}; nothing was sent");
        }
        let body = std::fs::read(file.path()).context("cannot read the edited body back")?;
        Ok(Self {
            body,
            original: stored.delivery.body.to_vec(),
            headers: stored.delivery.headers,
        })
    }

    /// What the edit changed, as a unified diff of the bodies (JSON
    /// pretty-printed alike on both sides).
    pub fn diff(&self) -> String {
        crate::diff::unified(
            &crate::diff::body_text(&self.original),
            &crate::diff::body_text(&self.body),
            "stored body",
            "edited body",
            3,
        )
    }

    /// Decides about a signature the edit made stale: `--resign` and
    /// `--keep-signature` decide without a word; otherwise the developer is
    /// warned on stderr and, on a terminal, asked.
    pub fn stale_choice(
        &self,
        resign: bool,
        keep_signature: bool,
        secret: &str,
    ) -> anyhow::Result<StaleChoice> {
        let Some(scheme) = stale_signature(&self.headers, &self.original, &self.body) else {
            return Ok(StaleChoice::Send);
        };
        if resign || keep_signature {
            return Ok(StaleChoice::Send);
        }
        let mut err = std::io::stderr().lock();
        writeln!(err, "warning: {}", stale_warning(&scheme))?;
        if !std::io::stdin().is_terminal() {
            writeln!(
                err,
                "sending it with the old signature; pass --resign to sign it with {secret}, \
                 or --keep-signature to send it stale without this warning"
            )?;
            return Ok(StaleChoice::Send);
        }
        ask(&mut std::io::stdin().lock(), &mut err, secret)
    }
}

/// What the developer is told when an edit makes a `scheme` signature stale.
pub fn stale_warning(scheme: &Scheme) -> String {
    format!(
        "the edited body no longer matches the request's {} signature; an app that checks it \
         will reject this replay",
        scheme.name()
    )
}

/// Asks on `output` and reads the answer from `input`: Enter or `y`
/// re-signs, `s` sends the stale signature, `n`, `q` or end of input stops.
pub fn ask(
    input: &mut impl BufRead,
    output: &mut impl Write,
    secret: &str,
) -> anyhow::Result<StaleChoice> {
    for _ in 0..3 {
        write!(
            output,
            "Re-sign it with {secret}? [Y]es / [s]end with the old signature / [n]o, send nothing: "
        )?;
        output.flush()?;
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            return Ok(StaleChoice::Abort);
        }
        match line.trim().to_ascii_lowercase().as_str() {
            "" | "y" | "yes" => return Ok(StaleChoice::Resign),
            "s" | "send" => return Ok(StaleChoice::Send),
            "n" | "no" | "q" => return Ok(StaleChoice::Abort),
            _ => {}
        }
    }
    Ok(StaleChoice::Abort)
}

/// The body's temp file, removed again however the edit ends.
struct EditFile(std::path::PathBuf);

impl EditFile {
    fn create(path: std::path::PathBuf, body: &[u8]) -> anyhow::Result<Self> {
        let mut file = crate::data_dir::create_owner_only(&path)
            .with_context(|| format!("cannot create {} for the body", path.display()))?;
        file.write_all(body)
            .context("cannot write the body to edit")?;
        Ok(Self(path))
    }

    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for EditFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(typed: &str) -> (StaleChoice, String) {
        let mut output = Vec::new();
        let choice = ask(&mut typed.as_bytes(), &mut output, "the secret").unwrap();
        (choice, String::from_utf8(output).unwrap())
    }

    #[test]
    fn enter_or_yes_resigns_s_sends_stale_and_no_or_eof_stops() {
        assert_eq!(answer("\n").0, StaleChoice::Resign);
        assert_eq!(answer("Y\n").0, StaleChoice::Resign);
        assert_eq!(answer("s\n").0, StaleChoice::Send);
        assert_eq!(answer("n\n").0, StaleChoice::Abort);
        assert_eq!(answer("").0, StaleChoice::Abort);
        let (choice, shown) = answer("what\nsend\n");
        assert_eq!(choice, StaleChoice::Send);
        assert_eq!(shown.matches("Re-sign it with the secret?").count(), 2);
        assert_eq!(answer("x\nx\nx\ny\n").0, StaleChoice::Abort);
    }
}
