//! Text a sender controls (event type, path, query, headers, body) never
//! reaches the terminal raw: `list`, `show`, `listen` lines and the TUI show
//! control characters as visible escapes, while the JSON forms stay exact.

use crate::cli_support;
use crate::store_support;
use crate::tui_support;

use std::process::{Output, Stdio};
use std::time::Duration;

use cli_support::*;
use hookline::model::StoredDelivery;
use hookline::store::{Store, Summary};
use hookline_protocol::{Delivery, Header, body_sha256_hex};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// The event type a sender chose to retitle the developer's terminal.
const PWNED_BODY: &str = r#"{"type":"\u001b]0;PWNED\u0007","data":{"n":1}}"#;
const PWNED_EVENT: &str = "\u{1b}]0;PWNED\u{7}";
/// How it must look instead.
const PWNED_SHOWN: &str = r"\x1b]0;PWNED\x07";

fn hostile_delivery() -> Delivery {
    let mut d = store_support::delivery(
        store_support::T0,
        0xE5C << 60,
        "",
        "/hook\u{1b}[31mred",
        PWNED_BODY.as_bytes().to_vec(),
    );
    d.query = Some("q=\u{1b}[2J".into());
    d.headers = vec![
        Header::new("Content-Type", "application/json"),
        Header::new("X-Title", "\u{1b}]0;owned\u{7}"),
        Header::new("X-C1\u{9b}", "csi\u{9b}31m"),
    ];
    d.body_sha256 = body_sha256_hex(&d.body);
    d
}

/// Control characters other than line breaks: what a terminal would act on.
fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect()
}

fn text(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

#[tokio::test]
async fn list_show_and_the_tui_escape_what_the_sender_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let d = hostile_delivery();
    store.insert(&d, &store_support::valid()).unwrap();
    let stored = store.get(d.id).unwrap().unwrap();
    drop(store);
    let id = d.id.to_string();

    let list = text(&hookline_ok(dir.path(), &["list"]).await);
    assert_eq!(raw_controls(&list), Vec::<char>::new(), "{list}");
    assert!(list.contains(PWNED_SHOWN), "{list}");
    assert!(list.contains(r"POST /hook\x1b[31mred"), "{list}");

    let show = text(&hookline_ok(dir.path(), &["show", &id]).await);
    assert_eq!(raw_controls(&show), Vec::<char>::new(), "{show}");
    for expected in [
        r"POST /hook\x1b[31mred?q=\x1b[2J",
        r"X-Title: \x1b]0;owned\x07",
        r"X-C1\u{9b}: csi\u{9b}31m",
        r#""type": "\u001b]0;PWNED\u0007""#,
    ] {
        assert!(show.contains(expected), "missing {expected:?} in:\n{show}");
    }
    let headers = text(&hookline_ok(dir.path(), &["show", &id, "--headers"]).await);
    assert_eq!(raw_controls(&headers), Vec::<char>::new(), "{headers}");

    // The JSON forms are exact: JSON escapes the controls itself.
    let summary: Summary =
        serde_json::from_str(&text(&hookline_ok(dir.path(), &["list", "--json"]).await)).unwrap();
    assert_eq!(summary.event.as_deref(), Some(PWNED_EVENT));
    assert_eq!(summary.path, d.path);
    let shown: StoredDelivery = serde_json::from_str(&text(
        &hookline_ok(dir.path(), &["show", &id, "--json"]).await,
    ))
    .unwrap();
    assert_eq!(shown, stored);

    let (mut app, _) = tui_support::app_with(vec![Summary::of(&stored)], None);
    tui_support::load_detail(&mut app, stored);
    let screen = tui_support::screen(&app, 120, 30).join("\n");
    assert_eq!(raw_controls(&screen), Vec::<char>::new(), "{screen}");
    assert!(screen.contains(PWNED_SHOWN), "{screen}");
    assert!(screen.contains(r"X-Title: \x1b]0;owned\x07"), "{screen}");
    assert!(
        screen.contains(r"POST /hook\x1b[31mred?q=\x1b[2J"),
        "{screen}"
    );
}

/// A local app that answers every request 200 and reports each request's
/// head (request line and headers) on `seen`.
async fn local_app() -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (seen, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(socket);
                loop {
                    let Some(head) = read_head(&mut reader).await else {
                        return;
                    };
                    let _ = seen.send(head);
                    let reply = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                    if reader.get_mut().write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, rx)
}

