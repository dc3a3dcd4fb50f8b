//! `hookline export` and `import`: JSON lines round trip, HAR structure, and
//! a curl script that, run by `sh`, resends the same bytes to a real socket.

use crate::store_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::mpsc;
use std::time::Duration;

use base64::Engine;
use hookline::model::{StoredDelivery, Verdict};
use hookline::store::Store;
use hookline_protocol::{Header, body_sha256_hex};
use store_support::*;

fn hookline(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hookline"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("HOOKLINE_DATA_DIR")
        .output()
        .expect("hookline runs")
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Deliveries covering every shape: binary body and header, each verdict,
/// forwards, errors and replays.
fn varied(store: &Store) -> Vec<StoredDelivery> {
    let verdicts = [
        valid(),
        invalid(),
        Verdict::Stale {
            scheme: "stripe".into(),
            skew_secs: 400,
            tolerance_secs: 300,
            signature_matches: true,
        },
        Verdict::Unsigned { scheme: None },
        Verdict::NoSecret,
    ];
    let mut all = Vec::new();
    for (i, verdict) in verdicts.into_iter().enumerate() {
        let i = i as u64;
        let body = if i == 1 {
            (0u8..=255).rev().collect()
        } else {
            Vec::new()
        };
        let mut d = delivery(
            T0 + i * 1000,
            u128::from(i) + 1,
            "email.clicked",
            &format!("/v{i}"),
            body,
        );
        d.headers.retain(|h| h.name != "X-Binary");
        d.headers.push(Header::new("X-Latin", vec![b'c', 0xe9]));
        let stored = StoredDelivery {
            delivery: d,
            verdict,
            attempts: (0..i)
                .map(|n| attempt(T0 + n, [None, Some(500), Some(200)][n as usize % 3], n == 2))
                .collect(),
        };
        assert!(store.insert_stored(&stored).unwrap());
        all.push(stored);
    }
    all
}

#[test]
fn export_then_import_loses_nothing() {
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let originals = varied(&Store::open(src.path()).unwrap());
    let file = src.path().join("out.jsonl");
    ok(hookline(
        src.path(),
        &["export", "--output", file.to_str().unwrap()],
    ));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap().lines().count(),
        originals.len()
    );
    assert!(
        ok(hookline(dst.path(), &["import", file.to_str().unwrap()]))
            .contains("imported 5 deliveries (0 already stored)")
    );
    assert!(
        ok(hookline(dst.path(), &["import", file.to_str().unwrap()]))
            .contains("imported 0 deliveries (5 already stored)")
    );
    let store = Store::open(dst.path()).unwrap();
    for original in &originals {
        assert_eq!(
            store.get(original.delivery.id).unwrap().as_ref(),
            Some(original)
        );
    }
    assert_eq!(
        store.counts().unwrap(),
        Store::open(tempfile::tempdir().unwrap().path())
            .map(|s| {
                for o in &originals {
                    s.insert_stored(o).unwrap();
                }
                s.counts().unwrap()
            })
            .unwrap()
    );
}

