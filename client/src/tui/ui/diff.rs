//! The screen after an edited replay: the request as stored against the
//! request as sent (headers, then the body; `-` removed, `+` added), and
//! below it the app's answer before the replay beside its answer now.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::status_style;
use crate::diff::{DiffLine, body_text};
use crate::escape::{Lines, for_terminal};
use crate::model::Outcome;
use crate::tui::app::ReplayDiff;

/// Rows of the two answers at most; the request diff gets the rest.
const ANSWER_ROWS: u16 = 12;

pub(super) fn draw(frame: &mut Frame, area: Rect, diff: &ReplayDiff, scroll: u16) {
    let answers = ANSWER_ROWS.min(area.height / 2);
    let [request, answer] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(answers)]).areas(area);
    let (removed, added) = diff.request.iter().fold((0, 0), |(r, a), l| match l {
        DiffLine::Removed(_) => (r + 1, a),
        DiffLine::Added(_) => (r, a + 1),
        DiffLine::Same(_) => (r, a),
    });
    let lines: Vec<Line> = diff.request.iter().map(diff_line).collect();
    let title = format!(
        " Edited replay {}: stored → sent (-{removed} +{added}) ",
        diff.id
    );
    frame.render_widget(
        Paragraph::new(lines)
            .block(
                Block::bordered()
                    .title(title)
                    .border_style(Style::new().fg(Color::Cyan)),
            )
            .scroll((scroll, 0)),
        request,
    );
    let [before, after] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(answer);
    draw_answer(frame, before, " Answer before ", diff.before.as_ref());
    draw_answer(
        frame,
        after,
        " Answer to the edited replay ",
        Some(&diff.after),
    );
}

fn diff_line(line: &DiffLine) -> Line<'static> {
    let (mark, text, style) = match line {
        DiffLine::Same(t) => (' ', t, Style::new().fg(Color::Gray)),
        DiffLine::Removed(t) => ('-', t, Style::new().fg(Color::Red)),
        DiffLine::Added(t) => ('+', t, Style::new().fg(Color::Green)),
    };
    Line::styled(format!("{mark} {}", for_terminal(text, Lines::One)), style)
}

fn draw_answer(frame: &mut Frame, area: Rect, title: &str, outcome: Option<&Outcome>) {
    let lines: Vec<Line> = match outcome {
        None => vec![Line::styled(
            "no earlier attempt",
            Style::new().fg(Color::DarkGray),
        )],
        Some(Outcome::Error { message }) => vec![Line::styled(
            format!("no answer: {}", for_terminal(message, Lines::One)),
            status_style(None, true),
        )],
        Some(Outcome::Response {
            status,
            headers,
            body,
            body_truncated,
        }) => {
            let mut lines = vec![Line::from(Span::styled(
                status.to_string(),
                status_style(Some(*status), false).add_modifier(Modifier::BOLD),
            ))];
            for header in headers {
                lines.push(Line::styled(
                    format!(
                        "{}: {}",
                        for_terminal(&header.name, Lines::One),
                        for_terminal(&header.value, Lines::One)
                    ),
                    Style::new().fg(Color::DarkGray),
                ));
            }
            lines.push(Line::raw(""));
            for text in body_text(body).lines() {
                lines.push(Line::raw(for_terminal(text, Lines::One)));
            }
            if *body_truncated {
                lines.push(Line::styled("… (cut)", Style::new().fg(Color::DarkGray)));
            }
            lines
        }
    };
    frame.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title(title.to_owned()))
            .wrap(Wrap { trim: false }),
        area,
    );
}
