//! How verdicts are decided: stale versus invalid, key rotation, unusable
//! secrets, the generic scheme, and what reasons may say.

use hookline_protocol::{Header, Secret};

use super::super::*;
use super::{NOW, URL, WHSEC, verify};
use crate::model::VerdictKind;

fn stale_stripe() -> Verdict {
    let secret = Secret::new(WHSEC);
    let mut headers = Vec::new();
    sign(
        &Scheme::Stripe,
        &secret,
        &mut headers,
        b"{}",
        URL,
        NOW - 301,
    )
    .unwrap();
    verify(&Scheme::Stripe, &[secret], &headers, b"{}", NOW)
}

#[test]
fn stale_is_not_invalid() {
    let scheme = Scheme::Stripe;
    let secret = Secret::new(WHSEC);
    let mut headers = Vec::new();
    sign(&scheme, &secret, &mut headers, b"{}", URL, NOW - 301).unwrap();
    let stale = verify(&scheme, std::slice::from_ref(&secret), &headers, b"{}", NOW);
    assert_eq!(
        stale,
        Verdict::Stale {
            scheme: "stripe".into(),
            skew_secs: 301,
            tolerance_secs: 300,
            signature_matches: true
        }
    );
    let forged = verify(
        &scheme,
        std::slice::from_ref(&secret),
        &headers,
        b"{ }",
        NOW,
    );
    assert!(
        matches!(
            forged,
            Verdict::Stale {
                signature_matches: false,
                ..
            }
        ),
        "{forged:?}"
    );
    assert_eq!(
        verify(&scheme, &[secret], &headers, b"{ }", NOW - 301).kind(),
        VerdictKind::Invalid
    );
}

#[test]
fn future_timestamps_follow_each_sdk() {
    let secret = Secret::new(WHSEC);
    for (scheme, future_ok) in [
        (Scheme::Stripe, true),
        (Scheme::StandardWebhooks, false),
        (Scheme::Slack, false),
    ] {
        let mut headers = Vec::new();
        sign(&scheme, &secret, &mut headers, b"x", URL, NOW + 3600).unwrap();
        let verdict = verify(&scheme, std::slice::from_ref(&secret), &headers, b"x", NOW);
        assert_eq!(
            verdict.kind() == VerdictKind::Valid,
            future_ok,
            "{scheme}: {verdict:?}"
        );
        if let Verdict::Stale { skew_secs, .. } = verdict {
            assert_eq!(skew_secs, -3600);
        }
    }
}

#[test]
fn key_rotation_names_the_matching_secret() {
    let scheme = Scheme::Github;
    let (old, current) = (Secret::new("old"), Secret::new("current"));
    let mut headers = Vec::new();
    sign(&scheme, &current, &mut headers, b"body", URL, NOW).unwrap();
    let verdict = verify(&scheme, &[old.clone(), current], &headers, b"body", NOW);
    assert_eq!(
        verdict,
        Verdict::Valid {
            scheme: "github".into(),
            secret: 2
        }
    );
    let Verdict::Invalid { reason, .. } = verify(
        &scheme,
        &[old, Secret::new("older")],
        &headers,
        b"body",
        NOW,
    ) else {
        panic!("expected invalid");
    };
    assert!(
        reason.starts_with("no signature matched any of the 2 secrets;"),
        "{reason}"
    );
}

#[test]
fn wrong_secret_formats_explain_themselves() {
    let headers = [
        Header::new("webhook-id", "msg_1"),
        Header::new("webhook-timestamp", NOW.to_string()),
        Header::new("webhook-signature", format!("v1,{}", "A".repeat(43) + "=")),
    ];
    let Verdict::Invalid { reason, .. } = verify(
        &Scheme::StandardWebhooks,
        &[Secret::new("whsec_not*base64")],
        &headers,
        b"x",
        NOW,
    ) else {
        panic!("expected invalid");
    };
    assert!(
        reason.contains("no secret is usable") && reason.contains("not base64"),
        "{reason}"
    );

    let github = [Header::new(
        "X-Hub-Signature-256",
        format!("sha256={}", "0".repeat(64)),
    )];
    let Verdict::Invalid { reason, .. } =
        verify(&Scheme::Github, &[Secret::new(WHSEC)], &github, b"x", NOW)
    else {
        panic!("expected invalid");
    };
    assert!(reason.contains("starts with whsec_"), "{reason}");
    let err = sign(
        &Scheme::Svix,
        &Secret::new("whsec_***"),
        &mut Vec::new(),
        b"",
        URL,
        NOW,
    )
    .unwrap_err();
    assert!(
        matches!(err, SignError::Secret { scheme: "svix", .. }),
        "{err}"
    );
}

#[test]
fn reasons_never_carry_the_secret_or_the_expected_mac() {
    let secret = Secret::new("s3cr3t-value");
    let mut headers = Vec::new();
    sign(&Scheme::Autosend, &secret, &mut headers, b"body", URL, NOW).unwrap();
    let expected = headers[0].value_str().unwrap().to_owned();
    let reason = verify(
        &Scheme::Autosend,
        std::slice::from_ref(&secret),
        &headers,
        b"other",
        NOW,
    )
    .describe();
    let wrong = Secret::new("another-s3cr3t");
    let reason2 = verify(&Scheme::Autosend, &[wrong], &headers, b"body", NOW).describe();
    for text in [reason, reason2] {
        assert!(
            !text.contains("s3cr3t") && !text.contains(&expected),
            "{text}"
        );
    }
}

