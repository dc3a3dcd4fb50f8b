//! The verdict: the senders' answers, the client's store (as `hookline export
//! --format jsonl` writes it) and the app's log, matched by soak id.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;
use std::path::Path;

use anyhow::Context;
use hookline::model::{AttemptKind, StoredDelivery};

use super::app::AppLog;
use super::traffic::{Answer, Sending, soak_id};

/// One stored copy of a POST.
#[derive(Debug, Clone)]
struct StoredCopy {
    delivery_id: String,
    forwards: usize,
    forwarded: bool,
    last: String,
}

/// What the store holds, by soak id.
#[derive(Debug, Default)]
pub struct Stored {
    by_id: HashMap<String, Vec<StoredCopy>>,
    /// Stored deliveries without a soak id (none are expected).
    foreign: usize,
}

/// Reads an export file line by line (one delivery in memory at a time).
pub fn read_export(path: &Path) -> anyhow::Result<Stored> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot read the export {}", path.display()))?;
    let mut stored = Stored::default();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.context("reading the export")?;
        let record: StoredDelivery = serde_json::from_str(&line).with_context(|| {
            format!(
                "line {} of {} is not a stored delivery",
                n + 1,
                path.display()
            )
        })?;
        let forwards: Vec<_> = record
            .attempts
            .iter()
            .filter(|a| a.kind == AttemptKind::Forward)
            .collect();
        let copy = StoredCopy {
            delivery_id: record.delivery.id.to_string(),
            forwards: forwards.len(),
            forwarded: forwards.iter().any(|a| a.outcome.is_success()),
            last: forwards
                .last()
                .map_or("no attempt".into(), |a| match a.outcome.status() {
                    Some(status) => format!("last answer {status}"),
                    None => "last attempt got no answer".into(),
                }),
        };
        match soak_id(&record.delivery.body) {
            Some(id) => stored.by_id.entry(id).or_default().push(copy),
            None => stored.foreign += 1,
        }
    }
    Ok(stored)
}

/// The figures of one run.
#[derive(Debug, Default)]
pub struct Report {
    pub posts: usize,
    pub accepted: usize,
    pub accepted_queued: usize,
    pub refused: usize,
    pub no_answer: usize,
    pub gave_up: usize,
    pub stored: usize,
    pub stored_twice: usize,
    pub lost: usize,
    pub forwarded: usize,
    pub forwarded_again: usize,
    /// Accepted, stored, retries used up without a 2xx.
    pub failed: usize,
    /// Accepted, stored, retries left, yet never forwarded.
    pub unforwarded: usize,
    /// POSTs answered non-2xx (or not at all) that the client stored anyway:
    /// (stored, forwarded, failed, neither).
    pub late: (usize, usize, usize, usize),
    pub foreign: usize,
    /// Forwards the app answered with 500 during its failing phases.
    pub app_500s: u64,
    /// A few ids of each kind of fault, with what is known of them.
    pub examples: Vec<String>,
}

impl Report {
    /// No loss, no double store, every stored delivery forwarded or counted
    /// failed (whatever its sender heard: the client owes the app a forward
    /// for everything it stored), every slot eventually accepted, nothing
    /// unexplained.
    pub fn passed(&self) -> bool {
        self.lost == 0
            && self.stored_twice == 0
            && self.unforwarded == 0
            && self.late.3 == 0
            && self.gave_up == 0
            && self.foreign == 0
    }
}

