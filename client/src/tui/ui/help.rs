//! The `?` overlay: every key, and the filter language.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::tui::app::App;

const KEYS: [(&str, &str); 18] = [
    ("↑ ↓  j k", "move (scroll the detail when it has focus)"),
    ("PgUp PgDn", "a screenful up / down"),
    ("g  G", "newest / oldest delivery"),
    ("Tab", "switch between list and detail"),
    ("← →  1-4", "detail tab: request, response, attempts, sig"),
    ("r", "replay to the forward target"),
    ("R", "replay re-signed with your secret"),
    (
        "e",
        "edit the body, replay it, see the diff (Esc leaves it)",
    ),
    ("/", "filter; Esc clears"),
    ("f", "failed deliveries only"),
    ("c", "copy the request as a curl command"),
    ("y", "copy the request body"),
    ("d", "delete (asks first)"),
    ("?", "this help"),
    ("Ctrl-L", "paint the screen again"),
    ("q  Ctrl-C", "quit"),
    (
        "a",
        "acknowledge the banner of deliveries the relay dropped",
    ),
    ("filter", "text event:email.* status:5xx sig:invalid"),
];

pub(super) fn draw(frame: &mut Frame, area: Rect, _app: &App) {
    let lines: Vec<Line> = KEYS
        .iter()
        .map(|(key, what)| {
            Line::from(vec![
                Span::styled(format!(" {key:<10} "), Style::new().fg(Color::Cyan)),
                Span::raw(*what),
            ])
        })
        .collect();
    let block = Block::bordered()
        .title(" Keys (any key closes) ")
        .border_style(Style::new().fg(Color::Cyan));
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
