//! With 100,000 stored deliveries: time to the first drawn frame and per
//! keypress, the UI drawing into a `TestBackend`. Ignored by default (it
//! fills a store first); run in release:
//! `cargo test --release -p hookline --test tui_scale -- --ignored --nocapture`

use crate::tui_support;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use hookline::control::StoreAccess;
use hookline::store::Store;
use hookline::tui::app::Header;
use hookline::tui::{App, Event, Session, TuiOptions};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const COUNT: u64 = 100_000;

/// The slowest any measured step may be before the test fails.
const BUDGET: Duration = Duration::from_millis(500);

fn fill(dir: &Path) -> Store {
    let store = Store::open(dir).expect("store");
    let started = Instant::now();
    for n in 1..=COUNT {
        let status = if n % 10 == 0 { 503 } else { 200 };
        store
            .insert_stored(&tui_support::stored(n, "email.opened", Some(status)))
            .expect("insert");
    }
    println!("filled {COUNT} deliveries in {:?}", started.elapsed());
    store
}

/// Sends `code` and steps until `done`; returns the time taken.
async fn press(
    session: &mut Session,
    terminal: &mut Terminal<TestBackend>,
    code: KeyCode,
    done: impl Fn(&App) -> bool,
) -> Duration {
    let started = Instant::now();
    let key = KeyEvent::new(code, KeyModifiers::NONE);
    session
        .sender()
        .send(Event::Input(crossterm::event::Event::Key(key)))
        .expect("send key");
    session.step(terminal).await.expect("draw");
    while !done(session.app()) {
        session.step(terminal).await.expect("draw");
    }
    started.elapsed()
}

fn settled(app: &App) -> bool {
    !app.list.loading && app.selected_stored().is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "fills a store with 100,000 deliveries; run in release"]
async fn responsive_with_100k_deliveries() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = fill(dir.path());
    // Measure the UI, not sled writing the fill back in the background.
    store.flush().await.expect("flush");
    let options = TuiOptions {
        access: Arc::new(StoreAccess::Local(store)),
        header: Header::default(),
        state: None,
        replayer: None,
        target: None,
        dir: dir.path().to_path_buf(),
    };
    let started = Instant::now();
    let mut session = Session::start(options, (80, 24)).await.expect("session");
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    while session.app().list.rows.is_empty() {
        session.step(&mut terminal).await.expect("draw");
    }
    let first = started.elapsed();
    println!("first frame with rows: {first:?}");
    let mut worst = first;
    let mut report = |what: &str, took: Duration| {
        println!("{what:<28} {took:?}");
        worst = worst.max(took);
    };
    let mut down = Vec::new();
    for _ in 0..200 {
        down.push(press(&mut session, &mut terminal, KeyCode::Down, settled).await);
    }
    down.sort();
    report("Down (median of 200)", down[100]);
    report("Down (slowest of 200)", down[199]);
    for i in 0..3 {
        report(
            &format!("PgDn #{i}"),
            press(&mut session, &mut terminal, KeyCode::PageDown, settled).await,
        );
    }
    let last = press(&mut session, &mut terminal, KeyCode::Char('G'), |a| {
        settled(a) && a.list.next.is_none()
    })
    .await;
    report("G (oldest of 100k)", last);
    assert_eq!(session.app().list.selected_id(), Some(tui_support::id(1)));
    report(
        "Up from the oldest",
        press(&mut session, &mut terminal, KeyCode::Up, settled).await,
    );
    let mut up = Vec::new();
    for _ in 0..100 {
        up.push(
            press(&mut session, &mut terminal, KeyCode::PageUp, |a| {
                settled(a) && !a.list.loading
            })
            .await,
        );
    }
    up.sort();
    report("PgUp (median of 100)", up[50]);
    report("PgUp (slowest of 100)", up[99]);
    let step = session.app().list_height() as u64 - 1;
    assert_eq!(
        session.app().list.selected_id(),
        Some(tui_support::id(2 + 100 * step))
    );
    let rows = &session.app().list.rows;
    assert!(
        rows.windows(2)
            .all(|w| w[0].id
                == tui_support::id(w[1].id.unix_ms() / 1000 - tui_support::T0 / 1000 + 1)),
        "paged back up across chunks without gaps"
    );
    report(
        "g (back to newest)",
        press(&mut session, &mut terminal, KeyCode::Char('g'), |a| {
            settled(a) && a.list.at_head()
        })
        .await,
    );
    report(
        "f (failed only)",
        press(&mut session, &mut terminal, KeyCode::Char('f'), |a| {
            settled(a) && a.list.rows.iter().all(|s| s.last_status == Some(503))
        })
        .await,
    );
    report(
        "Tab",
        press(&mut session, &mut terminal, KeyCode::Tab, |_| true).await,
    );
    assert!(
        session.app().list.rows.len()
            <= hookline::tui::window::MAX_ROWS + hookline::tui::window::PAGE
    );
    assert!(worst < BUDGET, "slowest step took {worst:?}");
    scan_without_a_match_does_not_block_keys(&mut session, &mut terminal).await;
}

/// A filter nothing matches makes the store scan all 100,000 summaries;
/// meanwhile keys are still handled at once.
async fn scan_without_a_match_does_not_block_keys(
    session: &mut Session,
    terminal: &mut Terminal<TestBackend>,
) {
    press(session, terminal, KeyCode::Esc, |_| true).await;
    press(session, terminal, KeyCode::Char('/'), |_| true).await;
    for c in "no-such-thing".chars() {
        press(session, terminal, KeyCode::Char(c), |_| true).await;
    }
    let started = Instant::now();
    press(session, terminal, KeyCode::Enter, |a| a.list.loading).await;
    let key = press(session, terminal, KeyCode::Char('?'), |a| a.help).await;
    println!(
        "{:<28} {key:?} (while the scan runs: {})",
        "? during a full scan",
        session.app().list.loading
    );
    assert!(key < BUDGET, "a key waited {key:?} behind the scan");
    while session.app().list.loading {
        session.step(terminal).await.expect("draw");
    }
    println!("{:<28} {:?}", "full scan, no match", started.elapsed());
    assert!(session.app().list.rows.is_empty());
}
