//! sign() then verify() for every scheme, header placement, and signing errors.

use hookline_protocol::{Header, Secret};

use super::super::*;
use super::{NOW, URL, WHSEC, request_for, secret_for, verify};
use crate::model::VerdictKind;

#[test]
fn every_scheme_verifies_what_it_signed_and_auto_finds_it() {
    for scheme in Scheme::all() {
        let secret = secret_for(&scheme);
        let (mut headers, body) = request_for(&scheme);
        sign(&scheme, &secret, &mut headers, &body, URL, NOW).unwrap();
        let valid = Verdict::Valid {
            scheme: scheme.name().to_owned(),
            secret: 1,
        };
        assert_eq!(
            verify(&scheme, std::slice::from_ref(&secret), &headers, &body, NOW),
            valid,
            "{scheme}"
        );
        let tampered = [body.as_slice(), b" "].concat();
        assert_eq!(
            verify(
                &scheme,
                std::slice::from_ref(&secret),
                &headers,
                &tampered,
                NOW
            )
            .kind(),
            VerdictKind::Invalid,
            "{scheme}"
        );
        if !matches!(scheme, Scheme::Hmac(_)) {
            assert_eq!(detect(&headers), Some(scheme.clone()));
            let auto =
                Verifier::new(SchemeChoice::Auto, vec![secret]).verify(&headers, &body, URL, NOW);
            assert_eq!(auto, valid, "auto {scheme}");
        }
    }
}

#[test]
fn resigning_replaces_headers_in_place() {
    let scheme = Scheme::Stripe;
    let secret = Secret::new(WHSEC);
    let mut headers = vec![
        Header::new("A", "1"),
        Header::new("stripe-signature", "t=1,v1=00"),
        Header::new("B", "2"),
    ];
    sign(&scheme, &secret, &mut headers, b"{}", URL, NOW).unwrap();
    let names: Vec<_> = headers.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["A", "stripe-signature", "B"]);
    assert!(
        headers[1]
            .value_str()
            .unwrap()
            .starts_with(&format!("t={NOW},v1="))
    );
}
#[test]
fn url_schemes_need_the_url() {
    let verifier = Verifier::new(SchemeChoice::Fixed(Scheme::Square), vec![Secret::new("k")]);
    let headers = [Header::new("X-Square-HmacSha256-Signature", "AAAA")];
    let Verdict::Invalid { reason, .. } = verifier.verify(&headers, b"{}", "", NOW) else {
        panic!("expected invalid")
    };
    assert!(reason.contains("--url"), "{reason}");
    let err = sign(
        &Scheme::Twilio,
        &Secret::new("k"),
        &mut Vec::new(),
        b"",
        "",
        NOW,
    )
    .unwrap_err();
    assert_eq!(err, SignError::MissingUrl { scheme: "twilio" });
    let json_url = format!("{URL}&bodySHA256={}", "0".repeat(64));
    let err = sign(
        &Scheme::Twilio,
        &Secret::new("k"),
        &mut Vec::new(),
        b"{}",
        &json_url,
        NOW,
    )
    .unwrap_err();
    assert_eq!(err, SignError::BodyHashMismatch);
}

#[test]
fn linear_replay_refreshes_the_body_then_signs() {
    let secret = Secret::new("lin_wh_x");
    let (mut headers, body) = request_for(&Scheme::Linear);
    let later = NOW + 3600;
    let fresh = refresh_linear_timestamp(&body, later).unwrap();
    sign(&Scheme::Linear, &secret, &mut headers, &fresh, URL, later).unwrap();
    assert_eq!(
        verify(
            &Scheme::Linear,
            std::slice::from_ref(&secret),
            &headers,
            &fresh,
            later
        )
        .kind(),
        VerdictKind::Valid
    );
    let stale = verify(&Scheme::Linear, &[secret], &headers, &fresh, later + 61);
    assert!(matches!(
        stale,
        Verdict::Stale {
            skew_secs: 61,
            tolerance_secs: 60,
            signature_matches: true,
            ..
        }
    ));
}
