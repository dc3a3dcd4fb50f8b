//! The control socket's bounds against a same-user process that misbehaves:
//! over-long request lines, idle and trickling connections, and more idle
//! connections than the endpoint has places.

use crate::store_support;

use std::path::Path;
use std::time::Duration;

use hookline::control::{
    ControlLimits, MAX_REQUEST_BYTES, StoreAccess, serve_control_with, socket_path,
};
use hookline::model::StoredDelivery;
use hookline::store::Store;
use store_support::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(10);

/// Serves `store` within `limits` and waits until the socket answers.
async fn serve(store: &Store, dir: &Path, limits: ControlLimits) -> CancellationToken {
    let shutdown = CancellationToken::new();
    tokio::spawn({
        let (store, path, shutdown) = (store.clone(), socket_path(dir), shutdown.clone());
        async move { serve_control_with(store, &path, shutdown, limits).await }
    });
    let ready = async {
        while !matches!(StoreAccess::open(dir).await, Ok(StoreAccess::Remote(_))) {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(WAIT, ready)
        .await
        .expect("control socket never answered");
    shutdown
}

/// The next line the server sends, parsed; `None` once it has hung up.
async fn next_line(
    reader: &mut BufReader<tokio::net::unix::OwnedReadHalf>,
) -> Option<serde_json::Value> {
    let mut line = String::new();
    let n = tokio::time::timeout(WAIT, reader.read_line(&mut line))
        .await
        .expect("the server neither answered nor hung up")
        .ok()?;
    (n > 0).then(|| serde_json::from_str(&line).expect("a JSON line"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_small_request_is_refused_without_being_buffered() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let shutdown = serve(&store, dir.path(), ControlLimits::default()).await;
    let stream = UnixStream::connect(socket_path(dir.path())).await.unwrap();
    let (read, mut write) = stream.into_split();
    // A `counts` request padded to 8 MiB: far over the small-request limit.
    let writer = tokio::spawn(async move {
        let mut sent = 0usize;
        let mut chunk = br#"{"op":"counts","pad":""#.to_vec();
        chunk.resize(64 * 1024, b'x');
        while sent < 8 * 1024 * 1024 {
            if write.write_all(&chunk).await.is_err() {
                return sent;
            }
            sent += chunk.len();
            chunk.fill(b'x');
        }
        sent
    });
    let mut reader = BufReader::new(read);
    let reply = next_line(&mut reader).await.expect("an error line first");
    assert_eq!(reply["error"]["kind"], "too_long", "{reply}");
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&MAX_REQUEST_BYTES.to_string()) && message.contains("insert"),
        "{message}"
    );
    assert!(
        next_line(&mut reader).await.is_none(),
        "then the server hangs up"
    );
    let sent = tokio::time::timeout(WAIT, writer).await.unwrap().unwrap();
    assert!(
        sent < 8 * 1024 * 1024,
        "the server stopped reading long before the line ended ({sent} bytes taken)"
    );

    // Lines that carry a body may still be long: a 1 MiB body is imported.
    let remote = StoreAccess::open(dir.path()).await.unwrap();
    let big = StoredDelivery {
        delivery: delivery(T0, 1, "", "/big", vec![b'b'; 1024 * 1024]),
        verdict: valid(),
        attempts: vec![attempt(T0 + 1, Some(200), false)],
    };
    assert!(remote.import(&big).await.unwrap(), "imported");
    assert_eq!(store.get(big.delivery.id).unwrap(), Some(big));
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_trickling_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let limits = ControlLimits {
        idle_timeout: Duration::from_millis(300),
        ..ControlLimits::default()
    };
    let shutdown = serve(&store, dir.path(), limits).await;

    let idle = UnixStream::connect(socket_path(dir.path())).await.unwrap();
    let (read, _write) = idle.into_split();
    let mut reader = BufReader::new(read);
    let reply = next_line(&mut reader).await.expect("a goodbye line");
    assert_eq!(reply["error"]["kind"], "closed", "{reply}");
    assert!(next_line(&mut reader).await.is_none(), "then it hangs up");

    // One byte every 50 ms never makes a line: closed all the same.
    let trickler = UnixStream::connect(socket_path(dir.path())).await.unwrap();
    let (read, mut write) = trickler.into_split();
    let writer = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_millis(50));
        for sent in 0..200 {
            ticks.tick().await;
            if write.write_all(b"x").await.is_err() {
                return sent;
            }
        }
        200
    });
    let mut reader = BufReader::new(read);
    let reply = next_line(&mut reader).await.expect("a goodbye line");
    assert_eq!(reply["error"]["kind"], "closed", "{reply}");
    assert!(next_line(&mut reader).await.is_none(), "then it hangs up");
    let sent = tokio::time::timeout(WAIT, writer).await.unwrap().unwrap();
    assert!(sent < 200, "writing failed once the server hung up");
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_whose_idle_connection_was_closed_reconnects() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    fill(&store, 2);
    let limits = ControlLimits {
        max_connections: 1,
        ..ControlLimits::default()
    };
    let shutdown = serve(&store, dir.path(), limits).await;
    let command = StoreAccess::open(dir.path()).await.unwrap();
    assert!(matches!(command, StoreAccess::Remote(_)));
    // A newcomer takes the only place, the command's idle connection.
    let other = UnixStream::connect(socket_path(dir.path())).await.unwrap();
    let (read, mut write) = other.into_split();
    write.write_all(b"{\"op\":\"counts\"}\n").await.unwrap();
    let mut reader = BufReader::new(read);
    let answer = next_line(&mut reader)
        .await
        .expect("the newcomer is served");
    assert_eq!(answer["ok"]["total"], 2, "{answer}");
    // The command finds its connection closed unused, and opens another.
    assert_eq!(command.counts().await.unwrap().total, 2);
    let goodbye = next_line(&mut reader)
        .await
        .expect("the newcomer made room in turn");
    assert_eq!(goodbye["error"]["kind"], "closed", "{goodbye}");
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_do_not_lock_a_command_out() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    fill(&store, 3);
    // Idle connections are closed only after the default 30 s; the command
    // below runs well before, so only taking an idle one's place lets it in.
    let limits = ControlLimits::default();
    let shutdown = serve(&store, dir.path(), limits).await;
    let mut idle = Vec::new();
    for _ in 0..limits.max_connections + 16 {
        idle.push(UnixStream::connect(socket_path(dir.path())).await.unwrap());
    }
    // The real command line, in its own process: the store is held by this
    // one, so it can only answer through the socket.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_hookline"))
        .args(["list", "--json", "--data-dir"])
        .arg(dir.path())
        .env_remove("HOOKLINE_DATA_DIR")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("hookline hung")
        .expect("hookline runs");
    assert!(
        out.status.success(),
        "list failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);
    drop(idle);
    shutdown.cancel();
}
