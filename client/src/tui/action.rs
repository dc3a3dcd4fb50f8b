//! Everything that can change the [`App`]: keys (already interpreted for
//! the current mode), store and connection news, and the results of effects.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind};
use hookline_protocol::DeliveryId;
use tui_input::InputRequest;
use tui_input::backend::crossterm::to_input_request;

use super::app::{App, Prompt};
use super::keys;
use super::window::ListWindow;
use crate::connection::ConnectionState;
use crate::model::{Attempt, StoredDelivery};
use crate::store::{Counts, GapRecord, Page, StoreEvent, Summary};

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    First,
    Last,
    SwitchFocus,
    NextTab,
    PrevTab,
    ShowTab(usize),
    Replay {
        resign: bool,
    },
    EditBody,
    OpenFilter,
    ToggleFailed,
    CopyCurl,
    CopyBody,
    AskDelete,
    ToggleHelp,
    /// `a`: the gaps banner has been read.
    DismissGaps,
    /// Esc: closes help, a prompt, or clears the filter.
    Back,
    Quit,
    /// Ctrl-L: paint the whole screen again (after stray output, e.g. a log line).
    Repaint,
    /// An edit in the filter prompt: a character typed, a delete, a cursor move.
    EditFilter(InputRequest),
    Submit,
    /// `y`/`n` answering the delete question.
    Confirm(bool),
    /// The answer about an edited body's stale signature.
    AnswerStale(StaleAnswer),
    Resize(u16, u16),
    Tick(u64),
    Store(StoreEvent),
    Connection(ConnectionState),
    Loaded(Loaded),
}

/// Results of effects, coming back as actions so `update` stays the one
/// place the model changes.
#[derive(Debug, Clone, PartialEq)]
pub enum Loaded {
    /// A page for the list; `place` says where it goes.
    Page {
        generation: u64,
        place: Place,
        result: Result<Page, String>,
    },
    /// The last page and the cursors above it (`G`).
    Tail {
        generation: u64,
        result: Result<ListWindow, String>,
    },
    Summary {
        id: DeliveryId,
        result: Result<Option<Summary>, String>,
    },
    Detail {
        id: DeliveryId,
        result: Result<Option<Box<StoredDelivery>>, String>,
    },
    Counts(Result<Counts, String>),
    Gaps(Result<Vec<GapRecord>, String>),
    Replayed {
        id: DeliveryId,
        result: Result<Attempt, String>,
        /// For an edited replay: what it changed.
        diff: Option<Box<super::app::ReplayDiff>>,
    },
    /// The body came back from the editor; `None` when unchanged or abandoned.
    Edited {
        id: DeliveryId,
        result: Result<Option<Vec<u8>>, String>,
    },
    Deleted {
        id: DeliveryId,
        result: Result<bool, String>,
    },
    /// Copied: what, and where it went.
    Copied(Result<String, String>),
}

/// What to do with an edited body whose signature no longer matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleAnswer {
    Resign,
    SendStale,
    Cancel,
}

/// Where a loaded page goes in the window.
#[derive(Debug, Clone, PartialEq)]
pub enum Place {
    /// A fresh list (start, filter change, `g`), keeping this row selected if present.
    Replace {
        keep: Option<DeliveryId>,
    },
    Below,
    /// The chunk above, loaded from this popped cursor.
    Above {
        start: Option<DeliveryId>,
    },
}

/// The action a key means in the current mode (prompt, help, or the list).
pub fn for_key(app: &App, key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if let Some(action) = keys::lookup(keys::EVERYWHERE, &key) {
        return Some(action);
    }
    match &app.prompt {
        Some(Prompt::Filter { .. }) => return prompt_key(key),
        Some(Prompt::ConfirmDelete { .. }) => {
            return Some(Action::Confirm(matches!(
                key.code,
                KeyCode::Char('y' | 'Y') | KeyCode::Enter
            )));
        }
        Some(Prompt::StaleSignature { .. }) => {
            return match key.code {
                KeyCode::Char('y' | 'Y' | 'r' | 'R') | KeyCode::Enter if app.header.can_resign => {
                    Some(Action::AnswerStale(StaleAnswer::Resign))
                }
                KeyCode::Char('s' | 'S') => Some(Action::AnswerStale(StaleAnswer::SendStale)),
                KeyCode::Char('n' | 'N' | 'q') | KeyCode::Esc => {
                    Some(Action::AnswerStale(StaleAnswer::Cancel))
                }
                _ => None,
            };
        }
        None => {}
    }
    if app.help {
        return matches!(key.code, KeyCode::Char('q'))
            .then_some(Action::Quit)
            .or(Some(Action::Back));
    }
    keys::lookup_rows(keys::screen(app), &key)
}

fn prompt_key(key: KeyEvent) -> Option<Action> {
    match key.code {
        KeyCode::Enter => Some(Action::Submit),
        KeyCode::Esc => Some(Action::Back),
        _ => to_input_request(&Event::Key(key)).map(Action::EditFilter),
    }
}
