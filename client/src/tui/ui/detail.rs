//! The detail pane: the selected delivery in four tabs (request, the app's
//! response, every attempt, the signature verdict).

use hookline_protocol::Header;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::list::format_latency;
use super::{json, status_style};
use crate::escape::{Lines, for_terminal};
use crate::model::{AttemptKind, Outcome, StoredDelivery};
use crate::store::time::format_utc;
use crate::tui::app::{App, Focus, Tab};
use crate::tui::body::BodyLines;

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let focused = app.focus == Focus::Detail && app.prompt.is_none();
    let border = if focused {
        Style::new().fg(Color::Cyan)
    } else {
        Style::new().fg(Color::DarkGray)
    };
    let block = Block::bordered().border_style(border).title(tabs(app.tab));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = usize::from(inner.height);
    let lines = match (app.selected_stored(), &app.detail.error) {
        (_, Some(error)) => vec![Line::styled(
            for_terminal(error, Lines::One),
            Style::new().fg(Color::Red),
        )],
        (Some(stored), None) => content(app, stored, height),
        (None, None) if app.list.rows.is_empty() => vec![],
        (None, None) => vec![Line::styled("loading…", Style::new().fg(Color::DarkGray))],
    };
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn tabs(current: Tab) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    for (i, tab) in Tab::ALL.into_iter().enumerate() {
        let style = if tab == current {
            Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        spans.push(Span::styled(format!("{} {}", i + 1, tab.title()), style));
        spans.push(Span::raw(" "));
    }
    Line::from(spans)
}

/// The visible lines of the current tab: fixed lines, then the body, from
/// the scroll position on.
fn content(app: &App, stored: &StoredDelivery, height: usize) -> Vec<Line<'static>> {
    let (head, body) = match app.tab {
        Tab::Request => (request(stored), Some(&app.detail.request_body)),
        Tab::Response => response(stored, app.detail.response_body.as_ref()),
        Tab::Attempts => (attempts(stored), None),
        Tab::Signature => (signature(stored), None),
    };
    let body_lines = body.into_iter().flat_map(|b| {
        b.lines.iter().map(move |l| {
            if b.json {
                json::highlight(l)
            } else {
                Line::raw(l.clone())
            }
        })
    });
    head.into_iter()
        .chain(body_lines)
        .skip(usize::from(app.detail.scroll))
        .take(height)
        .collect()
}

fn dim(text: impl Into<String>) -> Span<'static> {
    Span::styled(text.into(), Style::new().fg(Color::DarkGray))
}

fn header_lines(headers: &[Header]) -> impl Iterator<Item = Line<'static>> + '_ {
    headers.iter().map(|h| {
        Line::from(vec![
            Span::styled(
                for_terminal(&h.name, Lines::One),
                Style::new().fg(Color::Cyan),
            ),
            Span::raw(": "),
            Span::raw(for_terminal(&h.value, Lines::One)),
        ])
    })
}

fn request(stored: &StoredDelivery) -> Vec<Line<'static>> {
    let d = &stored.delivery;
    let target = for_terminal(format!("{} {}", d.method, d.path_and_query()), Lines::One);
    let mut lines = vec![
        Line::from(vec![Span::styled(
            target,
            Style::new().add_modifier(Modifier::BOLD),
        )]),
        Line::from(vec![dim(format!(
            "{} · {} UTC · {} bytes",
            d.id,
            format_utc(d.received_at_ms),
            d.body.len(),
        ))]),
    ];
    lines.extend(header_lines(&d.headers));
    lines.push(Line::raw(""));
    lines
}

