//! The two header lines: where deliveries come from and the totals.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::connection::ConnectionState;
use crate::escape::{Lines, for_terminal};
use crate::tui::app::{App, Link};

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let title = Span::styled(
        " hookline ",
        Style::new()
            .fg(Color::Black)
            .bg(Color::Cyan)
            .add_modifier(Modifier::BOLD),
    );
    let mut first = vec![title, Span::raw(" ")];
    first.extend(link(app));
    first.push(Span::raw("   "));
    first.extend(counts(app));
    let public = app
        .header
        .public_url
        .as_deref()
        .map(|text| for_terminal(text, Lines::One));
    let forward = app.header.forward.clone();
    let second = vec![
        Span::raw(" "),
        Span::styled(
            public.unwrap_or_else(|| "(no public URL)".into()),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::raw(" → "),
        Span::raw(forward.unwrap_or_else(|| "(no forward target: --forward)".into())),
    ];
    let mut lines = vec![Line::from(first), Line::from(second)];
    lines.extend(gap_banner(app));
    frame.render_widget(Paragraph::new(lines), area);
}

/// One line while the relay has reported gaps nobody acknowledged.
fn gap_banner(app: &App) -> Option<Line<'static>> {
    let count: u64 = app.gaps.iter().map(|g| g.count).sum();
    let newest = app.gaps.last()?;
    let what = if app.gaps.len() == 1 {
        format!("seq {}..={}", newest.first_seq, newest.last_seq)
    } else {
        format!("{} gaps", app.gaps.len())
    };
    let text = format!(
        " ⚠ the relay dropped {count} deliver{} ({what}, {}) · a: acknowledge ",
        if count == 1 { "y" } else { "ies" },
        for_terminal(&newest.reason, Lines::One)
    );
    Some(Line::from(Span::styled(
        text,
        Style::new()
            .fg(Color::White)
            .bg(Color::Red)
            .add_modifier(Modifier::BOLD),
    )))
}

fn link(app: &App) -> Vec<Span<'static>> {
    let (mark, text, color) = match &app.header.link {
        Link::Listening { state, embedded } => match state {
            ConnectionState::Connected { .. } if *embedded => {
                ("●", "connected (embedded relay)".to_owned(), Color::Green)
            }
            ConnectionState::Connected { .. } => ("●", "connected".to_owned(), Color::Green),
            ConnectionState::Connecting => ("○", "connecting…".to_owned(), Color::Yellow),
            ConnectionState::Reconnecting { after, error } => {
                let elapsed = app.now_ms.saturating_sub(app.header.state_since_ms);
                let left = (after.as_millis() as u64)
                    .saturating_sub(elapsed)
                    .div_ceil(1000);
                (
                    "○",
                    format!(
                        "reconnecting in {left}s: {}",
                        for_terminal(error, Lines::One)
                    ),
                    Color::Yellow,
                )
            }
            ConnectionState::Refused { reason } => (
                "✗",
                format!("refused: {}", for_terminal(reason, Lines::One)),
                Color::Red,
            ),
            ConnectionState::Stopped => ("✗", "disconnected".to_owned(), Color::Red),
        },
        Link::Listener { pid } => ("●", format!("via listener (pid {pid})"), Color::Green),
        Link::StoreOnly => (
            "–",
            "store only (not listening)".to_owned(),
            Color::DarkGray,
        ),
    };
    vec![Span::styled(
        format!("{mark} {text}"),
        Style::new().fg(color),
    )]
}

fn counts(app: &App) -> Vec<Span<'static>> {
    let Some(c) = app.counts else {
        return vec![Span::styled("counting…", Style::new().fg(Color::DarkGray))];
    };
    let failed = if c.failed > 0 {
        Color::Red
    } else {
        Color::DarkGray
    };
    let invalid = if c.invalid > 0 {
        Color::Yellow
    } else {
        Color::DarkGray
    };
    vec![
        Span::raw(format!("{} total", c.total)),
        Span::raw(" · "),
        Span::styled(format!("{} failed", c.failed), Style::new().fg(failed)),
        Span::raw(" · "),
        Span::styled(format!("{} invalid", c.invalid), Style::new().fg(invalid)),
    ]
}
