//! The UI over a real listener: a delivery sent through the embedded relay
//! appears in the list, and `r` replays it to a real local app on loopback.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use hookline::listen::{ListenOptions, Listening};
use hookline::tui::{Event, Session};
use hookline::verify::SchemeChoice;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(20);

/// A local app answering 201 and reporting each request's path and body.
async fn local_app() -> (SocketAddr, mpsc::UnboundedReceiver<(String, Bytes)>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind app");
    let addr = listener.local_addr().expect("app addr");
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let tx = tx.clone();
                async move {
                    let path = request.uri().path().to_owned();
                    let body = request
                        .into_body()
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    let _ = tx.send((path, body));
                    Ok::<_, hyper::Error>(
                        hyper::Response::builder()
                            .status(201)
                            .body(Full::new(Bytes::from_static(b"{\"ok\":true}")))
                            .expect("response"),
                    )
                }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    (addr, rx)
}

/// POSTs `body` to `url` (the listener's public URL, on loopback).
async fn post(url: &str, body: &'static [u8]) -> u16 {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let request = hyper::Request::post(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body)))
        .expect("request");
    client
        .request(request)
        .await
        .expect("send")
        .status()
        .as_u16()
}

fn text(terminal: &Terminal<TestBackend>) -> String {
    let buffer = terminal.backend().buffer();
    let area = buffer.area;
    (0..area.height)
        .map(|y| {
            (0..area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
                + "\n"
        })
        .collect()
}

/// Steps the session until the screen satisfies `done`, or fails after [`WAIT`].
async fn step_until(
    session: &mut Session,
    terminal: &mut Terminal<TestBackend>,
    what: &str,
    done: impl Fn(&str) -> bool,
) {
    let result = tokio::time::timeout(WAIT, async {
        while !done(&text(terminal)) {
            assert!(session.step(terminal).await.expect("draw"), "the UI quit");
        }
    })
    .await;
    assert!(
        result.is_ok(),
        "timed out waiting for {what}; screen:\n{}",
        text(terminal)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrivals_appear_live_and_r_replays_to_the_app() {
    let (addr, mut app) = local_app().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let target: hookline::forward::ForwardTarget =
        format!("http://{addr}/hooks").parse().expect("target");
    let listening = tokio::time::timeout(
        WAIT,
        Listening::start(ListenOptions::new(target.clone(), dir.path().to_path_buf())),
    )
    .await
    .expect("listener in time")
    .expect("listener starts");
    let options =
        hookline::cli::tui::listening_options(&listening, target, SchemeChoice::Auto, None, true);
    let mut session = Session::start(options, (80, 24)).await.expect("session");
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    step_until(&mut session, &mut terminal, "the empty list", |s| {
        s.contains("no deliveries yet")
    })
    .await;
    assert!(text(&terminal).contains("connected (embedded relay)"));

    let url = format!("{}/orders", listening.public_url);
    assert_eq!(post(&url, br#"{"type":"email.opened","n":1}"#).await, 201);
    step_until(
        &mut session,
        &mut terminal,
        "the delivery in the list",
        |s| s.contains("email.opened       POST /orders") && s.contains("201"),
    )
    .await;
    let forwarded = tokio::time::timeout(WAIT, app.recv())
        .await
        .expect("forward in time")
        .expect("app running");
    assert_eq!(forwarded.0, "/hooks/orders");
    step_until(&mut session, &mut terminal, "the counts", |s| {
        s.contains("1 total · 0 failed")
    })
    .await;

    session
        .sender()
        .send(Event::Input(crossterm::event::Event::Key(KeyEvent::new(
            KeyCode::Char('r'),
            KeyModifiers::NONE,
        ))))
        .expect("send key");
    step_until(&mut session, &mut terminal, "the replay result", |s| {
        s.contains("replayed ") && s.contains(": 201 in")
    })
    .await;
    let replayed = tokio::time::timeout(WAIT, app.recv())
        .await
        .expect("replay in time")
        .expect("app running");
    assert_eq!(
        replayed, forwarded,
        "the replay carries the same path and body"
    );
    step_until(&mut session, &mut terminal, "the replay count", |s| {
        s.lines()
            .any(|l| l.starts_with(|c: char| c.is_ascii_digit()) && l.trim_end().ends_with(" 1"))
    })
    .await;
    assert_eq!(listening.store.counts().expect("counts").total, 1);

    drop(session);
    tokio::time::timeout(WAIT, listening.stop())
        .await
        .expect("stop in time")
        .expect("clean stop");
}
