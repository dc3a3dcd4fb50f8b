//! The shape of a `hookline.toml`: every `listen` flag under its own name,
//! plus `[[route]]` tables. Unknown keys are refused, and values are parsed
//! while the file is read so a mistake is reported at its line.

use std::fmt::Display;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, de};
use toml::Spanned;

use crate::forward::ForwardTarget;
use crate::listen::OutputFormat;
use crate::verify::{Digest, Encoding, SchemeChoice};

/// The whole file. Keys are the `listen` flags without their dashes' prefix.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigFile {
    pub forward: Option<Parsed<ForwardTarget>>,
    pub relay: Option<Spanned<Parsed<String>>>,
    pub relay_ca: Option<Spanned<Parsed<PathBuf>>>,
    pub token: Option<Spanned<Parsed<String>>>,
    pub channel: Option<Spanned<Parsed<String>>>,
    pub listen: Option<Parsed<SocketAddr>>,
    pub max_body: Option<Parsed<MaxBody>>,
    pub secret: Option<OneOrMany<Parsed<String>>>,
    pub scheme: Option<Parsed<SchemeChoice>>,
    pub hmac_header: Option<Parsed<String>>,
    pub hmac_digest: Option<Parsed<Digest>>,
    pub hmac_encoding: Option<Parsed<Encoding>>,
    pub hmac_prefix: Option<Parsed<String>>,
    pub events: Option<OneOrMany<Parsed<EventGlob>>>,
    pub reject_invalid: Option<bool>,
    pub output: Option<Parsed<Output>>,
    pub timeout: Option<Parsed<Span>>,
    pub retries: Option<u32>,
    pub retry_delay: Option<Parsed<Span>>,
    pub max_in_flight: Option<usize>,
    pub keep: Option<usize>,
    pub max_age: Option<Parsed<Span>>,
    pub tui: Option<bool>,
    pub respond: Option<Parsed<crate::listen::RespondMode>>,
    pub forward_ca: Option<Parsed<PathBuf>>,
    pub forward_insecure: Option<bool>,
    pub data_dir: Option<Parsed<PathBuf>>,
    #[serde(default)]
    pub route: Vec<RouteFile>,
}

/// One `[[route]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteFile {
    pub name: Spanned<String>,
    pub events: Option<OneOrMany<Parsed<EventGlob>>>,
    pub path: Option<Parsed<RoutePath>>,
    pub forward: Spanned<OneOrMany<Parsed<ForwardTarget>>>,
    pub respond: Option<Parsed<crate::listen::RouteRespond>>,
}

/// A string value, `${NAME}` references replaced by the environment, then
/// parsed as `T`; an unset variable or a bad value fails at its line.
#[derive(Debug, Clone)]
pub struct Parsed<T>(pub T);

impl<'de, T> Deserialize<'de> for Parsed<T>
where
    T: FromStr,
    T::Err: Display,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let text = expand_env(&text, |name| std::env::var(name).ok()).map_err(D::Error::custom)?;
        text.parse().map(Parsed).map_err(D::Error::custom)
    }
}

/// One value or a list of them (`secret = "…"` or `secret = ["…", "…"]`).
#[derive(Debug, Clone)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> de::Visitor<'de> for Visit<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                let one = T::deserialize(de::value::StrDeserializer::<E>::new(text))?;
                Ok(OneOrMany(vec![one]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut many = Vec::new();
                while let Some(one) = seq.next_element()? {
                    many.push(one);
                }
                Ok(OneOrMany(many))
            }
        }
        deserializer.deserialize_any(Visit(PhantomData))
    }
}

/// Replaces each `${NAME}` in `text` by `lookup(NAME)`.
pub fn expand_env(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("unclosed ${{ in {text:?}: write ${{NAME}}"));
        };
        let name = &after[..end];
        let valid = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!("${{{name}}} is not an environment variable name"));
        }
        match lookup(name) {
            Some(value) => out.push_str(&value),
            None => {
                return Err(format!(
                    "environment variable {name} is not set (the file refers to ${{{name}}})"
                ));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// An event type glob: `*` and `?` wildcards, no spaces or commas (a list
/// is written as a TOML array).
#[derive(Debug, Clone)]
pub struct EventGlob(pub String);

impl FromStr for EventGlob {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("an empty event glob matches nothing; write \"*\" for every event".into());
        }
        if let Some(bad) = text
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || *c == ',')
        {
            return Err(format!(
                "bad event glob {text:?}: {bad:?} is not allowed (globs use * and ?; list several as [\"a.*\", \"b\"])"
            ));
        }
        Ok(Self(text.to_owned()))
    }
}

/// A route's path prefix: absolute, without query or dot segments.
#[derive(Debug, Clone)]
pub struct RoutePath(pub String);

impl FromStr for RoutePath {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let climbs = text.split('/').any(|s| s == "." || s == "..");
        if !text.starts_with('/') || text.contains(['?', '#']) || climbs {
            return Err(format!(
                "route path {text:?} must be a path after the channel such as \"/billing\" (no query, no . or ..)"
            ));
        }
        Ok(Self(text.to_owned()))
    }
}

/// A duration such as `10s`, `500ms` or `30d`.
#[derive(Debug, Clone, Copy)]
pub struct Span(pub Duration);

impl FromStr for Span {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        crate::store::time::parse_duration(text)
            .map(Span)
            .map_err(|err| err.to_string())
    }
}

/// A body size limit such as `25MiB`.
#[derive(Debug, Clone, Copy)]
pub struct MaxBody(pub usize);

impl FromStr for MaxBody {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        crate::cli::listen::parse_max_body(text).map(MaxBody)
    }
}

/// `text`, `json` or `quiet`.
#[derive(Debug, Clone, Copy)]
pub struct Output(pub OutputFormat);

impl FromStr for Output {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        <OutputFormat as clap::ValueEnum>::from_str(text, false)
            .map(Output)
            .map_err(|_| format!("output {text:?} is not one of text, json, quiet"))
    }
}