/// One request's head, its body read and dropped; `None` at end of stream.
async fn read_head<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R) -> Option<String> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let length = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_owned())
        })
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let mut body = Vec::new();
    reader.take(length).read_to_end(&mut body).await.ok()?;
    Some(head)
}

/// POSTs `body` with `headers` to `url` (plain http on loopback) and
/// returns the status code.
async fn post(url: &str, headers: &[(&str, &[u8])], body: &[u8]) -> u16 {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nhost: {authority}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    )
    .into_bytes();
    for (name, value) in headers {
        request.extend_from_slice(format!("{name}: ").as_bytes());
        request.extend_from_slice(value);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    request.extend_from_slice(body);
    let mut socket = tokio::net::TcpStream::connect(authority).await.unwrap();
    socket.write_all(&request).await.unwrap();
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {answer}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_lines_name_real_providers_events_and_escape_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let (app_port, mut app_seen) = local_app().await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hookline"))
        .args([
            "-v",
            "listen",
            "--listen",
            "127.0.0.1:0",
            "--events",
            "push,orders/*",
        ])
        .arg("--forward")
        .arg(format!("http://127.0.0.1:{app_port}/in"))
        .arg("--data-dir")
        .arg(dir.path())
        .env_remove("HOOKLINE_DATA_DIR")
        .env_remove("WEBHOOK_SECRET")
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    let wait = Duration::from_secs(30);
    let url = tokio::time::timeout(wait, async {
        while let Some(line) = stdout.next_line().await.unwrap() {
            printed.push_str(&line);
            printed.push('\n');
            if let Some(url) = line.trim().strip_prefix("public URL") {
                return url.trim().to_owned();
            }
        }
        panic!("listen ended before printing its URL: {printed}");
    })
    .await
    .expect("listen starts");

    // GitHub names the event only in a header; Shopify too.
    let push: &[(&str, &[u8])] = &[
        ("X-GitHub-Event", b"push"),
        ("X-GitHub-Delivery", b"72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        ("Content-Type", b"application/json"),
    ];
    assert_eq!(post(&url, push, br#"{"ref":"refs/heads/main"}"#).await, 200);
    let order: &[(&str, &[u8])] = &[
        ("X-Shopify-Topic", b"orders/create"),
        ("X-Shopify-Shop-Domain", b"example.myshopify.com"),
        ("X-Title", "\u{9b}2J".as_bytes()),
    ];
    assert_eq!(
        post(&url, order, br#"{"id":820982911946154508}"#).await,
        200
    );
    // Filtered out: stored, answered 202, and the line says why.
    assert_eq!(post(&url, &[], PWNED_BODY.as_bytes()).await, 202);

    let mut lines = Vec::new();
    tokio::time::timeout(wait, async {
        while lines.len() < 3 {
            let line = stdout.next_line().await.unwrap().expect("listen runs");
            printed.push_str(&line);
            printed.push('\n');
            if line.contains(" POST ") {
                lines.push(line);
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("three delivery lines: {printed}"));
    for _ in 0..2 {
        let head = tokio::time::timeout(wait, app_seen.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(head.starts_with("POST /in "), "{head}");
    }
    // `list --event` (through the running listener) matches the same types.
    for (glob, expected) in [("push", 1), ("orders/*", 1), ("push,orders/*", 2)] {
        let found = text(&hookline_ok(dir.path(), &["list", "--json", "--event", glob]).await);
        assert_eq!(found.lines().count(), expected, "{glob}: {found}");
    }
    child.start_kill().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    let _ = child.wait().await;

    let by = |needle: &str| {
        lines
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?}: {printed}"))
    };
    assert!(by(" push ").contains("→ 200"), "{printed}");
    assert!(by("orders/create").contains("→ 200"), "{printed}");
    let evil = by(PWNED_SHOWN);
    assert!(
        evil.contains("stored, not forwarded: the event type does not match --events"),
        "{evil}"
    );
    assert_eq!(raw_controls(&printed), Vec::<char>::new(), "{printed}");
    // Logs written to a pipe carry no colour codes.
    assert!(stderr.contains("DEBUG"), "-v logs: {stderr}");
    assert_eq!(raw_controls(&stderr), Vec::<char>::new(), "{stderr}");
}
