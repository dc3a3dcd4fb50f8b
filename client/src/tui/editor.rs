//! `e`: the body goes to a private temporary file, `$VISUAL`/`$EDITOR`
//! (else `vi`) runs on the real terminal while the UI is suspended, and the
//! edited bytes come back.

use hookline_protocol::DeliveryId;

use super::clipboard::write_private;
use super::effects::Runner;
use super::terminal::Screen;
use crate::store::render::{BodyKind, body_kind};

impl Runner {
    /// The edited body, `None` when it came back unchanged.
    pub(super) async fn edit(
        &self,
        id: DeliveryId,
        body: &[u8],
        screen: &mut dyn Screen,
    ) -> Result<Option<Vec<u8>>, String> {
        let extension = if body_kind(body) == BodyKind::Json {
            "json"
        } else {
            "txt"
        };
        let path = self.dir.join(format!("tui-edit-{id}.{extension}"));
        write_private(&path, body).map_err(|e| format!("{}: {e}", path.display()))?;
        screen
            .suspend()
            .map_err(|e| format!("cannot hand the terminal over: {e}"))?;
        let status = crate::editor::edit(&path).await;
        let resumed = screen.resume();
        let edited = std::fs::read(&path);
        let _ = std::fs::remove_file(&path);
        resumed.map_err(|e| format!("cannot take the terminal back: {e}"))?;
        let status = status?;
        if !status.success() {
            return Err(format!("the editor exited with {status}; nothing replayed"));
        }
        let edited = edited.map_err(|e| format!("{}: {e}", path.display()))?;
        Ok((edited != body).then_some(edited))
    }
}
