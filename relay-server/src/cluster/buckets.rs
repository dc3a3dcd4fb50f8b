//! Opening the cluster's key-value buckets (presence, tokens, byte counts).

use std::time::Duration;

use async_nats::jetstream::{Context, kv, stream};

/// How a bucket keeps its entries.
pub(crate) struct Bucket {
    pub name: &'static str,
    pub replicas: usize,
    /// Memory for what is rebuilt within seconds (presence), file otherwise.
    pub storage: stream::StorageType,
    /// Entries older than this vanish (`None`: kept).
    pub ttl: Option<Duration>,
}

impl Bucket {
    /// Opens the bucket, making its stream the way key-value buckets are
    /// made. (The client's own bucket creation first asks for account
    /// details in a shape newer than nats-server 2.9 answers.)
    pub(crate) async fn open(&self, js: &Context) -> Result<kv::Store, String> {
        if let Ok(store) = js.get_key_value(self.name).await {
            return Ok(store);
        }
        let mut config = stream::Config {
            name: format!("KV_{}", self.name),
            subjects: vec![format!("$KV.{}.>", self.name)],
            max_messages_per_subject: 1,
            storage: self.storage,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            num_replicas: self.replicas,
            discard: stream::DiscardPolicy::New,
            ..Default::default()
        };
        if let Some(ttl) = self.ttl {
            config.max_age = ttl;
            config.duplicate_window = ttl;
        }
        js.get_or_create_stream(config)
            .await
            .map_err(|e| e.to_string())?;
        js.get_key_value(self.name).await.map_err(|e| e.to_string())
    }
}
