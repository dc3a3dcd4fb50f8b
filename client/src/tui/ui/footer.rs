//! The last line: the filter prompt, the delete question, a message, or
//! the most useful keys.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use crate::escape::{Lines, for_terminal};
use crate::tui::app::{App, Prompt};

const HINTS: &str = " ↑↓ move  Tab pane  ←→ tab  r replay  / filter  f failed  ? help  q quit";

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App) {
    frame.render_widget(line(app), area);
}

fn line(app: &App) -> Line<'static> {
    match (&app.prompt, &app.status) {
        (Some(Prompt::Filter { input, error }), _) => {
            let mut spans = vec![
                Span::styled(
                    "/",
                    Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
                ),
                Span::raw(for_terminal(input, Lines::One)),
                Span::styled("█", Style::new().fg(Color::Magenta)),
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
        (None, None) => Line::styled(HINTS, Style::new().fg(Color::DarkGray)),
    }
}