#[test]
fn generic_hmac_known_answer() {
    let config = GenericHmac {
        header: "X-Sig".into(),
        digest: Digest::Sha1,
        encoding: Encoding::Base64,
        prefix: Some("sha1=".into()),
    };
    let scheme = Scheme::Hmac(config);
    // HMAC-SHA1("key", "The quick brown fox jumps over the lazy dog") = de7c9b85…c9db4d9
    let body = b"The quick brown fox jumps over the lazy dog";
    let headers = [Header::new("x-sig", "sha1=3nybhbi3iqa8ino29wqQcBydtNk=")];
    assert_eq!(
        verify(&scheme, &[Secret::new("key")], &headers, body, NOW).kind(),
        VerdictKind::Valid
    );
    let bare = [Header::new("X-Sig", "3nybhbi3iqa8ino29wqQcBydtNk=")];
    let Verdict::Invalid { reason, .. } = verify(&scheme, &[Secret::new("key")], &bare, body, NOW)
    else {
        panic!("expected invalid");
    };
    assert!(reason.contains("does not start with 'sha1='"), "{reason}");
    assert_eq!(
        verify(&scheme, &[Secret::new("key")], &[], body, NOW),
        Verdict::Unsigned {
            scheme: Some("hmac".into())
        }
    );
}

#[test]
fn no_secret_and_unsigned() {
    let headers = [Header::new("Stripe-Signature", "t=1,v1=00")];
    assert_eq!(
        Verifier::new(SchemeChoice::Auto, vec![]).verify(&headers, b"", URL, NOW),
        Verdict::NoSecret
    );
    let auto = Verifier::new(SchemeChoice::Auto, vec![Secret::new("s")]);
    assert_eq!(
        auto.verify(&[], b"", URL, NOW),
        Verdict::Unsigned { scheme: None }
    );
    assert_eq!(auto.verify(&[], b"", URL, NOW).scheme(), None);
    assert_eq!(stale_stripe().scheme(), Some("stripe"));
    assert!(auto.has_secrets() && !Verifier::new(SchemeChoice::Auto, vec![]).has_secrets());
}

#[test]
fn svix_falls_back_to_webhook_headers() {
    let secret = Secret::new(WHSEC);
    let mut headers = Vec::new();
    sign(
        &Scheme::StandardWebhooks,
        &secret,
        &mut headers,
        b"{}",
        URL,
        NOW,
    )
    .unwrap();
    let verdict = verify(&Scheme::Svix, &[secret], &headers, b"{}", NOW);
    assert_eq!(
        verdict,
        Verdict::Valid {
            scheme: "svix".into(),
            secret: 1
        }
    );
}

#[test]
fn malformed_headers_say_what_is_wrong() {
    let cases = [
        (
            Scheme::Stripe,
            "Stripe-Signature",
            "v1=00",
            "no t= unix timestamp",
        ),
        (
            Scheme::Paddle,
            "Paddle-Signature",
            "ts=abc;h1=00",
            "no ts= unix timestamp",
        ),
        (
            Scheme::Slack,
            "X-Slack-Signature",
            "v0=00",
            "X-Slack-Request-Timestamp header is missing",
        ),
        (
            Scheme::StandardWebhooks,
            "webhook-signature",
            "v1,AAAA",
            "webhook-id header is missing",
        ),
        (
            Scheme::Shopify,
            "X-Shopify-Hmac-Sha256",
            "***",
            "not valid base64",
        ),
    ];
    for (scheme, name, value, expected) in cases {
        let headers = [Header::new(name, value)];
        let verdict = verify(&scheme, &[Secret::new(WHSEC)], &headers, b"{}", NOW);
        let Verdict::Invalid { reason, .. } = verdict else {
            panic!("{scheme}: expected invalid, got {verdict:?}");
        };
        assert!(reason.contains(expected), "{scheme}: {reason}");
    }
}

#[test]
fn twilio_refuses_unknown_signing_algorithms() {
    let headers = [
        Header::new("X-Twilio-Signature", "AAAA"),
        Header::new(
            "X-Twilio-Webhooks-Signature-Settings",
            "key=k1,algorithm=HMAC_MD5",
        ),
    ];
    let Verdict::Invalid { reason, .. } =
        verify(&Scheme::Twilio, &[Secret::new("t")], &headers, b"", NOW)
    else {
        panic!("expected invalid");
    };
    assert!(
        reason.contains("unsupported algorithm 'HMAC_MD5'"),
        "{reason}"
    );
}

#[test]
fn a_mismatch_with_the_development_secret_says_to_pass_the_providers_secret() {
    let mut headers = Vec::new();
    let provider = Secret::new("It's a Secret to Everybody");
    sign(&Scheme::Github, &provider, &mut headers, b"{}", URL, NOW).unwrap();
    let development = Verifier::development(SchemeChoice::Auto, Secret::new(WHSEC));
    assert!(development.uses_development_secret());
    let Verdict::Invalid { scheme, reason } = development.verify(&headers, b"{}", URL, NOW) else {
        panic!("a provider's signature matched the development secret");
    };
    assert_eq!(scheme, "github");
    assert!(
        reason.contains("development secret") && reason.contains("--secret"),
        "{reason}"
    );
    let own = Verifier::development(SchemeChoice::Auto, provider);
    assert!(matches!(
        own.verify(&headers, b"{}", URL, NOW),
        Verdict::Valid { .. }
    ));
}
