//! What one control connection may cost the listener: a small line for
//! every request but the two that carry a delivery or an app's answer, a
//! deadline for each request line (idle or trickling), a deadline for each
//! answer to be taken.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};
use tokio::sync::Semaphore;

use super::protocol::MAX_LINE_BYTES;

/// Longest line of a request that carries no body: ids, prefixes, filters.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// The requests that may be longer (up to [`MAX_LINE_BYTES`]): `insert`
/// (import: a whole delivery) and `record_attempt` (the app's answer). Such
/// a line must open with its `op`, as this crate always writes it.
const LONG_REQUEST_OPENINGS: [&[u8]; 2] = [br#"{"op":"insert""#, br#"{"op":"record_attempt""#];

/// Long request lines read at once, so half-sent ones cannot add up to
/// more than this many times [`MAX_LINE_BYTES`] of memory.
const LONG_LINES_AT_ONCE: usize = 2;

/// The control endpoint's bounds; [`Default`] is what `listen` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlLimits {
    /// Longest wait for the next complete request line, from the previous
    /// answer (or the connection): an idle or trickling client is closed
    /// with a `closed` reply, and commands reconnect transparently.
    pub idle_timeout: Duration,
    /// Longest wait for a client to take an answer or event line.
    pub write_timeout: Duration,
    /// Connections at once. When full, a newcomer takes the place of the
    /// connection idle the longest, so idle ones never lock commands out.
    pub max_connections: usize,
}

impl Default for ControlLimits {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            max_connections: 64,
        }
    }
}

/// A request line that broke the rules, worded for the client's error.
pub(super) fn too_long(limit: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "request line longer than {limit} bytes: only insert (import) and record_attempt \
             requests may be longer, up to {MAX_LINE_BYTES} bytes, and must start with their \
             \"op\"; closing the connection"
        ),
    )
}

/// Reads one request line: at most [`MAX_REQUEST_BYTES`], or up to
/// [`MAX_LINE_BYTES`] for a line that opens as a long request (holding one
/// of the few `long_lines` permits meanwhile). `None` at a clean end of
/// stream; [`io::ErrorKind::InvalidData`] for a line over its limit, which
/// is never buffered past that limit.
pub(super) async fn read_request<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    long_lines: &Arc<Semaphore>,
) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let n = (&mut *reader)
        .take(MAX_REQUEST_BYTES as u64 + 1)
        .read_until(b'\n', &mut line)
        .await?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        if line.len() <= MAX_REQUEST_BYTES {
            return Err(cut());
        }
        if !LONG_REQUEST_OPENINGS.iter().any(|o| line.starts_with(o)) {
            return Err(too_long(MAX_REQUEST_BYTES));
        }
        let _permit = long_lines
            .acquire()
            .await
            .map_err(|_| io::Error::other("the control endpoint is stopping"))?;
        let room = (MAX_LINE_BYTES - line.len()) as u64 + 1;
        (&mut *reader)
            .take(room)
            .read_until(b'\n', &mut line)
            .await?;
        if line.last() != Some(&b'\n') {
            return Err(if line.len() > MAX_LINE_BYTES {
                too_long(MAX_LINE_BYTES)
            } else {
                cut()
            });
        }
    }
    line.pop();
    Ok(Some(line))
}

/// The permits for [`read_request`]'s long lines, one set per endpoint.
pub(super) fn long_line_permits() -> Arc<Semaphore> {
    Arc::new(Semaphore::new(LONG_LINES_AT_ONCE))
}

fn cut() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed mid-line")
}