fn response<'a>(
    stored: &StoredDelivery,
    body: Option<&'a BodyLines>,
) -> (Vec<Line<'static>>, Option<&'a BodyLines>) {
    let Some(last) = stored.attempts.last() else {
        return (vec![Line::from(dim("not forwarded yet"))], None);
    };
    let when = format!(
        "{} UTC · {} · {}",
        format_utc(last.at_ms),
        format_latency(last.duration_us),
        for_terminal(&last.target, Lines::One)
    );
    match &last.outcome {
        Outcome::Response {
            status,
            headers,
            body_truncated,
            ..
        } => {
            let mut lines = vec![Line::from(vec![
                Span::styled(
                    format!("{status}"),
                    status_style(Some(*status), false).add_modifier(Modifier::BOLD),
                ),
                Span::raw("  "),
                dim(when),
            ])];
            lines.extend(header_lines(headers));
            lines.push(Line::raw(if *body_truncated {
                "(body truncated)"
            } else {
                ""
            }));
            (lines, body)
        }
        Outcome::Error { message } => (
            vec![
                Line::styled(
                    format!("no answer: {}", for_terminal(message, Lines::One)),
                    Style::new().fg(Color::Red),
                ),
                Line::from(dim(when)),
            ],
            None,
        ),
    }
}

fn attempts(stored: &StoredDelivery) -> Vec<Line<'static>> {
    if stored.attempts.is_empty() {
        return vec![Line::from(dim("no attempts yet"))];
    }
    let summary = crate::store::Summary::of(stored);
    let mut lines = Vec::new();
    if let Some(line) = summary.targets_line() {
        lines.push(Line::from(dim(line)));
        for target in &summary.targets {
            let status = target.last_status;
            let shown = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
            lines.push(Line::from(vec![
                Span::raw("  "),
                Span::styled(
                    format!("{shown:>5}"),
                    status_style(status, status.is_none()),
                ),
                Span::raw(format!(" ×{:<3} ", target.attempts)),
                dim(for_terminal(&target.target, Lines::One)),
            ]));
        }
        lines.push(Line::from(""));
    }
    let each = stored.attempts.iter().enumerate().map(|(i, a)| {
        let kind = match a.kind {
            AttemptKind::Forward => "forward".to_owned(),
            AttemptKind::Replay { resigned, edited } => format!(
                "replay{}{}",
                if resigned { " resigned" } else { "" },
                if edited { "+edited" } else { "" }
            ),
        };
        let result = match &a.outcome {
            Outcome::Response { status, .. } => {
                Span::styled(status.to_string(), status_style(Some(*status), false))
            }
            Outcome::Error { message } => Span::styled(
                format!("error: {}", for_terminal(message, Lines::One)),
                Style::new().fg(Color::Red),
            ),
        };
        let time = format_utc(a.at_ms);
        Line::from(vec![
            Span::raw(format!(
                "#{:<2} {} {:<22} ",
                i + 1,
                time.get(11..).unwrap_or(&time),
                kind
            )),
            result,
            Span::raw(format!(" {:>7} ", format_latency(a.duration_us))),
            dim(for_terminal(&a.target, Lines::One)),
        ])
    });
    lines.extend(each);
    lines
}

fn signature(stored: &StoredDelivery) -> Vec<Line<'static>> {
    use crate::model::Verdict;
    let v = &stored.verdict;
    let scheme = match v {
        Verdict::Valid { scheme, .. }
        | Verdict::Invalid { scheme, .. }
        | Verdict::Stale { scheme, .. } => scheme.clone(),
        Verdict::Unsigned { scheme } => scheme
            .clone()
            .unwrap_or_else(|| "auto (none recognised)".into()),
        Verdict::NoSecret => "– (no secret configured)".into(),
    };
    let color = match v.kind() {
        crate::model::VerdictKind::Valid => Color::Green,
        crate::model::VerdictKind::Invalid | crate::model::VerdictKind::Stale => Color::Red,
        _ => Color::DarkGray,
    };
    vec![
        Line::from(vec![
            dim("scheme   "),
            Span::raw(for_terminal(&scheme, Lines::One)),
        ]),
        Line::from(vec![
            dim("verdict  "),
            Span::styled(
                format!("{} {}", v.kind().mark(), v.kind().as_str()),
                Style::new().fg(color).add_modifier(Modifier::BOLD),
            ),
        ]),
        Line::from(vec![
            dim("reason   "),
            Span::raw(for_terminal(v.describe(), Lines::One)),
        ]),
        Line::from(vec![
            dim("sha256   "),
            Span::raw(for_terminal(&stored.delivery.body_sha256, Lines::One)),
        ]),
    ]
}
