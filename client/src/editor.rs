//! Running the user's editor on a file: `$VISUAL`, else `$EDITOR`, else `vi`.

use std::path::Path;
use std::process::ExitStatus;

/// The editor command line the user configured.
pub fn command() -> String {
    ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|value| !value.trim().is_empty())
        .unwrap_or_else(|| "vi".into())
}

/// Runs the editor on `path` and waits for it. Goes through `sh` so an
/// editor with arguments (`code --wait`) works as it does in a shell.
pub async fn edit(path: &Path) -> Result<ExitStatus, String> {
    let editor = command();
    tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(path)
        .status()
        .await
        .map_err(|e| format!("cannot run the editor {editor:?} (set $EDITOR): {e}"))
}