/// Matches everything up. `max_forwards` is one plus the client's retries:
/// a delivery with that many failed forwards has used up its retries.
pub fn tally(sending: &Sending, stored: &Stored, app: &AppLog, max_forwards: usize) -> Report {
    let mut report = Report {
        posts: sending.posts.len(),
        gave_up: sending.gave_up,
        foreign: stored.foreign + app.foreign as usize,
        app_500s: app.hits.values().map(|h| u64::from(h.failed)).sum(),
        ..Report::default()
    };
    let mut posted = HashSet::new();
    let mut examples = Vec::new();
    let mut example = |kind: &str, id: &str, copies: Option<&Vec<StoredCopy>>| {
        if examples.len() < 12 {
            let copies = copies.map_or("not stored".into(), |c| {
                c.iter()
                    .map(|c| format!("{} ({} forwards, {})", c.delivery_id, c.forwards, c.last))
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            examples.push(format!("{kind}: soak id {id}: {copies}"));
        }
    };
    for post in &sending.posts {
        posted.insert(post.id.as_str());
        let copies = stored.by_id.get(&post.id);
        let ok_hits = app.hits.get(&post.id).map_or(0, |h| h.ok);
        let forwarded = ok_hits > 0;
        let failed = !forwarded
            && copies.is_some_and(|c| c.iter().any(|c| !c.forwarded && c.forwards >= max_forwards));
        if copies.is_some() {
            report.stored += 1;
        }
        if copies.is_some_and(|c| c.len() > 1) {
            report.stored_twice += 1;
            example("stored twice", &post.id, copies);
        }
        match post.answer {
            Answer::Accepted(status) => {
                report.accepted += 1;
                report.accepted_queued += usize::from(status == 202);
                if copies.is_none() {
                    report.lost += 1;
                    example("lost", &post.id, copies);
                }
                if forwarded {
                    report.forwarded += 1;
                    report.forwarded_again += usize::from(ok_hits > 1);
                } else if failed {
                    report.failed += 1;
                } else if copies.is_some() {
                    report.unforwarded += 1;
                    example("accepted, stored, never forwarded", &post.id, copies);
                }
            }
            Answer::Refused(_) | Answer::NoAnswer => {
                if matches!(post.answer, Answer::NoAnswer) {
                    report.no_answer += 1;
                } else {
                    report.refused += 1;
                }
                if copies.is_some() {
                    report.late.0 += 1;
                    if forwarded {
                        report.late.1 += 1;
                    } else if failed {
                        report.late.2 += 1;
                    } else {
                        report.late.3 += 1;
                        example("stored after a non-2xx, never forwarded", &post.id, copies);
                    }
                }
            }
        }
    }
    report.examples = examples;
    // Whatever was stored or forwarded must have been sent.
    report.foreign += stored
        .by_id
        .keys()
        .filter(|id| !posted.contains(id.as_str()))
        .count();
    report.foreign += app
        .hits
        .keys()
        .filter(|id| !posted.contains(id.as_str()))
        .count();
    report
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::super::app::Hits;
    use super::super::traffic::Posted;
    use super::*;

    fn post(id: &str, answer: Answer) -> Posted {
        Posted {
            id: id.into(),
            answer,
        }
    }

    fn copy(delivery_id: &str, forwards: usize, forwarded: bool) -> StoredCopy {
        StoredCopy {
            delivery_id: delivery_id.into(),
            forwards,
            forwarded,
            last: String::new(),
        }
    }

    #[test]
    fn each_fault_is_counted_once_and_fails_the_run() {
        let sending = Sending {
            posts: vec![
                post("ok", Answer::Accepted(200)),
                post("lost", Answer::Accepted(202)),
                post("twice", Answer::Accepted(202)),
                post("stuck", Answer::Accepted(202)),
                post("spent", Answer::Accepted(202)),
                post("retried", Answer::Refused(502)),
                post("refused", Answer::NoAnswer),
                post("abandoned", Answer::Refused(500)),
            ],
            ..Sending::default()
        };
        let mut stored = Stored::default();
        for (id, copies) in [
            ("ok", vec![copy("a", 1, true)]),
            ("twice", vec![copy("b", 1, true), copy("c", 1, true)]),
            ("stuck", vec![copy("d", 2, false)]),
            ("spent", vec![copy("e", 6, false)]),
            ("retried", vec![copy("f", 3, true)]),
            ("abandoned", vec![copy("g", 2, false)]),
        ] {
            stored.by_id.insert(id.into(), copies);
        }
        let ok = Hits { ok: 1, failed: 0 };
        let app = AppLog {
            hits: [
                ("ok", ok),
                ("twice", Hits { ok: 2, failed: 0 }),
                ("retried", ok),
            ]
            .into_iter()
            .map(|(id, hits)| (id.to_owned(), hits))
            .collect(),
            foreign: 0,
            last_hit: Instant::now(),
        };
        let report = tally(&sending, &stored, &app, 6);
        assert_eq!(
            (report.posts, report.accepted, report.accepted_queued),
            (8, 5, 4)
        );
        assert_eq!(
            (report.lost, report.stored_twice, report.unforwarded),
            (1, 1, 1)
        );
        assert_eq!(
            (report.forwarded, report.forwarded_again, report.failed),
            (2, 1, 1)
        );
        assert_eq!(
            (report.refused, report.no_answer, report.late),
            (2, 1, (2, 1, 0, 1))
        );
        assert_eq!((report.stored, report.app_500s), (6, 0));
        assert!(!report.passed());
        assert_eq!(report.examples.len(), 4, "{:?}", report.examples);
    }

    #[test]
    fn what_was_never_sent_is_unexplained() {
        let sending = Sending {
            posts: vec![post("1.0", Answer::Accepted(202))],
            ..Sending::default()
        };
        let mut stored = Stored::default();
        stored.by_id.insert("1.0".into(), vec![copy("a", 1, true)]);
        stored.by_id.insert("9.9".into(), vec![copy("b", 1, true)]);
        let app = AppLog {
            hits: [("1.0".to_owned(), Hits { ok: 1, failed: 0 })].into(),
            foreign: 0,
            last_hit: Instant::now(),
        };
        let report = tally(&sending, &stored, &app, 6);
        assert_eq!((report.foreign, report.lost, report.forwarded), (1, 0, 1));
        assert!(!report.passed());
    }
}
