//! The key table: one row per line of the help screen, naming the keys,
//! the actions they mean and the words shown for them. The mapping, the
//! help screen and the footer's hints are all read from here, so a key
//! cannot be bound in one place and described differently in another.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;
use super::app::App;

/// A key, with or without Ctrl.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    code: KeyCode,
    ctrl: bool,
}

impl Key {
    const fn plain(code: KeyCode) -> Self {
        Self { code, ctrl: false }
    }

    const fn char(c: char) -> Self {
        Self::plain(KeyCode::Char(c))
    }

    const fn ctrl(c: char) -> Self {
        Self {
            code: KeyCode::Char(c),
            ctrl: true,
        }
    }

    fn matches(&self, event: &KeyEvent) -> bool {
        self.code == event.code && self.ctrl == event.modifiers.contains(KeyModifiers::CONTROL)
    }
}

/// One line of the help screen and the bindings it describes.
#[derive(Debug)]
pub struct Row {
    pub keys: &'static [(Key, Action)],
    /// How the help screen names the keys.
    pub label: &'static str,
    /// What the help screen says they do; `None` keeps the row off it.
    pub help: Option<&'static str>,
    /// The footer's short form (keys, word), for the keys worth a hint.
    pub hint: Option<(&'static str, &'static str)>,
}

impl Row {
    const fn new(label: &'static str, help: &'static str, keys: &'static [(Key, Action)]) -> Self {
        Self {
            keys,
            label,
            help: Some(help),
            hint: None,
        }
    }

    const fn hint(self, keys: &'static str, word: &'static str) -> Self {
        Self {
            hint: Some((keys, word)),
            ..self
        }
    }

    const fn unlisted(keys: &'static [(Key, Action)]) -> Self {
        Self {
            keys,
            label: "",
            help: None,
            hint: None,
        }
    }
}

/// Chords that act on every screen, prompts included (they are never text).
pub const EVERYWHERE: &[(Key, Action)] = &[
    (Key::ctrl('c'), Action::Quit),
    (Key::ctrl('l'), Action::Repaint),
];

/// The list and detail panes.
pub const LIST: &[Row] = &[
    Row::new(
        "↑ ↓  j k",
        "move (scroll the detail when it has focus)",
        &[
            (Key::plain(KeyCode::Up), Action::Up),
            (Key::char('k'), Action::Up),
            (Key::plain(KeyCode::Down), Action::Down),
            (Key::char('j'), Action::Down),
        ],
    )
    .hint("↑↓", "move"),
    Row::new(
        "PgUp PgDn",
        "a screenful up / down",
        &[
            (Key::plain(KeyCode::PageUp), Action::PageUp),
            (Key::ctrl('u'), Action::PageUp),
            (Key::plain(KeyCode::PageDown), Action::PageDown),
            (Key::ctrl('d'), Action::PageDown),
        ],
    ),
    Row::new(
        "g  G",
        "newest / oldest delivery",
        &[
            (Key::char('g'), Action::First),
            (Key::plain(KeyCode::Home), Action::First),
            (Key::char('G'), Action::Last),
            (Key::plain(KeyCode::End), Action::Last),
        ],
    ),
    Row::new(
        "Tab",
        "switch between list and detail",
        &[(Key::plain(KeyCode::Tab), Action::SwitchFocus)],
    )
    .hint("Tab", "pane"),
    Row::new(
        "← →  1-4",
        "detail tab: request, response, attempts, sig",
        &[
            (Key::plain(KeyCode::Right), Action::NextTab),
            (Key::char('l'), Action::NextTab),
            (Key::plain(KeyCode::Left), Action::PrevTab),
            (Key::char('h'), Action::PrevTab),
            (Key::plain(KeyCode::BackTab), Action::PrevTab),
            (Key::char('1'), Action::ShowTab(0)),
            (Key::char('2'), Action::ShowTab(1)),
            (Key::char('3'), Action::ShowTab(2)),
            (Key::char('4'), Action::ShowTab(3)),
        ],
    )
    .hint("←→", "tab"),
    Row::new(
        "r",
        "replay to the forward target",
        &[(Key::char('r'), Action::Replay { resign: false })],
    )
    .hint("r", "replay"),
    Row::new(
        "R",
        "replay re-signed with your secret",
        &[(Key::char('R'), Action::Replay { resign: true })],
    ),
    Row::new(
        "e",
        "edit the body, replay it, see the diff",
        &[(Key::char('e'), Action::EditBody)],
    ),
    Row::new(
        "/",
        "filter; Esc clears",
        &[(Key::char('/'), Action::OpenFilter)],
    )
    .hint("/", "filter"),
    Row::new(
        "f",
        "failed deliveries only",
        &[(Key::char('f'), Action::ToggleFailed)],
    )
    .hint("f", "failed"),
    Row::new(
        "c",
        "copy the request as a curl command",
        &[(Key::char('c'), Action::CopyCurl)],
    ),
    Row::new(
        "y",
        "copy the request body",
        &[(Key::char('y'), Action::CopyBody)],
    ),
    Row::new(
        "d",
        "delete (asks first)",
        &[
            (Key::char('d'), Action::AskDelete),
            (Key::plain(KeyCode::Delete), Action::AskDelete),
        ],
    ),
    Row::new("?", "this help", &[(Key::char('?'), Action::ToggleHelp)]).hint("?", "help"),
    Row::new("Ctrl-L", "paint the screen again", &[]),
    Row::new("q  Ctrl-C", "quit", &[(Key::char('q'), Action::Quit)]).hint("q", "quit"),
    Row::new(
        "a",
        "dismiss the banner of deliveries the relay dropped",
        &[(Key::char('a'), Action::DismissGaps)],
    ),
    Row::unlisted(&[(Key::plain(KeyCode::Esc), Action::Back)]),
];

