//! The `/` filter language and `f`, turned into the store's [`Filter`]:
//! `event:email.*`, `status:5xx` (or ok, failed, invalid, pending),
//! `sig:invalid` (valid, invalid, stale, unsigned, no-secret); other words
//! are matched as text against id, event, method and path.

use crate::model::VerdictKind;
use crate::store::{DeliveryStatus, Filter, Glob};

/// What the developer asked to see: the typed filter and the `f` toggle.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilterSpec {
    pub text: String,
    pub failed_only: bool,
    parsed: Filter,
}

impl FilterSpec {
    /// Parses `text`; on error the previous filter stays and the message says why.
    pub fn set_text(&mut self, text: &str) -> Result<(), String> {
        self.parsed = parse(text)?;
        self.text = text.trim().to_owned();
        Ok(())
    }

    /// The store filter: the typed one, narrowed to failures with `f`.
    pub fn filter(&self) -> Filter {
        let mut filter = self.parsed.clone();
        if self.failed_only {
            filter.status = Some(DeliveryStatus::Failed);
        }
        filter
    }

    pub fn is_active(&self) -> bool {
        self.failed_only || !self.text.is_empty()
    }

    /// One line for the list title, e.g. `event:email.* · failed only`.
    pub fn describe(&self) -> String {
        match (self.text.is_empty(), self.failed_only) {
            (true, false) => String::new(),
            (true, true) => "failed only".to_owned(),
            (false, false) => self.text.clone(),
            (false, true) => format!("{} · failed only", self.text),
        }
    }
}

/// Parses the filter language; an unknown value names the ones accepted.
pub fn parse(text: &str) -> Result<Filter, String> {
    let mut filter = Filter::default();
    let mut words = Vec::new();
    for word in text.split_whitespace() {
        match word.split_once(':') {
            Some(("event", glob)) if !glob.is_empty() => filter.event = Some(Glob::new(glob)),
            Some(("status", value)) => status(&mut filter, value)?,
            Some(("sig", value)) => filter.verdict = Some(verdict(value)?),
            _ => words.push(word),
        }
    }
    if !words.is_empty() {
        filter.text = Some(words.join(" "));
    }
    Ok(filter)
}

fn status(filter: &mut Filter, value: &str) -> Result<(), String> {
    let class = value
        .strip_suffix("xx")
        .and_then(|d| d.parse::<u16>().ok())
        .filter(|d| (1..=5).contains(d));
    if let Some(class) = class {
        filter.status_class = Some(class);
        return Ok(());
    }
    filter.status = Some(match value {
        "ok" => DeliveryStatus::Ok,
        "failed" => DeliveryStatus::Failed,
        "invalid" => DeliveryStatus::Invalid,
        "pending" => DeliveryStatus::Pending,
        _ => {
            return Err(format!(
                "status:{value}? 2xx…5xx, ok, failed, invalid, pending"
            ));
        }
    });
    Ok(())
}

fn verdict(value: &str) -> Result<VerdictKind, String> {
    Ok(match value {
        "valid" => VerdictKind::Valid,
        "invalid" => VerdictKind::Invalid,
        "stale" => VerdictKind::Stale,
        "unsigned" => VerdictKind::Unsigned,
        "no-secret" | "none" => VerdictKind::NoSecret,
        _ => {
            return Err(format!(
                "sig:{value}? valid, invalid, stale, unsigned, no-secret"
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_keys() {
        let f = parse("event:email.* status:5xx sig:invalid /orders  POST").unwrap();
        assert_eq!(f.event, Some(Glob::new("email.*")));
        assert_eq!(f.status_class, Some(5));
        assert_eq!(f.verdict, Some(VerdictKind::Invalid));
        assert_eq!(f.text.as_deref(), Some("/orders POST"));
        assert_eq!(
            parse("status:failed").unwrap().status,
            Some(DeliveryStatus::Failed)
        );
        assert_eq!(parse("").unwrap(), Filter::default());
    }

    #[test]
    fn bad_values_say_what_is_accepted() {
        assert!(parse("status:9xx").unwrap_err().contains("2xx…5xx"));
        assert!(parse("sig:maybe").unwrap_err().contains("valid, invalid"));
    }

    #[test]
    fn failed_only_narrows_and_a_bad_text_keeps_the_old_filter() {
        let mut spec = FilterSpec::default();
        spec.set_text("event:a.*").unwrap();
        spec.failed_only = true;
        assert_eq!(spec.filter().status, Some(DeliveryStatus::Failed));
        assert!(spec.set_text("sig:?").is_err());
        assert_eq!(spec.text, "event:a.*");
        assert_eq!(spec.describe(), "event:a.* · failed only");
    }
}
