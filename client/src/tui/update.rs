//! `update`: the one function that changes the [`App`]. It does no I/O; what
//! must happen outside (load, replay, delete, copy) comes back as [`Effect`]s.

use hookline_protocol::DeliveryId;

use super::action::{Action, Place};
use super::app::{App, Focus, Prompt, Tab};
use super::prompt;
use super::window::PAGE;
use crate::store::{Filter, ListQuery, MAX_PAGE};

/// Work for the runner; its result returns as [`Action::Loaded`].
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    LoadPage {
        generation: u64,
        query: ListQuery,
        place: Place,
    },
    /// Find the chunk just newer than `start` when no cursor for it is kept.
    LoadAbove {
        generation: u64,
        filter: Filter,
        start: DeliveryId,
    },
    /// Find the oldest page (`G`).
    LoadTail {
        generation: u64,
        filter: Filter,
    },
    LoadSummary(DeliveryId),
    LoadDetail(DeliveryId),
    LoadCounts,
    LoadGaps,
    /// The user read the gaps banner at this time (Unix ms).
    DismissGaps(u64),
    Replay {
        id: DeliveryId,
        resign: bool,
        body: Option<Vec<u8>>,
    },
    /// Suspend the screen and edit this body in `$EDITOR`.
    Edit {
        id: DeliveryId,
        body: Vec<u8>,
    },
    Delete(DeliveryId),
    CopyCurl(DeliveryId),
    CopyBody(DeliveryId),
    /// Clear the terminal so the next draw paints every cell.
    Repaint,
}

/// Applies `action` and says what the runner must do.
pub fn update(app: &mut App, action: Action) -> Vec<Effect> {
    match action {
        Action::Up => move_selection(app, -1),
        Action::Down => move_selection(app, 1),
        Action::PageUp => move_selection(app, -(page_step(app) as isize)),
        Action::PageDown => move_selection(app, page_step(app) as isize),
        Action::First => first(app),
        Action::Last => last(app),
        Action::SwitchFocus => switch_focus(app),
        Action::NextTab => show_tab(app, app.tab.step(1)),
        Action::PrevTab => show_tab(app, app.tab.step(-1)),
        Action::ShowTab(i) => show_tab(app, Tab::ALL.get(i).copied().unwrap_or(app.tab)),
        Action::Replay { resign } => replay(app, resign),
        Action::EditBody => edit(app),
        Action::OpenFilter => prompt::open_filter(app),
        Action::DismissGaps if !app.gaps.is_empty() => {
            app.gaps.clear();
            vec![Effect::DismissGaps(app.now_ms)]
        }
        Action::ToggleFailed => {
            app.filter.failed_only = !app.filter.failed_only;
            reload(app)
        }
        Action::CopyCurl => with_selected(app, Effect::CopyCurl),
        Action::CopyBody => with_selected(app, Effect::CopyBody),
        Action::AskDelete => {
            app.prompt = app
                .list
                .selected_id()
                .map(|id| Prompt::ConfirmDelete { id });
            vec![]
        }
        Action::ToggleHelp => {
            app.help = !app.help;
            vec![]
        }
        Action::Back => prompt::back(app),
        Action::Quit => {
            app.quit = true;
            vec![]
        }
        Action::Repaint => vec![Effect::Repaint],
        Action::EditFilter(request) => prompt::edit_filter(app, request),
        Action::Submit => prompt::submit_filter(app),
        Action::Confirm(yes) => prompt::confirm_delete(app, yes),
        Action::AnswerStale(answer) => prompt::answer_stale(app, answer),
        Action::Resize(w, h) => {
            app.size = (w, h);
            app.list.scroll_into_view(app.list_height());
            vec![]
        }
        other => super::news::apply(app, other),
    }
}

fn page_step(app: &App) -> usize {
    app.list_height().saturating_sub(1).max(1)
}

/// Moves the selection (or scrolls the detail when it has the focus), asks
/// for the neighbouring page near either end, and loads the new detail.
fn move_selection(app: &mut App, delta: isize) -> Vec<Effect> {
    if app.diff.is_some() {
        app.diff_scroll = app
            .diff_scroll
            .saturating_add_signed(delta.clamp(-100, 100) as i16);
        return vec![];
    }
    if app.focus == Focus::Detail {
        app.detail.scroll = app
            .detail
            .scroll
            .saturating_add_signed(delta.clamp(-100, 100) as i16);
        return vec![];
    }
    let before = app.list.selected_id();
    app.list.move_by(delta);
    app.list.scroll_into_view(app.list_height());
    let mut effects = page_around(app);
    effects.extend(detail_if_moved(app, before));
    effects
}