/// The diff screen after an edited replay.
pub const DIFF: &[Row] = &[
    Row::new(
        "↑ ↓  PgUp PgDn",
        "scroll",
        &[
            (Key::plain(KeyCode::Up), Action::Up),
            (Key::char('k'), Action::Up),
            (Key::plain(KeyCode::Down), Action::Down),
            (Key::char('j'), Action::Down),
            (Key::plain(KeyCode::PageUp), Action::PageUp),
            (Key::plain(KeyCode::PageDown), Action::PageDown),
        ],
    )
    .hint("↑↓ PgUp PgDn", "scroll"),
    Row::new(
        "Esc  q",
        "back to the list",
        &[
            (Key::plain(KeyCode::Esc), Action::Back),
            (Key::char('q'), Action::Back),
        ],
    )
    .hint("Esc/q", "back to the list"),
    Row::new("?", "help", &[(Key::char('?'), Action::ToggleHelp)]),
];

/// The rows of the screen `app` shows: the diff after an edited replay, or
/// the list and detail panes.
pub fn screen(app: &App) -> &'static [Row] {
    if app.diff.is_some() { DIFF } else { LIST }
}

/// The action `event` is bound to in `table`.
pub fn lookup(table: &[(Key, Action)], event: &KeyEvent) -> Option<Action> {
    table
        .iter()
        .find(|(key, _)| key.matches(event))
        .map(|(_, action)| action.clone())
}

/// The action `event` is bound to on the screen whose table is `rows`.
pub fn lookup_rows(rows: &[Row], event: &KeyEvent) -> Option<Action> {
    rows.iter().find_map(|row| lookup(row.keys, event))
}

/// The footer line of hints for `rows`: " ↑↓ move  Tab pane …".
pub fn hints(rows: &[Row]) -> String {
    rows.iter()
        .filter_map(|row| row.hint)
        .map(|(keys, word)| format!(" {keys} {word} "))
        .collect::<String>()
        .trim_end()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_bound_twice_on_one_screen() {
        for rows in [LIST, DIFF] {
            let keys: Vec<Key> = rows
                .iter()
                .flat_map(|row| row.keys.iter().map(|(key, _)| *key))
                .chain(EVERYWHERE.iter().map(|(key, _)| *key))
                .collect();
            for (i, key) in keys.iter().enumerate() {
                assert!(!keys[i + 1..].contains(key), "{key:?} bound twice");
            }
        }
    }

    #[test]
    fn footer_hints_read_from_the_table() {
        assert_eq!(
            hints(LIST),
            " ↑↓ move  Tab pane  ←→ tab  r replay  / filter  f failed  ? help  q quit"
        );
        assert_eq!(hints(DIFF), " ↑↓ PgUp PgDn scroll  Esc/q back to the list");
    }
}
