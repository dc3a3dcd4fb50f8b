//! The keys that answer a question in the footer: the `/` filter prompt,
//! the delete confirmation, the stale-signature question after an edit, and
//! Esc backing out of whatever is open.

use tui_input::{Input, InputRequest};

use super::action::StaleAnswer;
use super::app::{App, Focus, Prompt};
use super::update::{Effect, reload};

pub(super) fn open_filter(app: &mut App) -> Vec<Effect> {
    app.prompt = Some(Prompt::Filter {
        input: app.filter.text.clone(),
        cursor: app.filter.text.chars().count(),
        error: None,
    });
    vec![]
}

pub(super) fn edit_filter(app: &mut App, request: InputRequest) -> Vec<Effect> {
    if let Some(Prompt::Filter {
        input,
        cursor,
        error,
    }) = &mut app.prompt
    {
        let mut field = Input::new(std::mem::take(input)).with_cursor(*cursor);
        field.handle(request);
        *cursor = field.cursor();
        *input = field.value().to_owned();
        *error = None;
    }
    vec![]
}

pub(super) fn submit_filter(app: &mut App) -> Vec<Effect> {
    let Some(Prompt::Filter { input, error, .. }) = &mut app.prompt else {
        return vec![];
    };
    match app.filter.set_text(input) {
        Ok(()) => {
            app.prompt = None;
            app.list.selected = 0;
            reload(app)
        }
        Err(message) => {
            *error = Some(message);
            vec![]
        }
    }
}

pub(super) fn back(app: &mut App) -> Vec<Effect> {
    if app.help || app.prompt.is_some() {
        app.help = false;
        app.prompt = None;
        return vec![];
    }
    if app.diff.take().is_some() {
        return vec![];
    }
    if app.focus == Focus::Detail {
        app.focus = Focus::List;
        return vec![];
    }
    if app.filter.is_active() {
        app.filter = Default::default();
        return reload(app);
    }
    vec![]
}

/// Replays the edited body re-signed or with its stale signature, or drops it.
pub(super) fn answer_stale(app: &mut App, answer: StaleAnswer) -> Vec<Effect> {
    let Some(Prompt::StaleSignature { id, body, .. }) = app.prompt.take() else {
        return vec![];
    };
    let resign = match answer {
        StaleAnswer::Resign => true,
        StaleAnswer::SendStale => false,
        StaleAnswer::Cancel => {
            app.say("edit dropped: nothing replayed");
            return vec![];
        }
    };
    app.replaying.insert(id);
    app.say(format!(
        "replaying {id} with the edited body ({} bytes){}…",
        body.len(),
        if resign {
            ", re-signed"
        } else {
            ", old signature"
        }
    ));
    vec![Effect::Replay {
        id,
        resign,
        body: Some(body),
    }]
}

pub(super) fn confirm_delete(app: &mut App, yes: bool) -> Vec<Effect> {
    let Some(Prompt::ConfirmDelete { id }) = app.prompt.take() else {
        return vec![];
    };
    if yes {
        app.say(format!("deleting {id}…"));
        return vec![Effect::Delete(id)];
    }
    app.say("kept");
    vec![]
}
