//! The limiter and the tally, driven with explicit instants.

use std::net::IpAddr;

use super::*;

fn source(ip: &str) -> SourceKey {
    SourceKey::from(ip.parse::<IpAddr>().unwrap())
}

#[test]
fn a_source_is_throttled_after_its_failures_until_the_window_ends() {
    let refusals = Refusals::new(3);
    let (a, b) = (source("127.0.0.1"), source("127.0.0.2"));
    let t0 = Instant::now();
    for i in 0..3 {
        assert_eq!(refusals.admit(a, t0), Ok(()), "attempt {i}");
        refusals.failed(a, t0 + Duration::from_secs(i));
    }
    let wait = refusals.admit(a, t0 + Duration::from_secs(10)).unwrap_err();
    assert_eq!(wait, FAILURE_WINDOW - Duration::from_secs(10));
    assert_eq!(
        refusals.admit(b, t0),
        Ok(()),
        "another source is not affected"
    );
    assert_eq!(refusals.admit(a, t0 + FAILURE_WINDOW), Ok(()));
    refusals.failed(a, t0 + FAILURE_WINDOW);
    assert_eq!(
        refusals.admit(a, t0 + FAILURE_WINDOW),
        Ok(()),
        "a new window starts from zero"
    );
}

#[test]
fn a_flood_is_one_full_line_then_one_summary_per_interval() {
    let refusals = Refusals::new(10);
    let t0 = Instant::now();
    let bad = Refused::Handshake(GoodbyeReason::BadToken);
    let logged_in_full = (0..2_200)
        .filter(|_| refusals.note(Some(source("127.0.0.1")), bad))
        .count();
    assert_eq!(logged_in_full, 1);
    refusals.note(Some(source("127.0.0.1")), Refused::Throttled);
    refusals.note(Some(source("10.0.0.9")), Refused::OverSourceCap);
    let tally = refusals.take(t0).expect("a summary");
    assert_eq!(tally.total(), 2_202);
    assert_eq!(tally.handshakes.get("bad_token"), Some(&2_200));
    assert_eq!(tally.top_source(), Some((source("127.0.0.1"), 2_201)));
    assert_eq!(
        tally.to_string(),
        "2200 failed handshakes (bad_token 2200), 1 handshake throttled with 429, \
         1 connection over the per-address cap; from 2 addresses, most from 127.0.0.1 (2201)"
    );
    assert_eq!(refusals.take(t0), None, "a quiet interval logs nothing");
    assert!(
        refusals.note(None, bad),
        "the next interval's first is logged in full"
    );
    assert_eq!(
        refusals.take(t0),
        None,
        "a lone refusal was already logged in full"
    );
}

#[test]
fn tracked_and_tallied_sources_stay_bounded() {
    let refusals = Refusals::new(1);
    let t0 = Instant::now();
    let many = (0..(MAX_TRACKED_SOURCES as u32 + 10)).map(|i| {
        let [a, b, c, d] = (0x0a00_0000 + i).to_be_bytes();
        source(&format!("{a}.{b}.{c}.{d}"))
    });
    for s in many.clone() {
        refusals.failed(s, t0);
        refusals.note(Some(s), Refused::Handshake(GoodbyeReason::BadToken));
    }
    assert_eq!(refusals.state().windows.len(), MAX_TRACKED_SOURCES);
    let last = many.clone().next_back().unwrap();
    assert_eq!(refusals.admit(last, t0), Ok(()), "untracked: not limited");
    // Once the old windows expire, new sources are tracked again.
    let later = t0 + FAILURE_WINDOW + PRUNE_EVERY;
    refusals.failed(last, later);
    assert!(refusals.admit(last, later).is_err());
    let tally = refusals.take(later).unwrap();
    assert_eq!(tally.total(), MAX_TRACKED_SOURCES as u64 + 10);
    assert!(tally.to_string().contains("from more than 1024 addresses"));
    assert_eq!(refusals.state().windows.len(), 1, "expired windows pruned");
}
