//! Carrying out [`Effect`]s: store reads, replays and deletes run as tasks
//! whose results come back as events; copying and editing need the screen
//! and run in the loop.

use std::path::PathBuf;
use std::sync::Arc;

use hookline_protocol::DeliveryId;

use super::action::{Action, Loaded, Place};
use super::app::ReplayDiff;
use super::clipboard;
use super::event::{Event, Sender};
use super::terminal::Screen;
use super::update::Effect;
use crate::control::StoreAccess;
use crate::forward::ForwardTarget;
use crate::model::StoredDelivery;
use crate::replay::{ReplayOptions, Replayer};

/// What effects need from the outside world.
#[derive(Debug, Clone)]
pub struct Runner {
    pub access: Arc<StoreAccess>,
    /// `None` when there is nowhere to replay to (no forward target known).
    pub replayer: Option<Replayer>,
    pub target: Option<ForwardTarget>,
    /// Where copies and edited bodies are written.
    pub dir: PathBuf,
    pub events: Sender,
}

impl Runner {
    pub async fn run(&self, effect: Effect, screen: &mut dyn Screen) {
        match effect {
            Effect::Edit { id, body } => {
                let result = self.edit(id, &body, screen).await;
                self.send(Loaded::Edited { id, result });
            }
            Effect::CopyCurl(id) => self.copy_curl(id, screen).await,
            // A terminal that cannot clear fails the draw that follows,
            // which ends the loop with that error.
            Effect::Repaint => drop(screen.repaint()),
            Effect::CopyBody(id) => {
                let result = match self.access.get(id).await {
                    Ok(Some(stored)) => {
                        clipboard::copy(screen, "body", &stored.delivery.body, &self.dir)
                    }
                    Ok(None) => Err(format!("{id} is no longer stored")),
                    Err(e) => Err(e.to_string()),
                };
                self.send(Loaded::Copied(result));
            }
            other => self.spawn(other),
        }
    }

    fn send(&self, loaded: Loaded) {
        // The loop has gone only when quitting; nothing is left to tell.
        let _ = self.events.send(Event::Action(Action::Loaded(loaded)));
    }

    /// Runs a store or network effect as a task that reports back.
    fn spawn(&self, effect: Effect) {
        let this = self.clone();
        tokio::spawn(async move {
            if let Some(loaded) = this.background(effect).await {
                this.send(loaded);
            }
        });
    }

    async fn background(&self, effect: Effect) -> Option<Loaded> {
        let text = |e: crate::store::StoreError| e.to_string();
        Some(match effect {
            Effect::LoadPage {
                generation,
                query,
                place,
            } => {
                let result = self.access.page(&query).await.map_err(text);
                Loaded::Page {
                    generation,
                    place,
                    result,
                }
            }
            Effect::LoadTail { generation, filter } => Loaded::Tail {
                generation,
                result: self.tail(filter).await,
            },
            Effect::LoadAbove {
                generation,
                filter,
                start,
            } => match self.above(filter, start).await {
                Ok((start, page)) => Loaded::Page {
                    generation,
                    place: Place::Above { start },
                    result: Ok(page),
                },
                Err(e) => Loaded::Page {
                    generation,
                    place: Place::Above { start: Some(start) },
                    result: Err(e),
                },
            },
            Effect::LoadSummary(id) => Loaded::Summary {
                id,
                result: self.access.summary(id).await.map_err(text),
            },
            Effect::LoadDetail(id) => Loaded::Detail {
                id,
                result: self
                    .access
                    .get(id)
                    .await
                    .map(|s| s.map(Box::new))
                    .map_err(text),
            },
            Effect::LoadCounts => Loaded::Counts(self.access.counts().await.map_err(text)),
            Effect::LoadGaps => Loaded::Gaps(self.access.open_gaps().await.map_err(text)),
            Effect::DismissGaps(at_ms) => match self.access.dismiss_gaps(at_ms).await {
                Ok(_) => Loaded::Gaps(Ok(Vec::new())),
                Err(e) => Loaded::Gaps(Err(text(e))),
            },
            Effect::Replay { id, resign, body } => {
                let (result, diff) = self.replay(id, resign, body).await;
                Loaded::Replayed { id, result, diff }
            }
            Effect::Delete(id) => {
                let result = self.access.delete(id).await;
                let flushed = match result {
                    Ok(deleted) => self.access.flush().await.map(|()| deleted),
                    Err(e) => Err(e),
                };
                Loaded::Deleted {
                    id,
                    result: flushed.map_err(text),
                }
            }
            // Handled in `run`, where the screen is.
            Effect::Edit { .. } | Effect::CopyCurl(_) | Effect::CopyBody(_) | Effect::Repaint => {
                return None;
            }
        })
    }

    /// Replays `id`; an edited one also comes back compared with the original.
    async fn replay(
        &self,
        id: DeliveryId,
        resign: bool,
        body: Option<Vec<u8>>,
    ) -> (
        Result<crate::model::Attempt, String>,
        Option<Box<ReplayDiff>>,
    ) {
        let Some(replayer) = self.replayer.as_ref() else {
            return (
                Err("no forward target: start with --forward URL".into()),
                None,
            );
        };
        let edited = body.is_some();
        // The original as it was before this replay added an attempt.
        let original = match edited {
            true => self.access.get(id).await.ok().flatten(),
            false => None,
        };
        let options = ReplayOptions {
            to: None,
            resign,
            body,
            ..ReplayOptions::default()
        };
        match replayer.replay(id, &options).await {
            Ok(replayed) => {
                let diff = original.map(|stored| {
                    Box::new(ReplayDiff {
                        id,
                        request: crate::diff::lines(
                            &crate::diff::request_text(
                                &stored.delivery.headers,
                                &stored.delivery.body,
                            ),
                            &crate::diff::request_text(
                                &replayed.request.headers,
                                &replayed.request.body,
                            ),
                        ),
                        before: stored.attempts.last().map(|a| a.outcome.clone()),
                        after: replayed.attempt.outcome.clone(),
                    })
                });
                (Ok(replayed.attempt), diff)
            }
            Err(e) => (Err(e.to_string()), None),
        }
    }

    async fn copy_curl(&self, id: DeliveryId, screen: &mut dyn Screen) {
        let result = match (self.access.get(id).await, &self.target) {
            (Ok(Some(stored)), Some(target)) => curl(&stored, target),
            (Ok(Some(_)), None) => {
                Err("no forward target to point curl at: start with --forward URL".to_owned())
            }
            (Ok(None), _) => Err(format!("{id} is no longer stored")),
            (Err(e), _) => Err(e.to_string()),
        };
        let result = result.and_then(|command| {
            clipboard::copy(screen, "curl command", command.as_bytes(), &self.dir)
        });
        self.send(Loaded::Copied(result));
    }
}

/// The export's curl command for one delivery, aimed at the forward target.
fn curl(stored: &StoredDelivery, target: &ForwardTarget) -> Result<String, String> {
    let mut out = Vec::new();
    crate::export::curl::command(&mut out, stored, Some(&target.to_string()))
        .map_err(|e| e.to_string())?;
    String::from_utf8(out).map_err(|e| e.to_string())
}
