//! Behaviour across schemes, shared fixtures: one file for signing, one for
//! how verdicts are decided.

use hookline_protocol::{Header, Secret};

use super::*;

mod signing;
mod verdicts;

const NOW: i64 = 1_780_000_000;
const URL: &str = "https://relay.example.test/h/ch_1/hook?tenant=acme";
const WHSEC: &str = "whsec_ZGV2ZWxvcGVyLXZlY3RvcnMta2V5LTE=";

fn secret_for(scheme: &Scheme) -> Secret {
    match scheme {
        Scheme::StandardWebhooks | Scheme::Svix | Scheme::Stripe => Secret::new(WHSEC),
        _ => Secret::new("dev-secret-1"),
    }
}

fn request_for(scheme: &Scheme) -> (Vec<Header>, Vec<u8>) {
    match scheme {
        Scheme::Twilio => (
            vec![Header::new(
                "Content-Type",
                "application/x-www-form-urlencoded",
            )],
            b"To=%2B1800&Body=caf%C3%A9+ok&From=%2B1415".to_vec(),
        ),
        Scheme::Linear => (
            vec![Header::new("Content-Type", "application/json")],
            format!(r#"{{"type":"Issue","webhookTimestamp":{}}}"#, NOW * 1000).into_bytes(),
        ),
        _ => (
            vec![Header::new("Content-Type", "application/json")],
            br#"{"a": 1}"#.to_vec(),
        ),
    }
}

fn verify(
    scheme: &Scheme,
    secrets: &[Secret],
    headers: &[Header],
    body: &[u8],
    now: i64,
) -> Verdict {
    Verifier::new(SchemeChoice::Fixed(scheme.clone()), secrets.to_vec())
        .verify(headers, body, URL, now)
}
