//! The last line: the filter prompt, the delete question, a message, or
//! the most useful keys. A message longer than the screen is wide wraps
//! onto a few more lines (taken from the detail pane) rather than losing
//! its end, which is usually the part that says what to do.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::escape::{Lines, for_terminal};
use crate::tui::app::{App, Prompt};
use crate::tui::keys;

/// Most rows the footer grows to; a message longer still is cut.
const MAX_ROWS: u16 = 4;

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App) {
    frame.render_widget(Paragraph::new(line(app)).wrap(Wrap { trim: false }), area);
}

/// Rows the footer needs at `width` columns: one, or as many as its
/// message wraps to, up to [`MAX_ROWS`]. Wrapping breaks between words, so
/// each row is counted a few columns short of the full width.
pub(super) fn height(app: &App, width: u16) -> u16 {
    let text = line(app).width();
    let width = usize::from(width);
    if text <= width {
        return 1;
    }
    let per_row = width.saturating_sub(WORD_SLACK).max(1);
    u16::try_from(text.div_ceil(per_row)).map_or(MAX_ROWS, |rows| rows.clamp(1, MAX_ROWS))
}

/// Columns a wrapped row may leave empty when the next word does not fit.
const WORD_SLACK: usize = 12;

fn line(app: &App) -> Line<'static> {
    match (&app.prompt, &app.status) {
        (
            Some(Prompt::Filter {
                input,
                cursor,
                error,
            }),
            _,
        ) => {
            // The cursor is a block after the text, or the character under it reversed.
            let split = input
                .char_indices()
                .nth(*cursor)
                .map_or(input.len(), |(i, _)| i);
            let (before, rest) = input.split_at(split);
            let mut chars = rest.chars();
            let under = chars.next();
            let mut spans = vec![
                Span::styled(
                    "/",
                    Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
                ),
                Span::raw(for_terminal(before, Lines::One)),
                match under {
                    Some(c) => Span::styled(
                        for_terminal(c.to_string(), Lines::One),
                        Style::new().add_modifier(Modifier::REVERSED),
                    ),
                    None => Span::styled("█", Style::new().fg(Color::Magenta)),
                },
                Span::raw(for_terminal(chars.as_str(), Lines::One)),
            ];
            match error {
                Some(e) => spans.push(Span::styled(format!("  {e}"), Style::new().fg(Color::Red))),
                None => spans.push(Span::styled(
                    "  Enter apply · Esc cancel",
                    Style::new().fg(Color::DarkGray),
                )),
            }
            Line::from(spans)
        }
        (Some(Prompt::ConfirmDelete { id }), _) => Line::from(vec![
            Span::styled(
                format!("Delete {id}? "),
                Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            ),
            Span::raw("y/N"),
        ]),
        (Some(Prompt::StaleSignature { scheme, .. }), _) => {
            // The keys come first so a narrow terminal cuts the explanation, not the choice.
            let keys = if app.header.can_resign {
                " y re-sign · s send as is · n drop"
            } else {
                " s send as is · n drop"
            };
            Line::from(vec![
                Span::styled(
                    keys,
                    Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
                ),
                Span::raw(format!(" — the edit breaks its {scheme} signature")),
            ])
        }
        (None, Some(status)) => {
            let color = if status.error {
                Color::Red
            } else {
                Color::Green
            };
            Line::styled(
                format!(" {}", for_terminal(&status.text, Lines::One)),
                Style::new().fg(color),
            )
        }
        (None, None) => Line::styled(
            keys::hints(keys::screen(app)),
            Style::new().fg(Color::DarkGray),
        ),
    }
}
