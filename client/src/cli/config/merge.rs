//! Folding a config file into `listen`'s arguments: a flag or its
//! environment variable wins, the file comes next, the built-in default last.

use std::path::Path;

use super::file::{ConfigFile, RouteFile};
use super::{FOUND_NAME, Loaded, load};
use crate::cli::listen::ListenArgs;
use crate::listen::Route;
use crate::store::Glob;

impl ListenArgs {
    /// Reads the config file (`--config`, else `hookline.toml` in `cwd`
    /// unless `--no-config`) and fills every setting not given by a flag or
    /// the environment. Returns the line to print about the file, if one was read.
    pub fn apply_config(&mut self, cwd: &Path) -> anyhow::Result<Option<String>> {
        let loaded = match (&self.config, self.no_config) {
            (Some(path), _) => load(path, true)?,
            (None, false) if cwd.join(FOUND_NAME).is_file() => load(&cwd.join(FOUND_NAME), false)?,
            (None, _) => return Ok(None),
        };
        let Loaded { path, named, file } = loaded;
        self.fill(file);
        let how = if named {
            "named with --config"
        } else {
            "found in the current directory; --no-config ignores it"
        };
        Ok(Some(format!("settings from {} ({how})", path.display())))
    }

    /// Whether the user gave `id` on the command line or in the environment.
    fn given(&self, id: &str) -> bool {
        self.given.contains(id)
    }

    fn fill(&mut self, file: ConfigFile) {
        macro_rules! take {
            ($id:literal, $slot:expr, $value:expr) => {
                if !self.given($id) {
                    if let Some(value) = $value {
                        $slot = value;
                    }
                }
            };
        }
        take!("forward", self.forward, file.forward.map(|v| Some(v.0)));
        take!(
            "relay",
            self.relay,
            file.relay.map(|v| v
                .into_inner()
                .0
                .split(',')
                .map(|u| u.trim().to_owned())
                .filter(|u| !u.is_empty())
                .collect())
        );
        take!(
            "relay_ca",
            self.relay_ca,
            file.relay_ca.map(|v| Some(v.into_inner().0))
        );
        take!(
            "token",
            self.token,
            file.token.map(|v| Some(v.into_inner().0))
        );
        take!(
            "channel",
            self.channel,
            file.channel.map(|v| Some(v.into_inner().0))
        );
        take!("listen", self.listen, file.listen.map(|v| v.0));
        take!("max_body", self.max_body, file.max_body.map(|v| v.0.0));
        take!(
            "secrets",
            self.secrets,
            file.secret.map(|v| v.0.into_iter().map(|s| s.0).collect())
        );
        take!("scheme", self.scheme.scheme, file.scheme.map(|v| v.0));
        take!(
            "hmac_header",
            self.scheme.hmac_header,
            file.hmac_header.map(|v| Some(v.0))
        );
        take!(
            "hmac_digest",
            self.scheme.hmac_digest,
            file.hmac_digest.map(|v| Some(v.0))
        );
        take!(
            "hmac_encoding",
            self.scheme.hmac_encoding,
            file.hmac_encoding.map(|v| Some(v.0))
        );
        take!(
            "hmac_prefix",
            self.scheme.hmac_prefix,
            file.hmac_prefix.map(|v| Some(v.0))
        );
        take!(
            "events",
            self.events,
            file.events
                .map(|v| Some(join_globs(v.0.into_iter().map(|g| g.0.0))))
        );
        take!("reject_invalid", self.reject_invalid, file.reject_invalid);
        take!("output", self.output, file.output.map(|v| v.0.0));
        take!("timeout", self.timeout, file.timeout.map(|v| v.0.0));
        take!("retries", self.retries, file.retries);
        take!(
            "retry_delay",
            self.retry_delay,
            file.retry_delay.map(|v| v.0.0)
        );
        take!("max_in_flight", self.max_in_flight, file.max_in_flight);
        take!("keep", self.keep, file.keep);
        take!("max_age", self.max_age, file.max_age.map(|v| v.0.0));
        take!("tui", self.tui, file.tui);
        take!("respond", self.respond, file.respond.map(|v| v.0));
        take!(
            "forward_ca",
            self.forward_tls.forward_ca,
            file.forward_ca.map(|v| Some(v.0))
        );
        take!(
            "forward_insecure",
            self.forward_tls.forward_insecure,
            file.forward_insecure
        );
        take!(
            "data_dir",
            self.store.data_dir,
            file.data_dir.map(|v| Some(v.0))
        );
        self.routes = file.route.into_iter().map(route).collect();
    }

    /// The routes deliveries take: the file's, in order, then `--forward`'s
    /// implicit one (filtered by `--events`) when given.
    pub fn all_routes(&self) -> Vec<Route> {
        let mut routes = self.routes.clone();
        if let Some(target) = &self.forward {
            routes.push(Route::implicit(
                target.clone(),
                self.events.as_deref().map(Glob::new),
            ));
        }
        routes
    }
}

fn join_globs(globs: impl Iterator<Item = String>) -> String {
    globs.collect::<Vec<_>>().join(",")
}

fn route(file: RouteFile) -> Route {
    Route {
        name: file.name.into_inner(),
        events: file
            .events
            .map(|v| Glob::new(join_globs(v.0.into_iter().map(|g| g.0.0)))),
        path: file.path.map(|p| p.0.0),
        targets: file
            .forward
            .into_inner()
            .0
            .into_iter()
            .map(|t| t.0)
            .collect(),
        respond: file.respond.map(|r| r.0),
    }
}
