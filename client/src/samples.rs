//! Sample AutoSend-style events for `hookline trigger`, compiled into the
//! binary so it works anywhere.

/// (event type, JSON body) for every sample.
pub const SAMPLES: &[(&str, &[u8])] = &[
    (
        "email.delivered",
        include_bytes!("../fixtures/autosend/email.delivered.json"),
    ),
    (
        "email.opened",
        include_bytes!("../fixtures/autosend/email.opened.json"),
    ),
    (
        "email.clicked",
        include_bytes!("../fixtures/autosend/email.clicked.json"),
    ),
    (
        "email.bounced",
        include_bytes!("../fixtures/autosend/email.bounced.json"),
    ),
    (
        "email.unsubscribed",
        include_bytes!("../fixtures/autosend/email.unsubscribed.json"),
    ),
    (
        "contact.created",
        include_bytes!("../fixtures/autosend/contact.created.json"),
    ),
    (
        "contact.updated",
        include_bytes!("../fixtures/autosend/contact.updated.json"),
    ),
    (
        "contact.deleted",
        include_bytes!("../fixtures/autosend/contact.deleted.json"),
    ),
];

/// The body of sample `event`.
pub fn sample(event: &str) -> Option<&'static [u8]> {
    SAMPLES
        .iter()
        .find(|(name, _)| *name == event)
        .map(|(_, body)| *body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_is_json_of_its_own_event_type() {
        assert_eq!(SAMPLES.len(), 8);
        for (event, body) in SAMPLES {
            let value: serde_json::Value = serde_json::from_slice(body).unwrap();
            assert_eq!(value["event"], *event);
        }
        assert!(sample("email.opened").is_some());
        assert!(sample("nope").is_none());
    }
}
