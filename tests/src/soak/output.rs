//! The soak's report as printed: one figure a line, then the verdict.

use std::fmt::Write;

use super::Facts;
use super::tally::Report;

/// The report as text, ending with PASS or FAIL and why.
pub fn render(report: &Report, facts: &Facts) -> String {
    let mut out = String::new();
    let (refusing, failing) = facts.plan.outage_kinds();
    let r = report;
    let mut line = |label: &str, value: usize, note: String| {
        let _ = writeln!(out, "{label:<26}{value:>8}  {note}");
    };
    line(
        "POSTs",
        r.posts,
        format!("(non-2xx {}, no answer {})", r.refused, r.no_answer),
    );
    line(
        "accepted (2xx)",
        r.accepted,
        format!(
            "({} queued 202, {} answered by the app)",
            r.accepted_queued,
            r.accepted - r.accepted_queued
        ),
    );
    line(
        "stored",
        r.stored,
        format!("(of them {} after a non-2xx or no answer)", r.late.0),
    );
    line("stored twice", r.stored_twice, String::new());
    line("lost", r.lost, "(accepted, never stored)".into());
    line(
        "forwarded",
        r.forwarded,
        format!(
            "(accepted and answered 2xx by the app; {} more than once)",
            r.forwarded_again
        ),
    );
    line("failed", r.failed, "(accepted, retries ran out)".into());
    line(
        "not forwarded",
        r.unforwarded,
        "(accepted, stored, retries left, never forwarded)".into(),
    );
    line(
        "stored after a non-2xx",
        r.late.0,
        format!(
            "(forwarded {}, failed {}, neither {})",
            r.late.1, r.late.2, r.late.3
        ),
    );
    if r.gave_up > 0 {
        line("senders gave up", r.gave_up, "(no POST accepted)".into());
    }
    if r.foreign > 0 {
        line(
            "unexplained",
            r.foreign,
            "(stored or forwarded but never sent)".into(),
        );
    }
    let _ = writeln!(
        out,
        "chaos: {} client kills, {} relay kills, {} app outages ({refusing} refusing, {failing} answering 500); \
         app answered 500 to {} forwards; sending {:.1}s, drain {:.1}s; client retry span {:.1}s",
        facts.plan.client.len(),
        facts.plan.relay.len(),
        facts.plan.app.len(),
        r.app_500s,
        facts.sending.as_secs_f64(),
        facts.drain.as_secs_f64(),
        facts.retry_span.as_secs_f64(),
    );
    for example in &r.examples {
        let _ = writeln!(out, "  {example}");
    }
    for (name, clean) in &facts.stopped_cleanly {
        if !clean {
            let _ = writeln!(out, "the {name} did not exit 0 within 30 s of SIGTERM");
        }
    }
    if let Some(dir) = &facts.kept {
        let _ = writeln!(out, "data dirs and logs kept in {}", dir.display());
    }
    let _ = writeln!(
        out,
        "{}",
        if passed(report, facts) {
            "PASS"
        } else {
            "FAIL"
        }
    );
    out
}

/// The figures pass and both programs stopped cleanly on SIGTERM.
pub fn passed(report: &Report, facts: &Facts) -> bool {
    report.passed() && facts.stopped_cleanly.iter().all(|(_, clean)| *clean)
}
