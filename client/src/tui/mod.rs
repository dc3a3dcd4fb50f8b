//! `hookline tui`: a terminal UI over the delivery store. Elm-shaped: one
//! [`App`] model, one [`Action`] enum, [`update`] returning [`Effect`]s, and
//! drawing as a pure function of `&App` ([`ui::draw`]). Every source — keys,
//! ticks, store events, the relay connection, effect results — arrives as
//! one [`Event`] stream.

pub mod action;
pub mod app;
pub mod body;
pub mod clipboard;
mod editor;
pub mod effects;
pub mod event;
pub mod keys;
mod news;
mod outcome;
mod prompt;
pub mod query;
mod seek;
pub mod terminal;
pub mod ui;
pub mod update;
pub mod window;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

pub use action::Action;
pub use app::App;
pub use event::Event;
pub use update::{Effect, update};

use crate::connection::ConnectionState;
use crate::control::StoreAccess;
use crate::forward::ForwardTarget;
use crate::replay::Replayer;
use effects::Runner;
use terminal::Screen;
use window::PAGE;

/// Events handled before a redraw at most, so a burst of arrivals cannot
/// starve the keyboard.
const BATCH: usize = 256;

/// What the UI shows and where its actions go.
#[derive(Debug)]
pub struct TuiOptions {
    pub access: Arc<StoreAccess>,
    pub header: app::Header,
    /// The relay connection, when this process listens.
    pub state: Option<watch::Receiver<ConnectionState>>,
    pub replayer: Option<Replayer>,
    pub target: Option<ForwardTarget>,
    /// Where copies and edited bodies are written (the data directory).
    pub dir: PathBuf,
}

/// A running UI without a terminal of its own: tests and `run` drive it
/// with [`Session::step`] over any [`Screen`].
#[derive(Debug)]
pub struct Session {
    app: App,
    runner: Runner,
    events: mpsc::UnboundedReceiver<Event>,
    sender: event::Sender,
    cancel: CancellationToken,
}

impl Session {
    /// Subscribes to the store and the connection and asks for the first page.
    pub async fn start(options: TuiOptions, size: (u16, u16)) -> anyhow::Result<Session> {
        let (sender, events) = mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let store_events = options.access.events().await?;
        event::spawn_sources(&sender, Some(store_events), options.state, &cancel);
        let app = App::new(options.header, crate::store::time::now_ms(), size);
        let runner = Runner {
            access: options.access,
            replayer: options.replayer,
            target: options.target,
            dir: options.dir,
            events: sender.clone(),
        };
        let mut session = Session {
            app,
            runner,
            events,
            sender,
            cancel,
        };
        session.app.generation = 1;
        session.app.list.loading = true;
        let query = crate::store::ListQuery {
            filter: Default::default(),
            before: None,
            limit: PAGE,
        };
        for effect in [
            Effect::LoadPage {
                generation: 1,
                query,
                place: action::Place::Replace { keep: None },
            },
            Effect::LoadCounts,
        ] {
            session.runner.run(effect, &mut NoScreen).await;
        }
        Ok(session)
    }

    /// Where keys (or anything else) can be sent in.
    pub fn sender(&self) -> event::Sender {
        self.sender.clone()
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    /// Waits for an event, applies it and every one already queued, runs
    /// the effects, and draws. False once the UI should close.
    pub async fn step(&mut self, screen: &mut dyn Screen) -> std::io::Result<bool> {
        let Some(first) = self.events.recv().await else {
            return Ok(false);
        };
        let mut effects = self.handle(first);
        for _ in 1..BATCH {
            match self.events.try_recv() {
                Ok(event) => effects.extend(self.handle(event)),
                Err(_) => break,
            }
        }
        for effect in dedupe(effects, &self.app) {
            self.runner.run(effect, screen).await;
        }
        screen.draw(&self.app)?;
        Ok(!self.app.quit)
    }

    fn handle(&mut self, event: Event) -> Vec<Effect> {
        let action = match event {
            Event::Input(crossterm::event::Event::Key(key)) => action::for_key(&self.app, key),
            Event::Input(crossterm::event::Event::Resize(w, h)) => Some(Action::Resize(w, h)),
            Event::Input(_) => None,
            Event::Action(action) => Some(action),
            Event::Quit => Some(Action::Quit),
        };
        action.map(|a| update(&mut self.app, a)).unwrap_or_default()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Drops repeated effects of one batch, and detail loads for rows the
/// selection has already left (holding `j` would queue one per row).
fn dedupe(effects: Vec<Effect>, app: &App) -> Vec<Effect> {
    let mut kept: Vec<Effect> = Vec::with_capacity(effects.len());
    for effect in effects {
        let stale = matches!(effect, Effect::LoadDetail(id) if app.detail.id != Some(id));
        if !stale && !kept.contains(&effect) {
            kept.push(effect);
        }
    }
    kept
}

/// For effects run before any screen exists (the first page load).
struct NoScreen;

impl Screen for NoScreen {
    fn draw(&mut self, _app: &App) -> std::io::Result<()> {
        Ok(())
    }
    fn suspend(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn resume(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn raw(&mut self, _sequence: &[u8]) -> std::io::Result<bool> {
        Ok(false)
    }
}

/// Runs the UI on the process's terminal until `q`, Ctrl-C, SIGTERM or `stop`.
pub async fn run(options: TuiOptions, stop: CancellationToken) -> anyhow::Result<()> {
    let size = crossterm::terminal::size().unwrap_or((80, 24));
    let mut session = Session::start(options, size).await?;
    let sender = session.sender();
    let quit = session.cancel.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = crate::signal::shutdown_signal() => {}
            () = stop.cancelled() => {}
            () = quit.cancelled() => return,
        }
        let _ = sender.send(Event::Quit);
    });
    let mut tty = terminal::Tty::enter(session.sender())
        .map_err(|e| anyhow::anyhow!("the TUI needs an interactive terminal: {e}"))?;
    tty.draw(session.app())?;
    while session.step(&mut tty).await? {}
    drop(tty);
    Ok(())
}
