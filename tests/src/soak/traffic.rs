//! The senders: one slot per delivery, started at a steady rate. A slot POSTs
//! a body carrying a fresh soak id until the relay accepts one (2xx), as a
//! webhook provider retries a failed delivery: each retry is a new POST with
//! a new id, so a retry is never mistaken for a double store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::sender::{HttpClient, http_client, try_send};

/// POSTs a slot makes before giving up on the relay.
const MAX_ATTEMPTS: u32 = 100;
/// Longest wait for one answer (the relay's own response timeout is shorter).
const ANSWER_WAIT: Duration = Duration::from_secs(20);
/// Slots with a POST in flight at once.
const IN_FLIGHT: usize = 64;

/// How the relay answered one POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// 2xx: the relay took responsibility for the delivery.
    Accepted(u16),
    /// Any other status (the app's 500, a 502 while it is down, a 504).
    Refused(u16),
    /// Refused connection, cut connection or no answer in time.
    NoAnswer,
}

/// One POST and its answer.
#[derive(Debug, Clone)]
pub struct Posted {
    pub id: String,
    pub answer: Answer,
}

/// Everything the senders did.
#[derive(Debug, Default)]
pub struct Sending {
    pub posts: Vec<Posted>,
    /// Slots that used up their attempts without an accepted POST.
    pub gave_up: usize,
    pub took: Duration,
}

/// The soak id in a body the senders wrote.
pub fn soak_id(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("soak_id")?.as_str().map(str::to_owned)
}

fn body(id: &str) -> Vec<u8> {
    serde_json::json!({ "type": "soak.delivery", "soak_id": id })
        .to_string()
        .into_bytes()
}

/// Sends `deliveries` deliveries, starting `rate` a second, to the relays'
/// channel `urls` in turn (a retry goes to the next, as behind a load balancer).
pub async fn run(urls: &[String], deliveries: usize, rate: f64) -> Sending {
    let started = Instant::now();
    let client = http_client();
    let gate = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut slots = tokio::task::JoinSet::new();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    for slot in 0..deliveries {
        tick.tick().await;
        let Ok(permit) = Arc::clone(&gate).acquire_owned().await else {
            break;
        };
        let (client, urls) = (client.clone(), urls.to_vec());
        slots.spawn(async move {
            let posts = deliver(&client, &urls, slot).await;
            drop(permit);
            posts
        });
    }
    let mut sending = Sending::default();
    while let Some(done) = slots.join_next().await {
        let posts = done.unwrap_or_default();
        if !posts
            .last()
            .is_some_and(|p| matches!(p.answer, Answer::Accepted(_)))
        {
            sending.gave_up += 1;
        }
        sending.posts.extend(posts);
    }
    sending.took = started.elapsed();
    sending
}

/// POSTs for one slot until one is accepted or the attempts run out.
async fn deliver(client: &HttpClient, urls: &[String], slot: usize) -> Vec<Posted> {
    let mut posts = Vec::new();
    for attempt in 0..MAX_ATTEMPTS {
        let id = format!("{slot}.{attempt}");
        let url = &urls[(slot + attempt as usize) % urls.len()];
        let headers: [(&str, &[u8]); 1] = [("content-type", b"application/json")];
        let sent = tokio::time::timeout(
            ANSWER_WAIT,
            try_send(client, "POST", url, &headers, body(&id)),
        )
        .await;
        let answer = match sent {
            Ok(Ok(sent)) if (200..300).contains(&sent.status) => Answer::Accepted(sent.status),
            Ok(Ok(sent)) => Answer::Refused(sent.status),
            Ok(Err(_)) | Err(_) => Answer::NoAnswer,
        };
        posts.push(Posted { id, answer });
        if matches!(answer, Answer::Accepted(_)) {
            break;
        }
        // A provider backs off too; short here, since outages are short.
        tokio::time::sleep(Duration::from_millis(100) * (attempt + 1).min(10)).await;
    }
    posts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_survives_the_body() {
        assert_eq!(soak_id(&body("12.3")).as_deref(), Some("12.3"));
        assert_eq!(soak_id(b"{\"type\":\"x\"}"), None);
        assert_eq!(soak_id(b"not json"), None);
    }
}
