//! The relay's data dir holds queued bodies: owner-only modes, and a data dir
//! others can write is refused, by the library and by the binary.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use hookline_relay::{Relay, RelayConfig, RelayError};

use crate::support::*;

/// The permission bits in octal, as `ls -l` readers think of them.
fn mode(path: &Path) -> String {
    let mode = std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode();
    format!("{:o}", mode & 0o777)
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Every file and directory under `dir`, `dir` included.
fn tree(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut all = vec![dir.to_owned()];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            all.extend(tree(&path));
        } else {
            all.push(path);
        }
    }
    all
}

fn assert_owner_only(data: &Path) {
    assert_eq!(mode(data), "700", "{}", data.display());
    let queue = tree(&data.join("queue"));
    assert!(
        queue.iter().any(|p| p.is_file()),
        "the queue wrote no file: {queue:?}"
    );
    for path in queue {
        let wanted = if path.is_dir() { "700" } else { "600" };
        assert_eq!(mode(&path), wanted, "{}", path.display());
    }
}

#[tokio::test]
async fn the_data_dir_and_queue_files_are_owner_only() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("relay-data");
    let relay = TestRelay::start(&data, |_| {}).await;
    let queued = post(relay.addr, &format!("/h/{}", channel(TOKEN_A)), "{}").await;
    assert_eq!(queued.status, 202);
    relay.stop().await;
    assert_owner_only(&data);
    // A queue left readable by an older relay is tightened on the next start.
    for path in tree(&data.join("queue")) {
        chmod(&path, if path.is_dir() { 0o755 } else { 0o644 });
    }
    chmod(&data, 0o755);
    let relay = TestRelay::start(&data, |_| {}).await;
    relay.stop().await;
    assert_eq!(
        mode(&data),
        "755",
        "a data dir others can only read is the operator's choice"
    );
    chmod(&data, 0o700);
    assert_owner_only(&data);
}

#[tokio::test]
async fn a_data_dir_others_can_write_is_refused_with_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    for shared in [0o777, 0o770, 0o1777] {
        let data = tmp.path().join(format!("shared-{shared:o}"));
        std::fs::create_dir(&data).unwrap();
        chmod(&data, shared);
        let err = Relay::open(RelayConfig::new(tokens(), data.clone())).unwrap_err();
        assert!(matches!(err, RelayError::SharedDataDir { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains(&format!("chmod 700 '{}'", data.display())),
            "{message}"
        );
        assert!(!data.join("queue").exists(), "nothing written into it");
    }
}

#[tokio::test]
async fn the_binary_refuses_a_shared_data_dir_and_exits_with_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("shared");
    std::fs::create_dir(&data).unwrap();
    chmod(&data, 0o777);
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_hookline-relay"))
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(&data)
        .env("HOOKLINE_RELAY_TOKENS", TOKEN_A)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(WAIT, output)
        .await
        .expect("the relay exits")
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("writable by group or others"), "{stderr}");
    assert!(stderr.contains("chmod 700"), "{stderr}");
}
