//! Drawing: a pure function of `&App`, one file per pane. Text from the
//! network passes through [`crate::escape::for_terminal`] so a sender cannot
//! write escape sequences to the developer's terminal.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};

use super::app::{App, list_rows};

mod detail;
mod diff;
mod footer;
mod header;
mod help;
pub mod json;
mod list;

/// Draws the whole screen for `app`.
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    let list_height = list_rows(area.height) + 2;
    let banner = u16::from(!app.gaps.is_empty());
    let [top, list, detail, bottom] = Layout::vertical([
        Constraint::Length(2 + banner),
        Constraint::Length(list_height),
        Constraint::Min(3),
        Constraint::Length(footer::height(app, area.width)),
    ])
    .areas(area);
    header::draw(frame, top, app);
    match &app.diff {
        // The diff takes the list's and the detail's room.
        Some(replay) => diff::draw(frame, list.union(detail), replay, app.diff_scroll),
        None => {
            list::draw(frame, list, app);
            detail::draw(frame, detail, app);
        }
    }
    footer::draw(frame, bottom, app);
    if app.help {
        help::draw(frame, centered(area, 64, 20), app);
    }
}

/// The colour of a status code's class: 2xx green, 3xx cyan, 4xx yellow, 5xx red.
pub fn status_style(status: Option<u16>, error: bool) -> Style {
    let color = match status {
        Some(200..=299) => Color::Green,
        Some(300..=399) => Color::Cyan,
        Some(400..=499) => Color::Yellow,
        Some(_) => Color::Red,
        None if error => Color::Red,
        None => Color::DarkGray,
    };
    Style::new().fg(color)
}

/// A rectangle of at most `width`×`height` in the middle of `area`.
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}