/// The page below or above when the selection nears the window's edge.
pub(super) fn page_around(app: &mut App) -> Vec<Effect> {
    let filter = app.filter.filter();
    if app.list.wants_below() {
        app.list.loading = true;
        let query = ListQuery {
            filter,
            before: app.list.next,
            limit: PAGE,
        };
        return vec![Effect::LoadPage {
            generation: app.generation,
            query,
            place: Place::Below,
        }];
    }
    if app.list.wants_above() {
        app.list.loading = true;
        let generation = app.generation;
        let Some(start) = app.list.above.pop() else {
            let start = app.list.start.unwrap_or(DeliveryId::from_parts(0, 0));
            return vec![Effect::LoadAbove {
                generation,
                filter,
                start,
            }];
        };
        let query = ListQuery {
            filter,
            before: start,
            limit: MAX_PAGE,
        };
        return vec![Effect::LoadPage {
            generation,
            query,
            place: Place::Above { start },
        }];
    }
    vec![]
}

/// Loads the selected delivery when the selection changed.
pub(super) fn detail_if_moved(app: &mut App, before: Option<DeliveryId>) -> Vec<Effect> {
    let now = app.list.selected_id();
    if now == before && (now.is_none() || app.detail.id == now) {
        return vec![];
    }
    app.detail.id = now;
    app.detail.scroll = 0;
    app.detail.error = None;
    now.map(Effect::LoadDetail).into_iter().collect()
}

fn first(app: &mut App) -> Vec<Effect> {
    app.focus = Focus::List;
    if app.list.at_head() {
        let before = app.list.selected_id();
        app.list.selected = 0;
        app.list.offset = 0;
        return detail_if_moved(app, before);
    }
    app.list.selected = 0;
    reload(app)
}

fn last(app: &mut App) -> Vec<Effect> {
    app.focus = Focus::List;
    if app.list.next.is_none() {
        let before = app.list.selected_id();
        app.list.move_by(isize::MAX);
        app.list.scroll_into_view(app.list_height());
        let mut effects = page_around(app);
        effects.extend(detail_if_moved(app, before));
        return effects;
    }
    app.generation += 1;
    app.list.loading = true;
    vec![Effect::LoadTail {
        generation: app.generation,
        filter: app.filter.filter(),
    }]
}

/// Starts the list over from the newest delivery under the current filter.
pub(super) fn reload(app: &mut App) -> Vec<Effect> {
    app.generation += 1;
    app.list.loading = true;
    let keep = app.list.selected_id().filter(|_| app.list.selected > 0);
    let query = ListQuery {
        filter: app.filter.filter(),
        before: None,
        limit: PAGE,
    };
    vec![Effect::LoadPage {
        generation: app.generation,
        query,
        place: Place::Replace { keep },
    }]
}

fn switch_focus(app: &mut App) -> Vec<Effect> {
    app.focus = match app.focus {
        Focus::List if app.list.selected_row().is_some() => Focus::Detail,
        _ => Focus::List,
    };
    vec![]
}

fn show_tab(app: &mut App, tab: Tab) -> Vec<Effect> {
    app.tab = tab;
    app.detail.scroll = 0;
    vec![]
}

fn with_selected(app: &mut App, effect: impl FnOnce(DeliveryId) -> Effect) -> Vec<Effect> {
    match app.list.selected_id() {
        Some(id) => vec![effect(id)],
        None => {
            app.complain("no delivery selected");
            vec![]
        }
    }
}

fn replay(app: &mut App, resign: bool) -> Vec<Effect> {
    let Some(id) = app.list.selected_id() else {
        app.complain("no delivery selected");
        return vec![];
    };
    if resign && !app.header.can_resign {
        app.complain("R re-signs with your secret: none is configured (--secret)");
        return vec![];
    }
    app.replaying.insert(id);
    app.say(format!(
        "replaying {id}{}…",
        if resign { " re-signed" } else { "" }
    ));
    vec![Effect::Replay {
        id,
        resign,
        body: None,
    }]
}

fn edit(app: &mut App) -> Vec<Effect> {
    match app.selected_stored() {
        Some(stored) => {
            let (id, body) = (stored.delivery.id, stored.delivery.body.clone());
            vec![Effect::Edit {
                id,
                body: body.to_vec(),
            }]
        }
        None => {
            app.complain("the delivery is still loading");
            vec![]
        }
    }
}
