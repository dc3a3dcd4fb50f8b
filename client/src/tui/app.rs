//! The one model the TUI draws from and `update` changes: the list window,
//! the selected delivery's detail, the filter, prompts and the header facts.

use std::collections::BTreeSet;

use hookline_protocol::DeliveryId;

use super::body::BodyLines;
use super::query::FilterSpec;
use super::window::ListWindow;
use crate::connection::ConnectionState;
use crate::model::{Outcome, StoredDelivery};
use crate::store::{Counts, GapRecord};

/// Everything on screen, and nothing that needs I/O to read.
#[derive(Debug, Clone, Default)]
pub struct App {
    pub header: Header,
    pub counts: Option<Counts>,
    pub list: ListWindow,
    pub filter: FilterSpec,
    pub detail: Detail,
    pub focus: Focus,
    pub tab: Tab,
    pub prompt: Option<Prompt>,
    pub help: bool,
    pub status: Option<Status>,
    /// Deliveries with a replay in flight, marked in the list.
    pub replaying: BTreeSet<DeliveryId>,
    /// Unix milliseconds, advanced by ticks so drawing never reads the clock.
    pub now_ms: u64,
    /// Terminal size (columns, rows), for paging by a screenful.
    pub size: (u16, u16),
    /// Bumped whenever the list is reloaded from scratch; page answers for an
    /// older generation (a filter since changed) are dropped.
    pub generation: u64,
    pub counts_dirty: bool,
    /// Gaps the relay reported, shown as a banner until dismissed (`a`).
    pub gaps: Vec<GapRecord>,
    /// When gaps were last asked for (they arrive without a store event).
    pub gaps_checked_ms: u64,
    /// What the last edited replay changed, shown over the panes until Esc.
    pub diff: Option<Box<ReplayDiff>>,
    /// Lines of the diff scrolled past.
    pub diff_scroll: u16,
    pub quit: bool,
}

/// An edited replay next to the original: the request compared line by line
/// (headers, then the body) and the app's answers before and after.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayDiff {
    pub id: DeliveryId,
    pub request: Vec<crate::diff::DiffLine>,
    /// The answer to the attempt before the replay, if there was one.
    pub before: Option<Outcome>,
    pub after: Outcome,
}

/// What the header says about where deliveries come from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Header {
    pub link: Link,
    pub public_url: Option<String>,
    pub forward: Option<String>,
    /// Whether `R` and edited replays can re-sign (a secret is configured).
    pub can_resign: bool,
    /// When the connection state last changed, for "reconnecting in Ns".
    pub state_since_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub enum Link {
    /// This process listens; the state of its relay connection.
    Listening {
        state: ConnectionState,
        embedded: bool,
    },
    /// A running `hookline listen` owns the store; we read it over its socket.
    Listener { pid: u32 },
    /// Nobody listens: the store was opened directly.
    #[default]
    StoreOnly,
}

/// The selected delivery in full, once loaded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Detail {
    pub id: Option<DeliveryId>,
    pub stored: Option<Box<StoredDelivery>>,
    pub request_body: BodyLines,
    /// The body of the last attempt's answer, when there was one.
    pub response_body: Option<BodyLines>,
    pub error: Option<String>,
    pub scroll: u16,
}

impl Detail {
    /// Takes a freshly loaded record and formats its bodies once.
    pub fn show(&mut self, stored: Box<StoredDelivery>) {
        self.request_body = BodyLines::new(&stored.delivery.body);
        self.response_body = stored.attempts.last().and_then(|a| match &a.outcome {
            Outcome::Response { body, .. } => Some(BodyLines::new(body)),
            Outcome::Error { .. } => None,
        });
        self.error = None;
        self.stored = Some(stored);
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Focus {
    #[default]
    List,
    Detail,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Tab {
    #[default]
    Request,
    Response,
    Attempts,
    Signature,
}

impl Tab {
    pub const ALL: [Tab; 4] = [Tab::Request, Tab::Response, Tab::Attempts, Tab::Signature];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Request => "Request",
            Tab::Response => "Response",
            Tab::Attempts => "Attempts",
            Tab::Signature => "Signature",
        }
    }

    pub fn index(self) -> usize {
        Self::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    pub fn step(self, delta: isize) -> Tab {
        let i = (self.index() as isize + delta).rem_euclid(Self::ALL.len() as isize);
        Self::ALL[i as usize]
    }
}

/// A question in the footer that takes the keyboard until answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    Filter {
        input: String,
        /// Where typing goes, in characters from the start.
        cursor: usize,
        error: Option<String>,
    },
    ConfirmDelete {
        id: DeliveryId,
    },
    /// An edited body would go out under a signature of the old one
    /// (`scheme`'s): re-sign, send it stale, or drop it.
    StaleSignature {
        id: DeliveryId,
        body: Vec<u8>,
        scheme: String,
    },
}

/// A one-line message in the footer, gone after `until_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub text: String,
    pub error: bool,
    pub until_ms: u64,
}

/// How long footer messages stay.
pub const STATUS_MS: u64 = 6_000;

/// Rows above and below the list: header (2), list title and column header
/// (2), detail pane (at least 10) and footer (1).
const CHROME_ROWS: u16 = 15;

impl App {
    pub fn new(header: Header, now_ms: u64, size: (u16, u16)) -> Self {
        Self {
            header,
            now_ms,
            size,
            ..Self::default()
        }
    }

    /// List rows visible at the current size; layout and paging agree on it.
    pub fn list_height(&self) -> usize {
        usize::from(list_rows(self.size.1))
    }

    pub fn say(&mut self, text: impl Into<String>) {
        self.status = Some(Status {
            text: text.into(),
            error: false,
            until_ms: self.now_ms + STATUS_MS,
        });
    }

    pub fn complain(&mut self, text: impl Into<String>) {
        self.status = Some(Status {
            text: text.into(),
            error: true,
            until_ms: self.now_ms + STATUS_MS,
        });
    }

    /// The loaded detail, when it belongs to the selected row.
    pub fn selected_stored(&self) -> Option<&StoredDelivery> {
        let selected = self.list.selected_id()?;
        self.detail
            .stored
            .as_deref()
            .filter(|s| s.delivery.id == selected)
    }
}

/// Rows of the list pane for a terminal `height` rows tall: about two
/// fifths of the body, never fewer than 3.
pub fn list_rows(height: u16) -> u16 {
    let body = height.saturating_sub(3);
    (body * 2 / 5)
        .max(3)
        .min(height.saturating_sub(CHROME_ROWS).max(3))
}
