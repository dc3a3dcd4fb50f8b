//! `hookline trigger` as a developer runs it: samples listed by provider,
//! each sent with its provider's headers and signature, and a sample signed
//! under another scheme carrying that scheme's headers only.

use hookline::model::Verdict;
use hookline::verify::{Scheme, SchemeChoice, Verifier};
use hookline_protocol::{Header, Secret};
use hookline_tests::cli::{assert_success, run, stdout};
use hookline_tests::{LocalApp, Received};

const BIN: &str = env!("CARGO_BIN_EXE_hookline-under-test");
const SECRET: &str = "whsec_dHJpZ2dlci1zYW1wbGVzLXRlc3Qta2V5";

fn verdict(scheme: Scheme, received: &Received) -> Verdict {
    let headers: Vec<Header> = received
        .headers
        .iter()
        .map(|(n, v)| Header::new(n.as_str(), v.clone()))
        .collect();
    Verifier::new(SchemeChoice::Fixed(scheme), vec![Secret::new(SECRET)]).verify(
        &headers,
        &received.body,
        "",
        hookline::clock::now_unix(),
    )
}

#[tokio::test]
async fn list_groups_samples_under_their_provider() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(BIN, dir.path(), &["trigger", "--list"], &[]).await;
    assert_success(&out);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    for (heading, event) in [
        ("Stripe (--scheme stripe)", "invoice.paid"),
        ("GitHub (--scheme github)", "push"),
        ("Shopify (--scheme shopify)", "orders/create"),
        ("Slack (--scheme slack)", "url_verification"),
        (
            "Standard Webhooks (--scheme standard-webhooks)",
            "user.created",
        ),
        ("AutoSend (--scheme autosend)", "email.opened"),
    ] {
        let at = lines
            .iter()
            .position(|l| *l == heading)
            .unwrap_or_else(|| panic!("no {heading:?} in {text}"));
        let group: Vec<&str> = lines[at + 1..]
            .iter()
            .take_while(|l| l.starts_with("  "))
            .map(|l| l.trim())
            .collect();
        assert!(group.contains(&event), "{heading}: {group:?}");
    }
}

#[tokio::test]
async fn each_provider_sample_arrives_signed_its_providers_way() {
    let mut app = LocalApp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let to = app.url("/hooks");
    for (event, scheme, header) in [
        (
            "payment_intent.succeeded",
            Scheme::Stripe,
            "stripe-signature",
        ),
        ("pull_request", Scheme::Github, "x-hub-signature-256"),
        ("products/update", Scheme::Shopify, "x-shopify-hmac-sha256"),
        ("app_mention", Scheme::Slack, "x-slack-signature"),
        (
            "subscription.renewed",
            Scheme::StandardWebhooks,
            "webhook-signature",
        ),
    ] {
        let out = run(
            BIN,
            dir.path(),
            &["trigger", event, "--to", &to, "--secret", SECRET],
            &[],
        )
        .await;
        assert_success(&out);
        let received = app.next().await;
        assert!(received.header(header).is_some(), "{event}: no {header}");
        assert!(
            !received
                .headers
                .iter()
                .any(|(n, _)| n.starts_with("x-webhook")),
            "{event}: {:?}",
            received.headers
        );
        let verdict = verdict(scheme, &received);
        assert!(
            matches!(verdict, Verdict::Valid { .. }),
            "{event}: {}",
            verdict.describe()
        );
    }
}

#[tokio::test]
async fn scheme_stripe_on_an_autosend_sample_sends_stripes_headers_only() {
    let mut app = LocalApp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        BIN,
        dir.path(),
        &[
            "trigger",
            "email.opened",
            "--scheme",
            "stripe",
            "--to",
            &app.url("/"),
            "--secret",
            SECRET,
        ],
        &[],
    )
    .await;
    assert_success(&out);
    let received = app.next().await;
    assert!(received.header("stripe-signature").is_some());
    let names: Vec<&str> = received.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        !names.iter().any(|n| n.starts_with("x-webhook")),
        "{names:?}"
    );
    let verdict = verdict(Scheme::Stripe, &received);
    assert!(
        matches!(verdict, Verdict::Valid { .. }),
        "{}",
        verdict.describe()
    );
}
