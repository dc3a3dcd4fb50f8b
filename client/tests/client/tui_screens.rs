//! Screens drawn into ratatui's `TestBackend` at 80×24 and compared with
//! the expected text: the list, each detail tab, the filter prompt, help,
//! an empty store and a lost relay connection.

use crate::tui_support;

use std::time::Duration;

use hookline::connection::ConnectionState;
use hookline::store::Counts;
use hookline::tui::App;
use hookline::tui::action::Action;
use hookline::tui::app::Prompt;
use hookline::tui::update;
use tui_input::InputRequest;
use tui_support::{app_with, load_detail, screen, stored, summaries};

/// Twelve deliveries, the newest selected and loaded, counts known.
fn twelve() -> App {
    let (mut app, _) = app_with(summaries(12), None);
    app.counts = Some(Counts {
        total: 12,
        failed: 1,
        invalid: 1,
    });
    load_detail(&mut app, stored(12, "email.opened", Some(200)));
    app
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(|l| l.trim_end().to_owned()).collect()
}

/// Rows `from..to` of the screen.
fn rows(app: &App, from: usize, to: usize) -> Vec<String> {
    screen(app, 80, 24)[from..to].to_vec()
}

const LIST_AND_REQUEST: &str = "
 hookline  ● connected (embedded relay)   12 total · 1 failed · 1 invalid
 http://127.0.0.1:8700/h/abcdefghijklmnopqrstuvwxyz → http://127.0.0.1:3000/
 Deliveries ────────────────────────────────────────────────────────────────────
