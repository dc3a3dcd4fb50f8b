//! The TUI over a large store: time to the first drawn frame (start the
//! session, load the first page and the counts, draw into a `TestBackend`),
//! and per keypress (`j`: the selection moves and the detail of the newly
//! selected delivery is loaded and drawn).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use crossterm::event::{Event as Input, KeyCode, KeyEvent, KeyModifiers};
use hookline::control::StoreAccess;
use hookline::tui::app::Header;
use hookline::tui::{Event, Session, TuiOptions};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;

use super::Settings;
use super::store::Filled;
use crate::bench::report::{Section, fixed, rate};
use crate::bench::stats::{Latencies, median};

/// A common terminal size.
const SIZE: (u16, u16) = (120, 40);

/// Longest one keypress may take before the run fails.
const KEY_TIMEOUT: Duration = Duration::from_secs(10);

fn options(filled: &Filled) -> TuiOptions {
    TuiOptions {
        access: Arc::new(StoreAccess::Local(filled.store.clone())),
        header: Header::default(),
        state: None,
        replayer: None,
        target: None,
        dir: filled.dir.path().to_path_buf(),
    }
}

fn screen() -> anyhow::Result<Terminal<TestBackend>> {
    Terminal::new(TestBackend::new(SIZE.0, SIZE.1)).context("test terminal")
}

/// Start to the first frame that shows rows and counts: the page and the
/// counts arrive as events, each step applies what came and draws.
async fn first_frame(
    filled: &Filled,
) -> anyhow::Result<(Duration, Session, Terminal<TestBackend>)> {
    let started = Instant::now();
    let mut session = Session::start(options(filled), SIZE).await?;
    let mut terminal = screen()?;
    let ready =
        |session: &Session| !session.app().list.rows.is_empty() && session.app().counts.is_some();
    let wait = async {
        while !ready(&session) {
            session.step(&mut terminal).await.context("step")?;
        }
        anyhow::Ok(())
    };
    tokio::time::timeout(KEY_TIMEOUT, wait)
        .await
        .context("the first page never arrived")??;
    Ok((started.elapsed(), session, terminal))
}

/// One `j`: until the next row is selected and its detail loaded and drawn.
async fn keypress(
    session: &mut Session,
    terminal: &mut Terminal<TestBackend>,
) -> anyhow::Result<Duration> {
    let before = session.app().list.selected_id();
    let started = Instant::now();
    let key = KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE);
    session
        .sender()
        .send(Event::Input(Input::Key(key)))
        .context("UI closed")?;
    let done = |session: &Session| {
        let app = session.app();
        let selected = app.list.selected_id();
        selected.is_some()
            && selected != before
            && app.detail.stored.as_ref().map(|s| s.delivery.id) == selected
    };
    let wait = async {
        while !done(session) {
            session.step(terminal).await.context("step")?;
        }
        anyhow::Ok(())
    };
    tokio::time::timeout(KEY_TIMEOUT, wait)
        .await
        .context("keypress not handled in time")??;
    Ok(started.elapsed())
}

pub async fn run(settings: Settings, filled: &Filled) -> anyhow::Result<Section> {
    let runs = settings.runs();
    let mut firsts = Vec::with_capacity(runs);
    for _ in 0..runs {
        firsts.push(first_frame(filled).await?.0.as_secs_f64() * 1000.0);
    }
    let (_, mut session, mut terminal) = first_frame(filled).await?;
    let presses = if settings.quick { 5 } else { 300 };
    let mut keys = Latencies::default();
    for _ in 0..presses {
        keys.record(keypress(&mut session, &mut terminal).await?);
    }
    let first = median(firsts);
    let (p50, p99) = (keys.quantile_ms(0.5), keys.quantile_ms(0.99));
    let mut section = Section::new(
        &format!(
            "TUI ({} stored deliveries, {}×{} TestBackend)",
            rate(filled.count as f64),
            SIZE.0,
            SIZE.1
        ),
        &format!(
            "First frame: session start, first page and counts loaded, drawn (median of {runs}). \
             Keypress `j`: until the next row's detail is loaded and drawn ({presses} presses, \
             paging in new rows as it goes)."
        ),
        &["first frame ms", "keypress p50 ms", "keypress p99 ms"],
    );
    section.push(
        vec![fixed(first, 2), fixed(p50, 3), fixed(p99, 3)],
        json!({"deliveries": filled.count, "first_frame_ms": first, "keypress_p50_ms": p50, "keypress_p99_ms": p99}),
    );
    Ok(section)
}
