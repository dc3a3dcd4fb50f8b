//! Shared by the TUI tests: deliveries with fixed ids and times, an [`App`]
//! filled through `update` as the runner would, and screens drawn into a
//! `TestBackend` as plain text.
#![allow(dead_code)]

use hookline::model::{Attempt, AttemptKind, Outcome, StoredDelivery, Verdict};
use hookline::store::{Page, Summary};
use hookline::tui::action::{Action, Loaded, Place};
use hookline::tui::app::{App, Header, Link};
use hookline::tui::{Effect, update};
use hookline_protocol::{ChannelId, Delivery, DeliveryId, Header as HttpHeader, body_sha256_hex};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// 2026-05-01 14:30:00 UTC.
pub const T0: u64 = 1_777_645_800_000;

pub fn id(n: u64) -> DeliveryId {
    DeliveryId::from_parts(T0 + n * 1000, u128::from(n))
}

pub fn delivery(n: u64, event: &str) -> Delivery {
    let body = format!(r#"{{"event":"{event}","data":{{"email":"ada@example.com","n":{n}}}}}"#)
        .into_bytes();
    Delivery {
        id: id(n),
        channel: ChannelId::derive(&hookline_protocol::Secret::new("tui-test"), "default"),
        received_at_ms: T0 + n * 1000,
        method: "POST".into(),
        path: "/webhooks".into(),
        query: None,
        headers: vec![
            HttpHeader::new("content-type", "application/json"),
            HttpHeader::new("x-webhook-signature", "ab12"),
        ],
        body_sha256: body_sha256_hex(&body),
        body: body.into(),
        remote_addr: Some("127.0.0.1".into()),
        public_url: "http://127.0.0.1:8700/h/abcdefghijklmnopqrstuvwxyz/webhooks".into(),
    }
}

pub fn attempt(n: u64, status: u16) -> Attempt {
    Attempt {
        at_ms: T0 + n * 1000 + 5,
        kind: AttemptKind::Forward,
        target: "http://127.0.0.1:3000/webhooks".into(),
        sent_body_sha256: String::new(),
        duration_us: 12_345,
        outcome: Outcome::Response {
            status,
            headers: vec![HttpHeader::new("content-type", "application/json")],
            body: br#"{"ok":true}"#.to_vec(),
            body_truncated: false,
        },
    }
}

pub fn stored(n: u64, event: &str, status: Option<u16>) -> StoredDelivery {
    let verdict = if status == Some(401) {
        Verdict::Invalid {
            scheme: "autosend".into(),
            reason: "no signature matched any of 1 secret".into(),
        }
    } else {
        Verdict::Valid {
            scheme: "autosend".into(),
            secret: 1,
        }
    };
    StoredDelivery {
        delivery: delivery(n, event),
        verdict,
        attempts: status.map(|s| attempt(n, s)).into_iter().collect(),
    }
}

/// `count` deliveries, newest first, as a page holds them.
pub fn summaries(count: u64) -> Vec<Summary> {
    (1..=count)
        .rev()
        .map(|n| Summary::of(&stored(n, "email.opened", Some(200))))
        .collect()
}

pub fn header() -> Header {
    Header {
        link: Link::Listening {
            state: hookline::connection::ConnectionState::Connected {
                public_url: "x".into(),
                relay: "ws://127.0.0.1:8700".into(),
            },
            embedded: true,
        },
        public_url: Some("http://127.0.0.1:8700/h/abcdefghijklmnopqrstuvwxyz".into()),
        forward: Some("http://127.0.0.1:3000/".into()),
        can_resign: false,
        state_since_ms: T0,
    }
}

/// A fresh app as `Session::start` leaves it, then the first page arrives.
pub fn app_with(rows: Vec<Summary>, next: Option<DeliveryId>) -> (App, Vec<Effect>) {
    let mut app = App::new(header(), T0 + 60_000, (80, 24));
    app.generation = 1;
    app.list.loading = true;
    let page = Page { items: rows, next };
    let effects = update(
        &mut app,
        Action::Loaded(Loaded::Page {
            generation: 1,
            place: Place::Replace { keep: None },
            result: Ok(page),
        }),
    );
    (app, effects)
}

/// Hands the app the record it asked for, as the runner would.
pub fn load_detail(app: &mut App, stored: StoredDelivery) {
    let id = stored.delivery.id;
    update(
        app,
        Action::Loaded(Loaded::Detail {
            id,
            result: Ok(Some(Box::new(stored))),
        }),
    );
}

/// The screen at `width`×`height` as lines of text, trailing spaces trimmed.
pub fn screen(app: &App, width: u16, height: u16) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|frame| hookline::tui::ui::draw(frame, app))
        .expect("draw");
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
                .trim_end()
                .to_owned()
        })
        .collect()
}
