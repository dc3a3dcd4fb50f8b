//! The real terminal: raw mode and the alternate screen on the way in,
//! restored on the way out — on quit, on error, and on panic.

use std::io::{self, Stdout, Write};

use crossterm::cursor::{Hide, Show};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::{CrosstermBackend, TestBackend};

use super::app::App;
use super::event::{InputReader, Sender};
use super::ui;

/// Where the UI loop draws, and the few terminal services effects need.
pub trait Screen {
    fn draw(&mut self, app: &App) -> io::Result<()>;
    /// Hands the terminal to another program (the editor) until [`Screen::resume`].
    fn suspend(&mut self) -> io::Result<()>;
    fn resume(&mut self) -> io::Result<()>;
    /// Sends `sequence` straight to the terminal (OSC 52); false when there is none.
    fn raw(&mut self, sequence: &[u8]) -> io::Result<bool>;
    /// Forgets what is on screen, so the next draw repaints every cell.
    fn repaint(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The process's terminal, with the thread that reads its keys.
#[derive(Debug)]
pub struct Tty {
    terminal: Terminal<CrosstermBackend<Stdout>>,
    input: InputReader,
    events: Sender,
}

impl Tty {
    /// Takes over the terminal; keys and resizes go to `events`.
    pub fn enter(events: Sender) -> io::Result<Tty> {
        install_panic_hook();
        enable_raw_mode()?;
        let mut stdout = io::stdout();
        if let Err(e) = execute!(stdout, EnterAlternateScreen, Hide) {
            restore();
            return Err(e);
        }
        let terminal = Terminal::new(CrosstermBackend::new(stdout))?;
        let input = InputReader::start(events.clone());
        Ok(Tty {
            terminal,
            input,
            events,
        })
    }
}

impl Drop for Tty {
    fn drop(&mut self) {
        self.input.stop();
        restore();
    }
}

impl Screen for Tty {
    fn draw(&mut self, app: &App) -> io::Result<()> {
        self.terminal.draw(|frame| ui::draw(frame, app)).map(|_| ())
    }

    fn suspend(&mut self) -> io::Result<()> {
        self.input.stop();
        restore();
        Ok(())
    }

    fn resume(&mut self) -> io::Result<()> {
        enable_raw_mode()?;
        execute!(io::stdout(), EnterAlternateScreen, Hide)?;
        self.terminal.clear()?;
        self.input = InputReader::start(self.events.clone());
        Ok(())
    }

    fn repaint(&mut self) -> io::Result<()> {
        self.terminal.clear()
    }

    fn raw(&mut self, sequence: &[u8]) -> io::Result<bool> {
        let out = self.terminal.backend_mut();
        out.write_all(sequence)?;
        out.flush()?;
        Ok(true)
    }
}

/// Drawing into memory, for tests and measurements.
impl Screen for Terminal<TestBackend> {
    fn draw(&mut self, app: &App) -> io::Result<()> {
        Terminal::draw(self, |frame| ui::draw(frame, app)).map(|_| ())
    }

    fn suspend(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn resume(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn raw(&mut self, _sequence: &[u8]) -> io::Result<bool> {
        Ok(false)
    }
}

/// Puts the terminal back as the shell expects it. Safe to call twice.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(io::stdout(), LeaveAlternateScreen, Show);
}

/// Restores the terminal before the panic message prints, so the message
/// is readable and the shell usable.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}
