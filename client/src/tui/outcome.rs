//! What the developer is told when a replay, an edit, a delete or a copy
//! finishes. The rows themselves refresh through store events.

use super::action::Loaded;
use super::app::{App, Prompt};
use super::update::Effect;
use crate::model::{Attempt, Outcome};
use crate::replay::stale_signature;

pub(super) fn apply(app: &mut App, loaded: Loaded) -> Vec<Effect> {
    match loaded {
        Loaded::Replayed { id, result, diff } => {
            app.replaying.remove(&id);
            match result {
                Ok(attempt) => app.say(format!("replayed {id}: {}", describe(&attempt))),
                Err(e) => app.complain(format!("replay of {id} failed: {e}")),
            }
            if diff.is_some() {
                app.diff = diff;
                app.diff_scroll = 0;
            }
            vec![]
        }
        Loaded::Edited { id, result } => match result {
            Ok(Some(body)) => {
                let stale = app
                    .detail
                    .stored
                    .as_deref()
                    .filter(|stored| stored.delivery.id == id)
                    .and_then(|stored| {
                        stale_signature(&stored.delivery.headers, &stored.delivery.body, &body)
                    });
                if let Some(scheme) = stale {
                    // Asked before sending: the old signature would reach the app over the new body.
                    app.prompt = Some(Prompt::StaleSignature {
                        id,
                        body,
                        scheme: scheme.name().to_owned(),
                    });
                    return vec![];
                }
                app.replaying.insert(id);
                app.say(format!(
                    "replaying {id} with the edited body ({} bytes)…",
                    body.len()
                ));
                vec![Effect::Replay {
                    id,
                    resign: false,
                    body: Some(body),
                }]
            }
            Ok(None) => {
                app.say("body unchanged: nothing replayed");
                vec![]
            }
            Err(e) => {
                app.complain(format!("editor: {e}"));
                vec![]
            }
        },
        Loaded::Deleted { id, result } => {
            match result {
                Ok(true) => app.say(format!("deleted {id}")),
                Ok(false) => app.say(format!("{id} was already gone")),
                Err(e) => app.complain(format!("cannot delete {id}: {e}")),
            }
            vec![]
        }
        Loaded::Copied(result) => {
            match result {
                Ok(what) => app.say(what),
                Err(e) => app.complain(format!("copy failed: {e}")),
            }
            vec![]
        }
        _ => vec![],
    }
}

/// `201 in 12 ms`, or the error in words.
pub fn describe(attempt: &Attempt) -> String {
    let ms = attempt.duration_us / 1000;
    match &attempt.outcome {
        Outcome::Response { status, .. } => format!("{status} in {ms} ms"),
        Outcome::Error { message } => format!("no answer after {ms} ms: {message}"),
    }
}
