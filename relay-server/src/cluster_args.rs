//! Flags of `hookline-relay` for running as one member of a relay cluster.

use std::path::PathBuf;

use hookline_relay::cluster::ClusterOptions;

#[derive(Debug, Clone, clap::Args)]
pub struct ClusterArgs {
    /// Run as one relay of a cluster sharing channel queues through NATS
    /// JetStream: nats://HOST:PORT, repeated or separated by commas. Every
    /// relay given the same NATS accepts every channel's webhooks; the data
    /// dir is then unused. Without it the relay keeps its own queue on disk.
    #[arg(
        long,
        env = "HOOKLINE_RELAY_CLUSTER",
        value_delimiter = ',',
        value_name = "NATS_URL"
    )]
    pub cluster: Vec<String>,
    /// Replicas of the JetStream stream: 1 for one NATS server, 3 for a
    /// 3-node NATS cluster (what production should run).
    #[arg(long, env = "HOOKLINE_RELAY_NATS_REPLICAS", default_value_t = 1,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=5))]
    pub nats_replicas: usize,
    /// NATS user, when the server requires one (with HOOKLINE_RELAY_NATS_PASSWORD).
    #[arg(long, env = "HOOKLINE_RELAY_NATS_USER", requires = "nats_password")]
    pub nats_user: Option<String>,
    /// NATS password; prefer the environment variable.
    #[arg(
        long,
        env = "HOOKLINE_RELAY_NATS_PASSWORD",
        hide_env_values = true,
        requires = "nats_user"
    )]
    pub nats_password: Option<String>,
    /// NATS token, when the server requires one; prefer the environment variable.
    #[arg(long, env = "HOOKLINE_RELAY_NATS_TOKEN", hide_env_values = true)]
    pub nats_token: Option<String>,
    /// PEM file of the CA that signed the NATS servers' certificates; makes
    /// the NATS connection require TLS.
    #[arg(long, env = "HOOKLINE_RELAY_NATS_CA")]
    pub nats_ca: Option<PathBuf>,
}

impl ClusterArgs {
    /// The cluster settings, or `None` for a single relay.
    pub fn options(&self) -> Option<ClusterOptions> {
        if self.cluster.is_empty() {
            return None;
        }
        let mut options = ClusterOptions::new(self.cluster.clone());
        options.replicas = self.nats_replicas;
        options.user_password = self.nats_user.clone().zip(self.nats_password.clone());
        options.token = self.nats_token.clone();
        options.ca_file = self.nats_ca.clone();
        Some(options)
    }
}
