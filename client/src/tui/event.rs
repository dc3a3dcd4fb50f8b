//! One [`Event`] stream for the UI loop, merged from every source: keys and
//! resizes (a reader thread), ticks, store changes, the relay connection,
//! and the results of effects.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::action::Action;
use crate::connection::ConnectionState;
use crate::control::EventStream;

/// How often the clock in the model advances (status timeouts, "reconnecting in Ns").
pub const TICK: Duration = Duration::from_millis(250);

/// How long the reader thread waits for a key before checking whether to stop.
const INPUT_POLL: Duration = Duration::from_millis(50);

#[derive(Debug)]
pub enum Event {
    Input(crossterm::event::Event),
    /// Anything already turned into an action: news and effect results.
    Action(Action),
    /// Stop the UI (a signal, or the listener shutting down).
    Quit,
}

pub type Sender = mpsc::UnboundedSender<Event>;

/// Spawns the ticker, the store-event and connection forwarders; they stop
/// with `cancel` or when the UI drops its receiver.
pub fn spawn_sources(
    tx: &Sender,
    store: Option<EventStream>,
    state: Option<watch::Receiver<ConnectionState>>,
    cancel: &CancellationToken,
) {
    let (tx2, c) = (tx.clone(), cancel.clone());
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(TICK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                () = c.cancelled() => break,
                _ = ticks.tick() => if tx2.send(Event::Action(Action::Tick(crate::store::time::now_ms()))).is_err() { break },
            }
        }
    });
    if let Some(mut events) = store {
        let (tx2, c) = (tx.clone(), cancel.clone());
        tokio::spawn(async move {
            while let Some(event) =
                tokio::select! { () = c.cancelled() => None, e = events.next() => e }
            {
                if tx2.send(Event::Action(Action::Store(event))).is_err() {
                    return;
                }
            }
            tracing::debug!("store event stream ended");
        });
    }
    if let Some(mut state) = state {
        let (tx2, c) = (tx.clone(), cancel.clone());
        tokio::spawn(async move {
            loop {
                let current = state.borrow_and_update().clone();
                if tx2
                    .send(Event::Action(Action::Connection(current)))
                    .is_err()
                {
                    return;
                }
                tokio::select! {
                    () = c.cancelled() => return,
                    changed = state.changed() => if changed.is_err() { return },
                }
            }
        });
    }
}

/// The thread reading the terminal. Stopped (and joined) before an editor
/// takes the terminal, so it cannot steal the editor's keys.
#[derive(Debug)]
pub struct InputReader {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl InputReader {
    pub fn start(tx: Sender) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match crossterm::event::poll(INPUT_POLL) {
                    Ok(false) => continue,
                    Ok(true) => {}
                    Err(_) => break,
                }
                let Ok(event) = crossterm::event::read() else {
                    break;
                };
                if tx.send(Event::Input(event)).is_err() {
                    break;
                }
            }
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for InputReader {
    fn drop(&mut self) {
        self.stop();
    }
}
