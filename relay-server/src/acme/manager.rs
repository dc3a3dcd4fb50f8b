//! The certificate's life in a running relay: serve the cached one at
//! start, order when there is none or it is due, retry failures with
//! backoff (saying what to fix once, not every attempt), and swap renewed
//! certificates in without touching open connections.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use instant_acme::{Account, AccountCredentials, ChallengeType, NewAccount};
use rustls::ServerConfig;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::cache::{Cache, Issued};
use super::challenges::{ACME_TLS_ALPN, Challenges};
use super::http_client::AcmeHttp;
use super::issue::{OrderFailure, issue};
use super::resolver::CertResolver;
use super::{AcmeConfig, AcmeError, advice};

/// First wait after a failed order; doubled each time up to `RETRY_MAX`
/// (CAs limit failed validations per hour, so no faster).
const RETRY_FIRST: Duration = Duration::from_secs(5 * 60);
const RETRY_MAX: Duration = Duration::from_secs(3 * 3600);

/// Longest single sleep: the wall clock may jump (a suspended VM), so the
/// renewal time is looked at again at least this often.
const LOOK_AGAIN: Duration = Duration::from_secs(3600);

/// The certificate served now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedCertificate {
    /// The leaf certificate, DER.
    pub leaf: Vec<u8>,
    pub not_after: SystemTime,
}

/// What the manager has done, for logs, tests and health checks.
#[derive(Debug, Clone, Default)]
pub struct AcmeStatus {
    pub certificate: Option<ServedCertificate>,
    /// Certificates this process obtained from the CA (a cached one is not counted).
    pub issued: u64,
    /// The last failure, until an order succeeds.
    pub last_error: Option<String>,
}

/// Obtains and renews the relay's certificate; see the module docs.
pub struct Acme {
    config: AcmeConfig,
    cache: Cache,
    http: AcmeHttp,
    challenges: Arc<Challenges>,
    resolver: Arc<CertResolver>,
    status: watch::Sender<AcmeStatus>,
    account: Option<Account>,
}

impl std::fmt::Debug for Acme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acme")
            .field("domains", &self.config.domains)
            .field("directory", &self.config.directory)
            .finish_non_exhaustive()
    }
}

impl Acme {
    /// Checks the settings and serves the cached certificate, if any, at
    /// once. Orders happen in [`Acme::run`].
    pub fn new(config: AcmeConfig) -> Result<Acme, AcmeError> {
        check_settings(&config)?;
        let cache = Cache::open(config.cache_dir.clone())?;
        let http = AcmeHttp::new(config.directory_ca.as_deref())?;
        let challenges = Arc::new(Challenges::default());
        let resolver = Arc::new(CertResolver::new(challenges.clone()));
        let (status, _) = watch::channel(AcmeStatus::default());
        let acme = Acme {
            config,
            cache,
            http,
            challenges,
            resolver,
            status,
            account: None,
        };
        if let Some(issued) = acme
            .cache
            .load_certificate(&acme.config.directory, &acme.config.domains)?
        {
            match acme.install(&issued) {
                Ok(served) => {
                    tracing::info!(
                        "serving the cached certificate for {} (expires {})",
                        acme.config.domains.join(", "),
                        rfc3339(served.not_after)
                    );
                    acme.status.send_modify(|s| s.certificate = Some(served));
                }
                Err(e) => tracing::warn!("the cached certificate is unusable ({e}); ordering anew"),
            }
        }
        Ok(acme)
    }

