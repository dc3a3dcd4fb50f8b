//! Routes: which local targets a delivery goes to. The first route whose
//! event globs and path prefix match takes the delivery; `--forward` alone is
//! one implicit route (named `default`) filtered by `--events`, placed after
//! the routes of a config file so it catches what they leave.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::forward::ForwardTarget;
use crate::store::Glob;

/// The name of the route `--forward` makes.
pub const DEFAULT_ROUTE: &str = "default";

/// One route of the listener's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub name: String,
    /// Event type globs; `None` takes every event (and deliveries without one).
    pub events: Option<Glob>,
    /// A prefix of the path after the channel, stripped before the rest is
    /// appended to each target; `None` takes every path.
    pub path: Option<String>,
    /// Each target gets its own forward, retries and recorded attempts.
    pub targets: Vec<ForwardTarget>,
    /// What the sender hears for deliveries this route takes, when the
    /// session mode is `app`.
    pub respond: Option<RouteRespond>,
}

/// What a route answers the sender, chosen in the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteRespond {
    /// The first target's answer.
    App,
    /// This status, with a JSON body saying it was chosen.
    Status(u16),
}

impl FromStr for RouteRespond {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.parse::<RespondMode>()? {
            RespondMode::App => Ok(Self::App),
            RespondMode::Status(status) => Ok(Self::Status(status)),
            RespondMode::Accept => Err(
                "respond = \"accept\" is session-wide only (the relay answers before any route is \
                 known): set it at the top of the file or pass --respond accept"
                    .into(),
            ),
        }
    }
}

/// What the sender hears, for the whole session (`--respond`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RespondMode {
    /// The local app's answer (the first target's, with fan-out).
    #[default]
    App,
    /// The relay answers 202 once the delivery is durably queued.
    Accept,
    /// This status, with a JSON body saying it was chosen; the delivery is
    /// still stored and forwarded.
    Status(u16),
}

impl FromStr for RespondMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "app" => Ok(Self::App),
            "accept" => Ok(Self::Accept),
            _ => match text.parse::<u16>() {
                Ok(status @ 200..=599) => Ok(Self::Status(status)),
                _ => Err(format!(
                    "respond {text:?} is not app, accept or an HTTP status from 200 to 599"
                )),
            },
        }
    }
}

impl RespondMode {
    /// The part of the mode the relay acts on: only `accept` is the relay's
    /// to answer; every other answer comes from this client.
    pub fn session(self) -> hookline_protocol::SessionRespond {
        match self {
            Self::Accept => hookline_protocol::SessionRespond::Accept,
            Self::App | Self::Status(_) => hookline_protocol::SessionRespond::App,
        }
    }
}

impl std::fmt::Display for RespondMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::App => f.write_str("app"),
            Self::Accept => f.write_str("accept"),
            Self::Status(status) => write!(f, "{status}"),
        }
    }
}

impl Route {
    /// The implicit route of `--forward URL [--events GLOBS]`.
    pub fn implicit(target: ForwardTarget, events: Option<Glob>) -> Self {
        Self {
            name: DEFAULT_ROUTE.to_owned(),
            events,
            path: None,
            targets: vec![target],
            respond: None,
        }
    }

    /// The path suffix to append to this route's targets when it takes a
    /// delivery of `event` at `path`, or `None` when it does not.
    pub fn take<'p>(&self, event: Option<&str>, path: &'p str) -> Option<&'p str> {
        if let Some(events) = &self.events {
            if !events.matches(event.unwrap_or_default()) {
                return None;
            }
        }
        match &self.path {
            None => Some(path),
            Some(prefix) => strip_path_prefix(path, prefix),
        }
    }
}

/// `path` without `prefix`, matching whole segments only: `/billing` takes
/// `/billing` and `/billing/x` but not `/billingx`.
fn strip_path_prefix<'p>(path: &'p str, prefix: &str) -> Option<&'p str> {
    let prefix = prefix.trim_end_matches('/');
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// The route that takes a delivery, with the path suffix for its targets.
pub fn route_for<'r, 'p>(
    routes: &'r [Route],
    event: Option<&str>,
    path: &'p str,
) -> Option<(&'r Route, &'p str)> {
    routes
        .iter()
        .find_map(|route| route.take(event, path).map(|rest| (route, rest)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(name: &str, events: Option<&str>, path: Option<&str>) -> Route {
        Route {
            name: name.into(),
            events: events.map(Glob::new),
            path: path.map(str::to_owned),
            targets: vec!["http://127.0.0.1:3000".parse().unwrap()],
            respond: None,
        }
    }

    #[test]
    fn first_matching_route_takes_the_delivery() {
        let routes = [
            route("email", Some("email.*"), None),
            route("billing", None, Some("/billing")),
            route("rest", None, None),
        ];
        let pick = |event, path| route_for(&routes, event, path).map(|(r, p)| (r.name.as_str(), p));
        assert_eq!(
            pick(Some("email.sent"), "/billing/x"),
            Some(("email", "/billing/x"))
        );
        assert_eq!(
            pick(Some("contact.new"), "/billing/x"),
            Some(("billing", "/x"))
        );
        assert_eq!(pick(Some("contact.new"), "/billing"), Some(("billing", "")));
        assert_eq!(
            pick(Some("contact.new"), "/billingx"),
            Some(("rest", "/billingx"))
        );
        assert_eq!(pick(None, ""), Some(("rest", "")));
    }

    #[test]
    fn no_route_matches() {
        let routes = [
            route("email", Some("email.*,push"), None),
            route("hooks", Some("contact.*"), Some("/hooks/")),
        ];
        assert!(route_for(&routes, Some("order.paid"), "/").is_none());
        assert!(route_for(&routes, None, "/hooks/a").is_none());
        assert!(route_for(&routes, Some("contact.new"), "/other").is_none());
        assert_eq!(
            route_for(&routes, Some("contact.new"), "/hooks/a").map(|(_, p)| p),
            Some("/a")
        );
        assert!(route_for(&[], Some("push"), "/").is_none());
    }
}
