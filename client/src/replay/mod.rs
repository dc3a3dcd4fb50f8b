//! Sending a stored delivery again: exactly as received, to another URL,
//! with an edited body, or re-signed with a fresh timestamp. Every replay is
//! recorded as an attempt of the original delivery.

use std::sync::Arc;

use bytes::Bytes;
use hookline_protocol::{DeliveryId, Header, Secret};

use crate::control::StoreAccess;
use crate::forward::{ForwardTarget, Forwarder, OutgoingRequest};
use crate::model::{Attempt, AttemptKind};
use crate::store::{RetrySchedule, StoreError};
use crate::verify::{Scheme, SchemeChoice, SignError, detect, refresh_linear_timestamp, sign};

/// How to change the request before sending it again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayOptions {
    /// Send here instead of the configured target.
    pub to: Option<ForwardTarget>,
    /// Sign again with the configured secret and the current time.
    pub resign: bool,
    /// Send this body instead of the stored one.
    pub body: Option<Vec<u8>>,
    /// Send to exactly this URL (a target's full URL as an attempt recorded
    /// it: `replay --failed` resends only to the targets that failed);
    /// overrides `to`. A retry pending for the delivery is cancelled.
    pub exact_url: Option<String>,
    /// A route's path prefix, stripped from the delivery's path before it
    /// is appended to `to` (`replay --route`, whose targets are the
    /// listener's own: a pending retry is cancelled).
    pub route_prefix: Option<String>,
}

/// Why a replay was not sent.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("delivery {0} is not in the store")]
    Unknown(DeliveryId),
    #[error("no target: pass --to URL (no `hookline listen` has run with this data dir)")]
    NoTarget,
    #[error("--resign needs the signing secret: pass --secret or set WEBHOOK_SECRET")]
    NoSecret,
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error("cannot replay to {0:?}: {1}")]
    BadUrl(String, String),
}

/// A replay sent and recorded.
#[derive(Debug, Clone)]
pub struct Replayed {
    pub attempt: Attempt,
    /// The request as sent (edited body, fresh signature), for showing what changed.
    pub request: OutgoingRequest,
    /// The automatic retry this replay took the place of, if one was pending.
    pub superseded: Option<RetrySchedule>,
}

/// The scheme whose signature `headers` carry when `edited` differs from the
/// `original` body: sending it unchanged would present a signature the app
/// must reject, so callers warn and offer `--resign`.
pub fn stale_signature(headers: &[Header], original: &[u8], edited: &[u8]) -> Option<Scheme> {
    if original == edited {
        return None;
    }
    detect(headers)
}

/// Replays deliveries. Cheap to clone; clones share the store and the connection pool.
#[derive(Debug, Clone)]
pub struct Replayer {
    access: Arc<StoreAccess>,
    forwarder: Forwarder,
    target: Option<ForwardTarget>,
    scheme: SchemeChoice,
    secret: Option<Secret>,
}

impl Replayer {
    /// `target` is where replays go without `--to`; `secret` (the first of the
    /// configured ones, the current key) signs `--resign` replays.
    pub fn new(
        access: Arc<StoreAccess>,
        forwarder: Forwarder,
        target: Option<ForwardTarget>,
        scheme: SchemeChoice,
        secret: Option<Secret>,
    ) -> Self {
        Self {
            access,
            forwarder,
            target,
            scheme,
            secret,
        }
    }

    /// The same replayer sending through `forwarder` (its TLS settings, its pool).
    pub fn with_forwarder(self, forwarder: Forwarder) -> Self {
        Self { forwarder, ..self }
    }

    pub fn access(&self) -> &StoreAccess {
        &self.access
    }

    /// Sends delivery `id` again and records the attempt. A replay to the
    /// forward target cancels the delivery's pending automatic retry first,
    /// so the app does not get it twice; one sent elsewhere (`--to` another
    /// URL) leaves the retry alone.
    pub async fn replay(
        &self,
        id: DeliveryId,
        options: &ReplayOptions,
    ) -> Result<Replayed, ReplayError> {
        let stored = self.access.get(id).await?.ok_or(ReplayError::Unknown(id))?;
        let mut request = OutgoingRequest::from_delivery(&stored.delivery);
        let exact = match &options.exact_url {
            Some(url) => Some(split_url(url, &mut request)?),
            None => None,
        };
        let target = exact
            .as_ref()
            .or(options.to.as_ref())
            .or(self.target.as_ref())
            .ok_or(ReplayError::NoTarget)?;
        if let Some(prefix) = &options.route_prefix {
            let prefix = prefix.trim_end_matches('/');
            if let Some(rest) = request.path.strip_prefix(prefix)
                && (rest.is_empty() || rest.starts_with('/'))
            {
                request.path = rest.to_owned();
            }
        }
        if let Some(body) = &options.body {
            request.body = Bytes::from(body.clone());
        }
        if options.resign {
            self.resign(&mut request)?;
        }
        let kind = AttemptKind::Replay {
            resigned: options.resign,
            edited: options.body.is_some(),
        };
        let to_app = exact.is_some()
            || options.route_prefix.is_some()
            || options
                .to
                .as_ref()
                .is_none_or(|to| Some(to) == self.target.as_ref());
        let superseded = if to_app {
            self.access.supersede_retry(id).await?
        } else {
            None
        };
        let attempt = self
            .forwarder
            .reserve()
            .await
            .send(target, &request, kind)
            .await;
        self.access.record_attempt(id, &attempt).await?;
        Ok(Replayed {
            attempt,
            request,
            superseded,
        })
    }

    /// Where replays go without `--to`.
    pub fn target(&self) -> Option<&ForwardTarget> {
        self.target.as_ref()
    }

    /// Signs under the configured scheme, else the one whose signature the
    /// request carries, else `autosend` (an unsigned delivery, such as one
    /// posted with curl, gets the scheme `trigger` uses by default).
    fn resign(&self, request: &mut OutgoingRequest) -> Result<(), ReplayError> {
        let secret = self.secret.as_ref().ok_or(ReplayError::NoSecret)?;
        let scheme = match &self.scheme {
            SchemeChoice::Fixed(scheme) => scheme.clone(),
            SchemeChoice::Auto => detect(&request.headers).unwrap_or(Scheme::Autosend),
        };
        let now = crate::clock::now_unix();
        if scheme == Scheme::Linear
            && let Some(body) = refresh_linear_timestamp(&request.body, now)
        {
            request.body = Bytes::from(body);
        }
        sign(
            &scheme,
            secret,
            &mut request.headers,
            &request.body,
            &request.public_url,
            now,
        )?;
        Ok(())
    }
}

/// A recorded full URL as a target without a path, with the request's path
/// and query set from it, so the replay goes to exactly that URL.
fn split_url(url: &str, request: &mut OutgoingRequest) -> Result<ForwardTarget, ReplayError> {
    let bad = |why: &str| ReplayError::BadUrl(url.to_owned(), why.to_owned());
    let uri: http::Uri = url.parse().map_err(|_| bad("not a URL"))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(bad("not an absolute URL"));
    };
    let target = format!("{scheme}://{authority}")
        .parse()
        .map_err(|err: crate::forward::TargetError| bad(&err.to_string()))?;
    request.path = match uri.path() {
        "/" => String::new(),
        path => path.to_owned(),
    };
    request.query = uri.query().map(str::to_owned);
    Ok(target)
}
