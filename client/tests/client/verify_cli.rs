//! `hookline verify` run as a process: exit codes, where the verdict is
//! printed, and that secrets stay out of the output.

use std::io::Write;
use std::process::{Command, Stdio};

use hookline::verify::{Scheme, sign};
use hookline_protocol::{Header, Secret};

const NOW: &str = "1780000000";
/// GitHub's published example: this secret, body "Hello, World!".
const GITHUB_SECRET: &str = "It's a Secret to Everybody";
const GITHUB_SIGNATURE: &str =
    "X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `hookline verify ARGS` with `stdin` piped in and no inherited secret.
fn run(args: &[&str], stdin: &[u8], env_secret: Option<&str>) -> Outcome {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hookline"));
    command
        .arg("verify")
        .args(args)
        .env_remove("WEBHOOK_SECRET");
    if let Some(secret) = env_secret {
        command.env("WEBHOOK_SECRET", secret);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the hookline binary runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin)
        .expect("stdin accepts the body");
    let output = child.wait_with_output().expect("hookline exits");
    Outcome {
        code: output.status.code().expect("exited, not killed"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn valid_signature_exits_0_with_the_verdict_on_stdout() {
    let out = run(
        &[
            "--scheme",
            "github",
            "--secret",
            GITHUB_SECRET,
            "-H",
            GITHUB_SIGNATURE,
        ],
        b"Hello, World!",
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.trim(), "valid (github, secret #1)");
}

#[test]
fn body_file_auto_scheme_and_env_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("body.json");
    std::fs::write(&path, b"Hello, World!").unwrap();
    let path = path.to_str().unwrap();
    let out = run(
        &["--body-file", path, "--header", GITHUB_SIGNATURE],
        b"ignored",
        Some(GITHUB_SECRET),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("valid (github"), "{}", out.stdout);
}

#[test]
fn tampered_body_exits_1_with_the_reason_on_stdout() {
    let out = run(
        &[
            "--scheme",
            "github",
            "--secret",
            GITHUB_SECRET,
            "-H",
            GITHUB_SIGNATURE,
        ],
        b"Hello, World?",
        None,
    );
    assert_eq!(out.code, 1);
    // The verdict is on one stream whatever it is; stderr is for usage errors.
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    assert!(
        out.stdout
            .contains("invalid (github): no signature matched any of the 1 secret"),
        "{}",
        out.stdout
    );
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    assert!(!out.stdout.contains(GITHUB_SECRET));
}

#[test]
fn stale_exits_1_and_rotation_names_the_secret() {
    let secret = Secret::new("whsec_ZGV2ZWxvcGVyLXZlY3RvcnMta2V5LTE=");
    let mut headers = Vec::new();
    sign(
        &Scheme::Stripe,
        &secret,
        &mut headers,
        b"{}",
        "",
        1_780_000_000,
    )
    .unwrap();
    let header = header_arg(&headers[0]);
    let base = [
        "--scheme",
        "stripe",
        "--secret",
        "whsec_old",
        "--secret",
        secret.expose(),
        "-H",
        &header,
    ];
    let fresh = run(&[&base[..], &["--now", NOW]].concat(), b"{}", None);
    assert_eq!(fresh.code, 0, "{}", fresh.stderr);
    assert_eq!(fresh.stdout.trim(), "valid (stripe, secret #2)");
    let stale = run(&[&base[..], &["--now", "1780000301"]].concat(), b"{}", None);
    assert_eq!(stale.code, 1);
    assert!(
        stale
            .stdout
            .contains("stale (stripe): timestamp 301s old, tolerance 300s"),
        "{}",
        stale.stdout
    );
}

#[test]
fn twilio_needs_the_public_url() {
    let secret = Secret::new("devtoken987");
    let url = "https://relay.example.test/h/ch_1/sms?tenant=acme";
    let body = b"To=%2B1800&Body=hi";
    let mut headers = vec![Header::new(
        "Content-Type",
        "application/x-www-form-urlencoded",
    )];
    sign(&Scheme::Twilio, &secret, &mut headers, body, url, 0).unwrap();
    let (content_type, signature) = (header_arg(&headers[0]), header_arg(&headers[1]));
    let args = [
        "--scheme",
        "twilio",
        "--secret",
        "devtoken987",
        "-H",
        &content_type,
        "-H",
        &signature,
    ];
    let with_url = run(&[&args[..], &["--url", url]].concat(), body, None);
    assert_eq!(with_url.code, 0, "{}", with_url.stderr);
    let without = run(&args, body, None);
    assert_eq!(without.code, 1);
    assert!(without.stdout.contains("--url"), "{}", without.stdout);
}

#[test]
fn generic_hmac_takes_its_settings_from_flags() {
    let args = [
        "--scheme",
        "hmac",
        "--secret",
        "key",
        "--hmac-header",
        "X-Sig",
        "--hmac-digest",
        "sha1",
        "--hmac-encoding",
        "base64",
        "--hmac-prefix",
        "sha1=",
        "-H",
        "X-Sig: sha1=3nybhbi3iqa8ino29wqQcBydtNk=",
    ];
    let out = run(&args, b"The quick brown fox jumps over the lazy dog", None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.trim(), "valid (hmac, secret #1)");
}

#[test]
fn missing_signature_header_is_unsigned_and_exits_1() {
    let out = run(&["--scheme", "shopify", "--secret", "s"], b"{}", None);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("unsigned: no shopify signature header"),
        "{}",
        out.stdout
    );
}

#[test]
fn usage_errors_exit_2() {
    let bad_header = run(&["--secret", "s", "-H", "no colon here"], b"", None);
    assert_eq!(bad_header.code, 2);
    assert!(
        bad_header.stderr.contains("expected 'Name: value'"),
        "{}",
        bad_header.stderr
    );
    let missing = run(
        &["--secret", "s", "--body-file", "/nonexistent/hookline/body"],
        b"",
        None,
    );
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stderr
            .contains("cannot read /nonexistent/hookline/body"),
        "{}",
        missing.stderr
    );
    assert_eq!(
        run(&["--scheme", "stripee", "--secret", "s"], b"", None).code,
        2
    );
    assert_eq!(
        run(&["--scheme", "github"], b"", None).code,
        2,
        "a secret is required"
    );
}

#[test]
fn help_documents_every_flag_and_hides_the_env_secret() {
    let out = run(&["--help"], b"", Some("hunter2-topsecret"));
    assert_eq!(out.code, 0);
    for flag in [
        "--scheme",
        "--secret",
        "--header",
        "--url",
        "--body-file",
        "--now",
        "--hmac-header",
        "--hmac-digest",
        "--hmac-encoding",
        "--hmac-prefix",
        "WEBHOOK_SECRET",
    ] {
        assert!(
            out.stdout.contains(flag),
            "--help lacks {flag}:\n{}",
            out.stdout
        );
    }
    assert!(!out.stdout.contains("hunter2"), "{}", out.stdout);
}

fn header_arg(header: &Header) -> String {
    format!(
        "{}: {}",
        header.name,
        header.value_str().expect("signed headers are text")
    )
}