time     event              request                              st  latency ↻
14:30:12 email.opened       POST /webhooks                     ✓ 200    12ms
14:30:11 email.opened       POST /webhooks                     ✓ 200    12ms
14:30:10 email.opened       POST /webhooks                     ✓ 200    12ms
14:30:09 email.opened       POST /webhooks                     ✓ 200    12ms
14:30:08 email.opened       POST /webhooks                     ✓ 200    12ms
14:30:07 email.opened       POST /webhooks                     ✓ 200    12ms
14:30:06 email.opened       POST /webhooks                     ✓ 200    12ms
14:30:05 email.opened       POST /webhooks                     ✓ 200    12ms
┌ 1 Request 2 Response 3 Attempts 4 Signature ─────────────────────────────────┐
│POST /webhooks                                                                │
│01KQHZ4Y90000000000000000C · 2026-05-01 14:30:12 UTC · 66 bytes               │
│content-type: application/json                                                │
│x-webhook-signature: ab12                                                     │
│                                                                              │
│{                                                                             │
│  \"event\": \"email.opened\",                                                    │
│  \"data\": {                                                                   │
│    \"email\": \"ada@example.com\",                                               │
└──────────────────────────────────────────────────────────────────────────────┘
 ↑↓ move  Tab pane  ←→ tab  r replay  / filter  f failed  ? help  q quit";

#[test]
fn list_and_request_tab() {
    assert_eq!(
        screen(&twelve(), 80, 24),
        lines(LIST_AND_REQUEST.trim_start_matches('\n'))
    );
}

#[test]
fn response_tab() {
    let mut app = twelve();
    update(&mut app, Action::ShowTab(1));
    let expected = "
│200  2026-05-01 14:30:12 UTC · 12ms · http://127.0.0.1:3000/webhooks          │
│content-type: application/json                                                │
│                                                                              │
│{                                                                             │
│  \"ok\": true                                                                  │
│}                                                                             │";
    assert_eq!(rows(&app, 13, 19), lines(expected.trim_start_matches('\n')));
}

#[test]
fn attempts_tab_lists_forward_and_replays() {
    let mut app = twelve();
    let mut record = stored(12, "email.opened", Some(503));
    let mut replay = tui_support::attempt(12, 201);
    replay.kind = hookline::model::AttemptKind::Replay {
        resigned: true,
        edited: false,
    };
    replay.at_ms += 60_000;
    record.attempts.push(replay);
    load_detail(&mut app, record);
    update(&mut app, Action::ShowTab(2));
    let expected = "
│#1  14:30:12 forward                503    12ms http://127.0.0.1:3000/webhooks│
│#2  14:31:12 replay resigned        201    12ms http://127.0.0.1:3000/webhooks│
│                                                                              │";
    assert_eq!(rows(&app, 13, 16), lines(expected.trim_start_matches('\n')));
}

#[test]
fn signature_tab_says_why_and_shows_no_secret() {
    let mut app = twelve();
    load_detail(&mut app, stored(12, "email.opened", Some(401)));
    update(&mut app, Action::ShowTab(3));
    let expected = "
│scheme   autosend                                                             │
│verdict  ✗ invalid                                                            │
│reason   invalid (autosend): no signature matched any of 1 secret             │
│sha256   65454eca0bb6e77a519172731bd9fc575bc313422098d5cf5703d70578c37027     │";
    assert_eq!(rows(&app, 13, 17), lines(expected.trim_start_matches('\n')));
}

#[test]
fn filter_prompt_takes_the_footer() {
    let mut app = twelve();
    update(&mut app, Action::OpenFilter);
    "event:email.* status:9xx".chars().for_each(|c| {
        drop(update(
            &mut app,
            Action::EditFilter(InputRequest::InsertChar(c)),
        ))
    });
    assert_eq!(
        rows(&app, 23, 24),
        ["/event:email.* status:9xx█  Enter apply · Esc cancel"]
    );
    update(&mut app, Action::Submit);
    assert_eq!(
        rows(&app, 23, 24),
        ["/event:email.* status:9xx█  status:9xx? 2xx…5xx, ok, failed, invalid, pending"]
    );
    (0..3).for_each(|_| {
        drop(update(
            &mut app,
            Action::EditFilter(InputRequest::DeletePrevChar),
        ))
    });
    "5xx".chars().for_each(|c| {
        drop(update(
            &mut app,
            Action::EditFilter(InputRequest::InsertChar(c)),
        ))
    });
    update(&mut app, Action::Submit);
    let title = &rows(&app, 2, 3)[0];
    assert!(
        title.starts_with(" Deliveries [event:email.* status:5xx] loading… ──"),
        "{title}"
    );
}

#[test]
fn help_overlay_lists_the_keys() {
    let mut app = twelve();
    update(&mut app, Action::ToggleHelp);
    let shown = rows(&app, 2, 22);
    assert_eq!(
        shown[0],
        " Deliver┌ Keys (any key closes) ───────────────────────────────────────┐────────"
    );
    assert_eq!(
        shown[5],
        "14:30:09│ ← →  1-4   detail tab: request, response, attempts, sig      │12ms"
    );
    assert_eq!(
        shown[15],
        "│       │ Ctrl-L     paint the screen again                            │       │"
    );
    assert_eq!(
        shown[18],
        "│  \"data│ filter     text event:email.* status:5xx sig:invalid         │       │"
    );
    assert_eq!(
        shown[19],
        "│    \"em└──────────────────────────────────────────────────────────────┘       │"
    );
}

#[test]
fn the_filter_prompt_has_a_cursor_that_moves_and_inserts_where_it_stands() {
    let mut app = twelve();
    update(&mut app, Action::OpenFilter);
    for c in "status:5xx".chars() {
        update(&mut app, Action::EditFilter(InputRequest::InsertChar(c)));
    }
    update(&mut app, Action::EditFilter(InputRequest::GoToStart));
    for c in "sig:invalid ".chars() {
        update(&mut app, Action::EditFilter(InputRequest::InsertChar(c)));
    }
    assert_eq!(
        rows(&app, 23, 24),
        ["/sig:invalid status:5xx  Enter apply · Esc cancel"],
        "the cursor stands on the s of status (shown reversed)"
    );
    assert!(matches!(
        app.prompt,
        Some(Prompt::Filter { cursor: 12, .. })
    ));
    update(&mut app, Action::EditFilter(InputRequest::DeleteTillEnd));
    update(&mut app, Action::Submit);
    let title = &rows(&app, 2, 3)[0];
    assert!(
        title.starts_with(" Deliveries [sig:invalid] loading… ──"),
        "{title}"
    );
}

#[test]
fn empty_store_says_where_to_send() {
    let (app, _) = app_with(vec![], None);
    let expected = "
 hookline  ● connected (embedded relay)   counting…
 http://127.0.0.1:8700/h/abcdefghijklmnopqrstuvwxyz → http://127.0.0.1:3000/
 Deliveries ────────────────────────────────────────────────────────────────────
 no deliveries yet. Send a webhook to
   http://127.0.0.1:8700/h/abcdefghijklmnopqrstuvwxyz
 or try: hookline trigger email.opened";
    assert_eq!(rows(&app, 0, 6), lines(expected.trim_start_matches('\n')));
}

#[test]
fn a_lost_connection_counts_down_to_the_retry() {
    let (mut app, _) = app_with(summaries(1), None);
    let state = ConnectionState::Reconnecting {
        after: Duration::from_secs(4),
        error: "connection refused".into(),
    };
    update(&mut app, Action::Connection(state));
    assert_eq!(
        rows(&app, 0, 1),
        [" hookline  ○ reconnecting in 4s: connection refused   counting…"]
    );
    let later = app.now_ms + 2_500;
    update(&mut app, Action::Tick(later));
    assert_eq!(
        rows(&app, 0, 1),
        [" hookline  ○ reconnecting in 2s: connection refused   counting…"]
    );
    update(&mut app, Action::Connection(ConnectionState::Stopped));
    assert_eq!(rows(&app, 0, 1), [" hookline  ✗ disconnected   counting…"]);
    update(
        &mut app,
        Action::Connection(ConnectionState::Refused {
            reason: "token revoked".into(),
        }),
    );
    assert_eq!(
        rows(&app, 0, 1),
        [" hookline  ✗ refused: token revoked   counting…"]
    );
}

#[test]
fn resizing_keeps_the_selection_visible() {
    let mut app = twelve();
    for _ in 0..11 {
        update(&mut app, Action::Down);
    }
    assert!(rows(&app, 4, 12).iter().any(|l| l.starts_with("14:30:01")));
    update(&mut app, Action::Resize(60, 14));
    let small = screen(&app, 60, 14);
    let list: Vec<&String> = small.iter().filter(|l| l.starts_with("14:30:")).collect();
    assert_eq!(list.len(), 3, "{small:#?}");
    assert!(list[2].starts_with("14:30:01"), "{small:#?}");
}

#[test]
fn escape_sequences_from_senders_are_drawn_inert() {
    let mut record = stored(1, "evil\u{1b}[2J", Some(200));
    record.delivery.path = "/x\u{1b}]52;c;aGk=\u{7}".into();
    let (mut app, _) = app_with(vec![hookline::store::Summary::of(&record)], None);
    load_detail(&mut app, record);
    let shown = screen(&app, 80, 24).join("\n");
    assert!(
        !shown.contains('\u{1b}') && !shown.contains('\u{7}'),
        "{shown}"
    );
    assert!(shown.contains(r"POST /x\x1b]52;c;aGk=\x07"), "{shown}");
    assert!(
        shown.contains("|{\"event\":\"evil.[|"),
        "a body with raw control bytes is a hex dump: {shown}"
    );
}

#[test]
fn an_edited_signed_body_asks_in_the_footer_before_replaying() {
    let mut app = twelve();
    app.header.can_resign = true;
    let id = app.list.selected_id().unwrap();
    update(
        &mut app,
        Action::Loaded(hookline::tui::action::Loaded::Edited {
            id,
            result: Ok(Some(b"{}".to_vec())),
        }),
    );
    assert_eq!(
        rows(&app, 23, 24),
        [" y re-sign · s send as is · n drop — the edit breaks its autosend signature"]
    );
}

#[test]
fn a_long_footer_message_wraps_instead_of_losing_its_end() {
    let mut app = twelve();
    let message = "cannot replay 01KQGDBJ0008H200000000NF6Y: no target: this UI was started \
                   without a forward target and no `hookline listen` has run with this data \
                   dir, so there is nowhere to send it; pass --forward URL";
    update(&mut app, Action::Resize(120, 30));
    app.complain(message);
    let shown = screen(&app, 120, 30);
    let footer = shown
        .iter()
        .skip_while(|l| !l.contains("cannot replay"))
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(footer.ends_with("pass --forward URL"), "{shown:#?}");
    assert!(
        shown.iter().any(|l| l.starts_with("14:30:")),
        "the list keeps its rows: {shown:#?}"
    );
}

#[test]
fn a_gap_shows_a_banner_until_acknowledged() {
    let mut app = twelve();
    app.gaps = vec![hookline::store::GapRecord {
        public_url: "http://127.0.0.1:8700/h/abc".into(),
        first_seq: 3,
        last_seq: 7,
        count: 5,
        reason: "age".into(),
        noticed_at_ms: tui_support::T0,
        dismissed_at_ms: None,
    }];
    assert_eq!(
        rows(&app, 0, 4),
        lines(
            " hookline  ● connected (embedded relay)   12 total · 1 failed · 1 invalid
 http://127.0.0.1:8700/h/abcdefghijklmnopqrstuvwxyz → http://127.0.0.1:3000/
 ⚠ the relay dropped 5 deliveries (seq 3..=7, age) · a: acknowledge
 Deliveries ────────────────────────────────────────────────────────────────────"
        )
    );
    let effects = update(&mut app, Action::DismissGaps);
    assert_eq!(effects, [hookline::tui::Effect::DismissGaps(app.now_ms)]);
    assert_eq!(
        rows(&app, 2, 3),
        lines(" Deliveries ────────────────────────────────────────────────────────────────────")
    );
}

/// An edited replay of the newest delivery: `plan` changed, the signature
/// re-signed, the app answering 422 now where it answered 200 before.
fn after_an_edited_replay() -> App {
    use hookline::diff::{lines as diff_lines, request_text};
    use hookline::model::Outcome;
    use hookline::tui::action::Loaded;
    use hookline::tui::app::ReplayDiff;
    use hookline_protocol::Header;
    let mut app = twelve();
    let original = stored(12, "email.opened", Some(200));
    let before = original.attempts.last().map(|a| a.outcome.clone());
    let mut sent_headers = original.delivery.headers.clone();
    for header in &mut sent_headers {
        if header.name == "x-webhook-signature" {
            header.value = b"cd34".to_vec();
        }
    }
    let edited = String::from_utf8_lossy(&original.delivery.body).replace("ada@", "bob@");
    let after = Outcome::Response {
        status: 422,
        headers: vec![Header::new("content-type", b"application/json".to_vec())],
        body: br#"{"error":"unknown contact"}"#.to_vec(),
        body_truncated: false,
    };
    let mut attempt = original.attempts[0].clone();
    attempt.outcome = after.clone();
    let diff = ReplayDiff {
        id: original.delivery.id,
        request: diff_lines(
            &request_text(&original.delivery.headers, &original.delivery.body),
            &request_text(&sent_headers, edited.as_bytes()),
        ),
        before,
        after,
    };
    update(
        &mut app,
        Action::Loaded(Loaded::Replayed {
            id: original.delivery.id,
            result: Ok(attempt),
            diff: Some(Box::new(diff)),
        }),
    );
    app
}

#[test]
fn an_edited_replay_shows_the_request_diff_and_both_answers() {
    let app = after_an_edited_replay();
    assert_eq!(
        screen(&app, 80, 24),
        lines(EDITED_REPLAY.trim_start_matches('\n'))
    );
    // On the diff screen q and Esc leave it (q does not quit); ↓ scrolls it.
    use crossterm::event::{KeyCode, KeyEvent};
    use hookline::tui::action::for_key;
    let key = |c| for_key(&app, KeyEvent::from(c));
    assert_eq!(key(KeyCode::Char('q')), Some(Action::Back));
    assert_eq!(key(KeyCode::Esc), Some(Action::Back));
    assert_eq!(
        key(KeyCode::Char('r')),
        None,
        "no replay from the diff screen"
    );
    let mut app = app;
    update(&mut app, Action::Down);
    assert_eq!(app.diff_scroll, 1);
    update(&mut app, Action::Back);
    assert!(app.diff.is_none());
    assert!(rows(&app, 2, 3)[0].starts_with(" Deliveries ──"));
}

const EDITED_REPLAY: &str = "
 hookline  ● connected (embedded relay)   12 total · 1 failed · 1 invalid
 http://127.0.0.1:8700/h/abcdefghijklmnopqrstuvwxyz → http://127.0.0.1:3000/
┌ Edited replay 01KQHZ4Y90000000000000000C: stored → sent (-2 +2) ─────────────┐
│  content-type: application/json                                              │
│- x-webhook-signature: ab12                                                   │
│+ x-webhook-signature: cd34                                                   │
│                                                                              │
│  {                                                                           │
│    \"data\": {                                                                 │
│-     \"email\": \"ada@example.com\",                                             │
│+     \"email\": \"bob@example.com\",                                             │
│      \"n\": 12                                                                 │
└──────────────────────────────────────────────────────────────────────────────┘
┌ Answer before ───────────────────────┐┌ Answer to the edited replay ─────────┐
│200                                   ││422                                   │
│content-type: application/json        ││content-type: application/json        │
│                                      ││                                      │
│{                                     ││{                                     │
│  \"ok\": true                          ││  \"error\": \"unknown contact\"          │
│}                                     ││}                                     │
│                                      ││                                      │
│                                      ││                                      │
└──────────────────────────────────────┘└──────────────────────────────────────┘
 replayed 01KQHZ4Y90000000000000000C: 422 in 12 ms";