#[test]
fn a_bad_import_file_imports_nothing() {
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    varied(&Store::open(src.path()).unwrap());
    let mut text = ok(hookline(src.path(), &["export"]));
    text.push_str("{\"not\": \"a delivery\"}\n");
    let file = dst.path().join("bad.jsonl");
    std::fs::write(&file, text).unwrap();
    let out = hookline(dst.path(), &["import", file.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 6"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(Store::open(dst.path()).unwrap().counts().unwrap().total, 0);
}

#[test]
fn a_failed_export_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    varied(&Store::open(dir.path()).unwrap());
    let target = dir.path().join("replay.sh");
    // Delivery 0 was never forwarded, so without --to its target is unknown.
    let out = hookline(
        dir.path(),
        &["export", "--format", "curl", "-o", target.to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --to URL"));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().contains("replay"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn har_export_has_the_required_fields() {
    let dir = tempfile::tempdir().unwrap();
    let originals = varied(&Store::open(dir.path()).unwrap());
    let har: serde_json::Value =
        serde_json::from_str(&ok(hookline(dir.path(), &["export", "--format", "har"]))).unwrap();
    let log = &har["log"];
    assert_eq!(log["version"], "1.2");
    assert_eq!(log["creator"]["name"], "hookline");
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(entries.len(), originals.len());
    for (entry, original) in entries.iter().zip(&originals) {
        for field in [
            "startedDateTime",
            "time",
            "request",
            "response",
            "cache",
            "timings",
        ] {
            assert!(!entry[field].is_null(), "entry.{field}");
        }
        let req = &entry["request"];
        for field in [
            "method",
            "url",
            "httpVersion",
            "cookies",
            "headers",
            "queryString",
            "headersSize",
            "bodySize",
        ] {
            assert!(!req[field].is_null(), "request.{field}");
        }
        let res = &entry["response"];
        for field in [
            "status",
            "statusText",
            "httpVersion",
            "cookies",
            "headers",
            "content",
            "redirectURL",
            "headersSize",
            "bodySize",
        ] {
            assert!(!res[field].is_null(), "response.{field}");
        }
        assert!(res["content"]["size"].is_number() && res["content"]["mimeType"].is_string());
        assert!(
            entry["timings"]["send"].is_number()
                && entry["timings"]["wait"].is_number()
                && entry["timings"]["receive"].is_number()
        );
        assert_eq!(req["queryString"][1]["value"], "two");
        let post = &req["postData"];
        let body = match post["encoding"].as_str() {
            Some("base64") => base64::engine::general_purpose::STANDARD
                .decode(post["text"].as_str().unwrap())
                .unwrap(),
            _ => post["text"].as_str().unwrap().as_bytes().to_vec(),
        };
        assert_eq!(body, original.delivery.body);
        let status = original
            .attempts
            .last()
            .and_then(|a| a.outcome.status())
            .unwrap_or(0);
        assert_eq!(res["status"], status);
    }
}

/// Accepts HTTP/1.1 requests on 127.0.0.1 and sends each one's raw bytes back.
fn recording_server(count: usize) -> (u16, mpsc::Receiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(count) {
            let mut stream = stream.unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut raw = Vec::new();
            let mut length = 0;
            loop {
                let mut line = Vec::new();
                reader.read_until(b'\n', &mut line).unwrap();
                let text = String::from_utf8_lossy(&line).to_ascii_lowercase();
                if let Some(v) = text.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                raw.extend_from_slice(&line);
                if line == b"\r\n" || line.is_empty() {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            raw.extend_from_slice(&body);
            stream
                .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                .unwrap();
            tx.send(raw).unwrap();
        }
    });
    (port, rx)
}

#[test]
fn curl_export_run_by_sh_resends_the_same_bytes() {
    if !Command::new("sh")
        .args(["-c", "command -v curl && command -v base64"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("NOTE: curl or base64 missing; curl export test skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let binary: Vec<u8> = (0u8..=255)
        .chain([0, 0, b'\n', b'\'', b'"', b'$'])
        .collect();
    let mut bodies = vec![
        binary,
        br#"{"type":"email.opened","quote":"it's $HOME"}"#.to_vec(),
    ];
    bodies.push(Vec::new());
    let mut deliveries = Vec::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let mut d = delivery(T0 + i as u64, i as u128 + 1, "", "/p'q", body);
        d.headers.retain(|h| h.name != "X-Binary");
        d.headers.push(Header::new("X-Latin", vec![b'c', 0xe9]));
        d.headers.push(Header::new("X-Empty", ""));
        d.body_sha256 = body_sha256_hex(&d.body);
        store.insert(&d, &valid()).unwrap();
        deliveries.push(d);
    }
    drop(store);
    let (port, requests) = recording_server(deliveries.len());
    let script = dir.path().join("replay.sh");
    let to = format!("http://127.0.0.1:{port}/base");
    ok(hookline(
        dir.path(),
        &[
            "export",
            "--format",
            "curl",
            "--to",
            &to,
            "-o",
            script.to_str().unwrap(),
        ],
    ));
    let run = Command::new("sh").arg(&script).output().unwrap();
    assert!(
        run.status.success(),
        "script failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    for d in &deliveries {
        let raw = requests.recv_timeout(Duration::from_secs(10)).unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let (head, body) = raw.split_at(split);
        assert_eq!(body, &d.body[..], "body of {}", d.id);
        let head = head.to_vec();
        let text = String::from_utf8_lossy(&head);
        assert!(
            text.starts_with("POST /base/p'q?a=1&b=two HTTP/1.1\r\n"),
            "{text}"
        );
        let find = |needle: &[u8]| head.windows(needle.len()).position(|w| w == needle);
        let (one, two) = (
            find(b"X-Dup: one\r\n").unwrap(),
            find(b"X-Dup: two\r\n").unwrap(),
        );
        assert!(one < two, "duplicate headers in order");
        assert!(
            find(b"X-Latin: c\xe9\r\n").is_some(),
            "non-UTF-8 header value: {text}"
        );
        assert!(
            find(b"X-Empty:").is_some() && find(b"Content-Type: application/json\r\n").is_some(),
            "{text}"
        );
        let lower = text.to_ascii_lowercase();
        assert!(
            !lower.contains("user-agent")
                && !lower.contains("accept:")
                && !lower.contains("expect:"),
            "curl's own headers leaked: {text}"
        );
    }
    assert_eq!(
        String::from_utf8_lossy(&run.stdout)
            .lines()
            .filter(|l| l.starts_with("204 "))
            .count(),
        deliveries.len()
    );
}

#[test]
fn import_reads_stdin_and_names_formats_it_does_not_read() {
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let originals = varied(&Store::open(src.path()).unwrap());
    let jsonl = ok(hookline(src.path(), &["export"]));
    let mut import = Command::new(env!("CARGO_BIN_EXE_hookline"))
        .args(["import", "-", "--data-dir"])
        .arg(dst.path())
        .env_remove("HOOKLINE_DATA_DIR")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    import
        .stdin
        .take()
        .unwrap()
        .write_all(jsonl.as_bytes())
        .unwrap();
    let out = import.wait_with_output().unwrap();
    assert!(
        ok(out).contains(&format!("imported {} deliveries", originals.len())),
        "stdin import"
    );
    let spooled: Vec<_> = std::fs::read_dir(dst.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".import-"))
        .collect();
    assert!(spooled.is_empty(), "the stdin copy is removed");

    for (format, says) in [("har", "is a HAR file"), ("curl", "is a shell script")] {
        let file = src.path().join(format!("out.{format}"));
        ok(hookline(
            src.path(),
            &[
                "export",
                "--format",
                format,
                "--to",
                "http://127.0.0.1:9",
                "--output",
                file.to_str().unwrap(),
            ],
        ));
        let out = hookline(dst.path(), &["import", file.to_str().unwrap()]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(says) && err.contains("--format jsonl"),
            "{err}"
        );
    }
    let pretty = src.path().join("one.json");
    let shown = ok(hookline(
        src.path(),
        &["show", &originals[0].delivery.id.to_string(), "--json"],
    ));
    std::fs::write(&pretty, shown).unwrap();
    let out = hookline(dst.path(), &["import", pretty.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("spread over several lines"), "{err}");
}
