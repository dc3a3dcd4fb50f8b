//! The delivery list: one row per delivery, newest first, drawn from the
//! rows the window holds.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row, Table};

use super::status_style;
use crate::escape::{Lines, for_terminal};
use crate::model::VerdictKind;
use crate::store::Summary;
use crate::tui::app::{App, Focus};

const WIDTHS: [Constraint; 7] = [
    Constraint::Length(8),
    Constraint::Length(18),
    Constraint::Fill(1),
    Constraint::Length(1),
    Constraint::Length(3),
    Constraint::Length(7),
    Constraint::Length(3),
];

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let focused = app.focus == Focus::List && app.prompt.is_none();
    let border = if focused {
        Style::new().fg(Color::Cyan)
    } else {
        Style::new().fg(Color::DarkGray)
    };
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(border)
        .title(title(app));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if app.list.rows.is_empty() {
        frame.render_widget(ratatui::widgets::Paragraph::new(empty_text(app)), inner);
        return;
    }
    let height = usize::from(inner.height.saturating_sub(1));
    let rows = app
        .list
        .rows
        .iter()
        .enumerate()
        .skip(app.list.offset)
        .take(height)
        .map(|(i, s)| {
            let style = if i == app.list.selected {
                Style::new().add_modifier(Modifier::REVERSED)
            } else {
                Style::new()
            };
            row(app, s).style(style)
        });
    let header = Row::new(["time", "event", "request", "", "st", "latency", "↻"])
        .style(Style::new().fg(Color::DarkGray));
    frame.render_widget(
        Table::new(rows, WIDTHS).header(header).column_spacing(1),
        inner,
    );
}

fn title(app: &App) -> Line<'static> {
    let mut spans = vec![Span::styled(
        " Deliveries ",
        Style::new().add_modifier(Modifier::BOLD),
    )];
    if app.filter.is_active() {
        spans.push(Span::styled(
            format!("[{}] ", for_terminal(app.filter.describe(), Lines::One)),
            Style::new().fg(Color::Magenta),
        ));
    }
    if app.list.loading {
        spans.push(Span::styled("loading… ", Style::new().fg(Color::DarkGray)));
    }
    Line::from(spans)
}

fn empty_text(app: &App) -> Vec<Line<'static>> {
    let text = match (
        app.list.loading,
        app.filter.is_active(),
        &app.header.public_url,
    ) {
        (true, _, _) => vec![" loading…".to_owned()],
        (false, true, _) => vec![" no delivery matches the filter (Esc clears it)".to_owned()],
        (false, false, Some(url)) => vec![
            " no deliveries yet. Send a webhook to".to_owned(),
            format!("   {}", for_terminal(url, Lines::One)),
            " or try: hookline trigger email.opened".to_owned(),
        ],
        (false, false, None) => vec![" no deliveries stored yet".to_owned()],
    };
    text.into_iter()
        .map(|t| Line::styled(t, Style::new().fg(Color::DarkGray)))
        .collect()
}

fn row<'a>(app: &App, s: &'a Summary) -> Row<'a> {
    let time = crate::store::time::format_utc(s.received_at_ms);
    let event = s
        .event
        .as_deref()
        .map(|text| for_terminal(text, Lines::One))
        .unwrap_or_else(|| "–".to_owned());
    let request = crate::escape::request_line(&s.method, &s.path);
    let verdict = match s.verdict {
        VerdictKind::Valid => Color::Green,
        VerdictKind::Invalid | VerdictKind::Stale => Color::Red,
        _ => Color::DarkGray,
    };
    let status = match (app.replaying.contains(&s.id), s.last_status) {
        (true, _) => Span::styled("…", Style::new().fg(Color::Cyan)),
        (false, Some(code)) => Span::styled(code.to_string(), status_style(Some(code), false)),
        (false, None) if s.last_error => Span::styled("ERR", status_style(None, true)),
        (false, None) => Span::styled("–", status_style(None, false)),
    };
    let latency = s.last_duration_us.map(format_latency).unwrap_or_default();
    let replays = if s.replays > 0 {
        s.replays.to_string()
    } else {
        String::new()
    };
    Row::new([
        Cell::from(time.get(11..).unwrap_or(&time).to_owned()),
        Cell::from(event),
        Cell::from(request),
        Cell::from(Span::styled(s.verdict.mark(), Style::new().fg(verdict))),
        Cell::from(status),
        Cell::from(Line::from(latency).right_aligned()),
        Cell::from(replays),
    ])
}

/// `850µs`, `12ms`, `1.4s`: short enough for the column.
pub fn format_latency(us: u64) -> String {
    match us {
        0..1_000 => format!("{us}µs"),
        1_000..1_000_000 => format!("{}ms", us / 1000),
        _ => format!("{:.1}s", us as f64 / 1e6),
    }
}
