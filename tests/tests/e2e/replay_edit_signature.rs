//! `replay --edit` never sends an old signature over a new body silently:
//! it warns (and on a terminal asks), `--resign` signs the edited body, and
//! `--keep-signature` sends it stale on purpose without a word.

use hookline_tests::cli::{assert_success, run};
use hookline_tests::{LocalApp, autosend_signature, listen, newest, send};

const BIN: &str = env!("CARGO_BIN_EXE_hookline-under-test");
const SECRET: &str = "autosend-test-secret";
const BODY: &[u8] = br#"{"event":"contact.updated","plan":"free"}"#;
const EDITED: &[u8] = br#"{"event":"contact.updated","plan":"pro"}"#;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_signed_body_is_warned_about_resigned_or_kept_on_purpose() {
    let mut app = LocalApp::start().await;
    let (listening, dir) = listen(&app.url("/"), |_| {}).await;
    let old_signature = autosend_signature(SECRET, BODY);
    let signed: [(&str, &[u8]); 1] = [("x-webhook-signature", old_signature.as_bytes())];
    send("POST", &listening.public_url, &signed, BODY.to_vec()).await;
    app.next().await;
    let id = newest(&listening.store).delivery.id.to_string();
    let editor = dir.path().join("editor.sh");
    std::fs::write(&editor, "#!/bin/sh\nsed -i 's/free/pro/' \"$1\"\n").unwrap();
    let editor = format!("sh {}", editor.display());
    let env = [("EDITOR", editor.as_str()), ("VISUAL", "")];

    // No terminal to ask on: warned, then sent as it was (scripts keep working).
    let out = run(BIN, dir.path(), &["replay", &id, "--edit"], &env).await;
    assert_success(&out);
    // What changed is shown before anything is sent.
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.starts_with(
            "--- stored body\n+++ edited body\n@@ -1,4 +1,4 @@\n {\n   \"event\": \"contact.updated\",\n-  \"plan\": \"free\"\n+  \"plan\": \"pro\"\n }\n"
        ),
        "{shown}"
    );
    let warned = stderr(&out);
    assert!(
        warned.contains(
            "warning: the edited body no longer matches the request's autosend signature"
        ) && warned.contains("--resign"),
        "{warned}"
    );
    let got = app.next().await;
    assert_eq!(&got.body[..], EDITED);
    assert_eq!(
        got.header("x-webhook-signature"),
        Some(old_signature.clone())
    );

    let out = run(
        BIN,
        dir.path(),
        &["replay", &id, "--edit", "--resign", "--secret", SECRET],
        &env,
    )
    .await;
    assert_success(&out);
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    let got = app.next().await;
    assert_eq!(&got.body[..], EDITED);
    assert_eq!(
        got.header("x-webhook-signature"),
        Some(autosend_signature(SECRET, EDITED)),
        "signed over the edited body"
    );

    let out = run(
        BIN,
        dir.path(),
        &["replay", &id, "--edit", "--keep-signature"],
        &env,
    )
    .await;
    assert_success(&out);
    assert_eq!(stderr(&out), "", "asked for, so not warned about");
    assert_eq!(
        app.next().await.header("x-webhook-signature"),
        Some(old_signature)
    );
    listening.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_unsigned_body_goes_out_without_a_warning() {
    let mut app = LocalApp::start().await;
    let (listening, dir) = listen(&app.url("/"), |_| {}).await;
    send("POST", &listening.public_url, &[], BODY.to_vec()).await;
    app.next().await;
    let id = newest(&listening.store).delivery.id.to_string();
    let editor = dir.path().join("editor.sh");
    std::fs::write(&editor, "#!/bin/sh\nsed -i 's/free/pro/' \"$1\"\n").unwrap();
    let editor = format!("sh {}", editor.display());
    let out = run(
        BIN,
        dir.path(),
        &["replay", &id, "--edit"],
        &[("EDITOR", editor.as_str()), ("VISUAL", "")],
    )
    .await;
    assert_success(&out);
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    assert_eq!(&app.next().await.body[..], EDITED);
    listening.stop().await.unwrap();
}
