//! The `?` overlay: every key, and the filter language.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::tui::app::App;
use crate::tui::keys;

/// The filter language, after the keys.
const FILTER: (&str, &str) = ("filter", "text event:email.* status:5xx sig:invalid");

pub(super) fn draw(frame: &mut Frame, area: Rect, _app: &App) {
    let lines: Vec<Line> = keys::LIST
        .iter()
        .filter_map(|row| Some((row.label, row.help?)))
        .chain([FILTER])
        .map(|(key, what)| {
            Line::from(vec![
                Span::styled(format!(" {key:<10} "), Style::new().fg(Color::Cyan)),
                Span::raw(what),
            ])
        })
        .collect();
    let block = Block::bordered()
        .title(" Keys (any key closes) ")
        .border_style(Style::new().fg(Color::Cyan));
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