    /// The TLS settings of the HTTPS listener: the current certificate, and
    /// the challenge certificate for a CA's `acme-tls/1` hello.
    pub fn tls_config(&self) -> Result<Arc<ServerConfig>, AcmeError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(AcmeError::certificate)?
            .with_no_client_auth()
            .with_cert_resolver(self.resolver.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec(), ACME_TLS_ALPN.to_vec()];
        Ok(Arc::new(config))
    }

    /// The HTTP-01 answers, for the relay's plain listener.
    pub fn challenges(&self) -> Arc<Challenges> {
        self.challenges.clone()
    }

    pub fn status(&self) -> watch::Receiver<AcmeStatus> {
        self.status.subscribe()
    }

    /// Orders whenever there is no certificate or it is due, until `shutdown`.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut last_order: Option<Instant> = None;
        let mut failures = 0;
        let mut said: Option<String> = None;
        loop {
            let wait = self.until_due(last_order);
            if !wait.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(wait.min(LOOK_AGAIN)) => continue,
                    () = shutdown.cancelled() => return,
                }
            }
            let outcome = tokio::select! {
                outcome = self.obtain() => outcome,
                () = shutdown.cancelled() => return,
            };
            match outcome {
                Ok(served) => {
                    last_order = Some(Instant::now());
                    failures = 0;
                    said = None;
                    self.announce(&served);
                }
                Err(message) => {
                    failures += 1;
                    let retry = RETRY_FIRST
                        .saturating_mul(1 << (failures - 1).min(6))
                        .min(RETRY_MAX);
                    let serving = if self.status.borrow().certificate.is_some() {
                        "the current certificate is served meanwhile"
                    } else {
                        "HTTPS has no certificate yet; plain HTTP is served meanwhile"
                    };
                    if said.as_deref() == Some(message.as_str()) {
                        tracing::debug!("certificate order failed again: {message}");
                    } else {
                        tracing::error!(
                            "cannot obtain a certificate: {message}; {serving}; retrying in {} min",
                            retry.as_secs() / 60
                        );
                    }
                    self.status
                        .send_modify(|s| s.last_error = Some(message.clone()));
                    said = Some(message);
                    tokio::select! {
                        () = tokio::time::sleep(retry) => {}
                        () = shutdown.cancelled() => return,
                    }
                }
            }
        }
    }

    /// Time until the next order: none without a certificate; otherwise
    /// until `renew_before` of its life is left, but never sooner than
    /// `min_renew_interval` after this process's last order.
    fn until_due(&self, last_order: Option<Instant>) -> Duration {
        let Some(not_after) = self
            .status
            .borrow()
            .certificate
            .as_ref()
            .map(|c| c.not_after)
        else {
            return Duration::ZERO;
        };
        let renew_at = not_after
            .checked_sub(self.config.renew_before)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let due = renew_at
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        let floor = last_order.map_or(Duration::ZERO, |t| {
            (t + self.config.min_renew_interval).saturating_duration_since(Instant::now())
        });
        due.max(floor)
    }

    /// One order: TLS-ALPN-01, then HTTP-01 if the CA could not validate
    /// that; a vanished account is registered anew once.
    async fn obtain(&mut self) -> Result<ServedCertificate, String> {
        let directory = self.config.directory.clone();
        let mut issued = self.order().await;
        if issued.as_ref().is_err_and(advice::account_gone) {
            tracing::warn!("the CA no longer knows the cached account; registering a new one");
            self.account = None;
            self.cache
                .forget_account(&directory)
                .map_err(|e| e.to_string())?;
            issued = self.order().await;
        }
        let issued = issued.map_err(|failure| match failure {
            OrderFailure::Validation(both) => both,
            other => advice::failure(&directory, other),
        })?;
        if let Err(e) = self
            .cache
            .save_certificate(&directory, &self.config.domains, &issued)
        {
            tracing::warn!("cannot cache the new certificate ({e}); a restart will order again");
        }
        let served = self.install(&issued).map_err(|e| e.to_string())?;
        self.status.send_modify(|s| {
            s.certificate = Some(served.clone());
            s.issued += 1;
            s.last_error = None;
        });
        Ok(served)
    }

    async fn order(&mut self) -> Result<Issued, OrderFailure> {
        let account = self.account().await.map_err(OrderFailure::Acme)?;
        let names = &self.config.domains;
        match issue(&account, names, ChallengeType::TlsAlpn01, &self.challenges).await {
            Err(OrderFailure::Validation(tls_alpn)) => {
                tracing::warn!("TLS-ALPN-01 validation failed ({tls_alpn}); ordering with HTTP-01");
                match issue(&account, names, ChallengeType::Http01, &self.challenges).await {
                    Err(OrderFailure::Validation(http)) => Err(OrderFailure::Validation(
                        advice::validation(names, &tls_alpn, &http),
                    )),
                    other => other,
                }
            }
            other => other,
        }
    }

    /// The account from the cache, or a new one registered and cached.
    async fn account(&mut self) -> Result<Account, instant_acme::Error> {
        if let Some(account) = &self.account {
            return Ok(account.clone());
        }
        let directory = &self.config.directory;
        let builder = || Account::builder_with_http(Box::new(self.http.clone()));
        let cached: Option<AccountCredentials> =
            self.cache.load_account(directory).unwrap_or_else(|e| {
                tracing::warn!("{e}; registering a new account");
                None
            });
        let account = match cached {
            Some(credentials) => builder().from_credentials(credentials).await?,
            None => {
                let contact = self.config.email.as_ref().map(|e| format!("mailto:{e}"));
                let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
                let new = NewAccount {
                    contact: &contacts,
                    terms_of_service_agreed: true,
                    only_return_existing: false,
                };
                let (account, credentials) =
                    builder().create(&new, directory.clone(), None).await?;
                if let Err(e) = self.cache.save_account(directory, &credentials) {
                    tracing::warn!("cannot cache the ACME account ({e}); a restart registers anew");
                }
                tracing::info!("registered an ACME account at {directory}");
                account
            }
        };
        self.account = Some(account.clone());
        Ok(account)
    }

    /// Serves `issued` from the next handshake on.
    fn install(&self, issued: &Issued) -> Result<ServedCertificate, AcmeError> {
        let (certified, not_after) = issued.load()?;
        let served = ServedCertificate {
            leaf: certified.cert[0].as_ref().to_vec(),
            not_after,
        };
        self.resolver.install(certified);
        Ok(served)
    }

    fn announce(&self, served: &ServedCertificate) {
        let renew_at = served.not_after.checked_sub(self.config.renew_before);
        tracing::info!(
            "obtained a certificate for {} (expires {}, renewal from {})",
            self.config.domains.join(", "),
            rfc3339(served.not_after),
            renew_at.map_or_else(|| "now".to_owned(), rfc3339)
        );
        if renew_at.is_none_or(|t| t <= SystemTime::now()) {
            tracing::warn!(
                "--acme-renew-before ({} days) is longer than the certificate's life: it is \
                 renewed every {} hours instead",
                self.config.renew_before.as_secs() / 86_400,
                self.config.min_renew_interval.as_secs() / 3600
            );
        }
    }
}

fn check_settings(config: &AcmeConfig) -> Result<(), AcmeError> {
    if config.domains.is_empty() {
        return Err(AcmeError::Domain {
            name: String::new(),
            why: "no name given".into(),
        });
    }
    for name in &config.domains {
        let bad = |why: &str| AcmeError::Domain {
            name: name.clone(),
            why: why.to_owned(),
        };
        if name.parse::<std::net::IpAddr>().is_ok() {
            return Err(bad("an IP address; give the DNS name that points at it"));
        }
        if name.contains("://") || name.contains('/') || name.contains(':') {
            return Err(bad("give the bare name, without scheme, port or path"));
        }
        rustls::pki_types::ServerName::try_from(name.as_str()).map_err(|e| bad(&e.to_string()))?;
    }
    if let Some(email) = &config.email {
        let valid = email.split_once('@').is_some_and(|(user, host)| {
            !user.is_empty() && host.contains('.') || host == "localhost"
        });
        if !valid || email.chars().any(|c| c.is_whitespace() || c == ',') {
            return Err(AcmeError::Email(email.clone()));
        }
    }
    Ok(())
}

fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}
