//! The half of `update` that takes news instead of keys: store and
//! connection events, ticks, and the results of effects.

use super::action::{Action, Loaded, Place};
use super::app::{App, Link};
use super::update::{Effect, detail_if_moved, page_around, reload};
use crate::store::StoreEvent;

/// How often the gaps banner is refreshed: gaps are rare and come with no
/// store event, so a slow poll is enough.
const GAPS_EVERY_MS: u64 = 2_000;

/// Counts are refreshed at most once per tick, however many events arrive.
pub(super) fn apply(app: &mut App, action: Action) -> Vec<Effect> {
    match action {
        Action::Tick(now_ms) => tick(app, now_ms),
        Action::Store(event) => store_event(app, event),
        Action::Connection(state) => {
            if let Link::Listening { state: shown, .. } = &mut app.header.link {
                *shown = state;
                app.header.state_since_ms = app.now_ms;
            }
            vec![]
        }
        Action::Loaded(loaded) => loaded_result(app, loaded),
        _ => vec![],
    }
}

fn tick(app: &mut App, now_ms: u64) -> Vec<Effect> {
    app.now_ms = now_ms;
    if app.status.as_ref().is_some_and(|s| s.until_ms <= now_ms) {
        app.status = None;
    }
    let mut effects = Vec::new();
    if std::mem::take(&mut app.counts_dirty) {
        effects.push(Effect::LoadCounts);
    }
    if now_ms.saturating_sub(app.gaps_checked_ms) >= GAPS_EVERY_MS {
        app.gaps_checked_ms = now_ms;
        effects.push(Effect::LoadGaps);
    }
    effects
}

fn store_event(app: &mut App, event: StoreEvent) -> Vec<Effect> {
    app.counts_dirty = true;
    match event {
        StoreEvent::Inserted(id) if app.list.at_head() => vec![Effect::LoadSummary(id)],
        StoreEvent::Inserted(_) => vec![],
        StoreEvent::Attempted(id) => {
            let mut effects = Vec::new();
            if app.list.position(id).is_some() {
                effects.push(Effect::LoadSummary(id));
            }
            if app.detail.id == Some(id) {
                effects.push(Effect::LoadDetail(id));
            }
            effects
        }
        StoreEvent::Deleted(id) => {
            let before = app.list.selected_id();
            app.list.remove(id);
            detail_if_moved(app, before)
        }
        StoreEvent::Lagged(_) => reload(app),
    }
}

fn loaded_result(app: &mut App, loaded: Loaded) -> Vec<Effect> {
    match loaded {
        Loaded::Page {
            generation,
            place,
            result,
        } => page(app, generation, place, result),
        Loaded::Tail { generation, result } => {
            if generation != app.generation {
                return vec![];
            }
            let before = app.list.selected_id();
            match result {
                Ok(mut window) => {
                    window.selected = window.rows.len().saturating_sub(1);
                    window.scroll_into_view(app.list_height());
                    app.list = window;
                }
                Err(e) => fail_page(app, e),
            }
            detail_if_moved(app, before)
        }
        Loaded::Summary { id, result } => summary(app, id, result),
        Loaded::Detail { id, result } => {
            if app.detail.id == Some(id) {
                match result {
                    Ok(Some(stored)) => app.detail.show(stored),
                    Ok(None) => app.detail.error = Some(format!("{id} is no longer stored")),
                    Err(e) => app.detail.error = Some(e),
                }
            }
            vec![]
        }
        Loaded::Gaps(result) => {
            match result {
                Ok(gaps) => app.gaps = gaps,
                Err(e) => app.complain(format!("gaps: {e}")),
            }
            vec![]
        }
        Loaded::Counts(result) => {
            match result {
                Ok(counts) => app.counts = Some(counts),
                Err(e) => app.complain(format!("counts: {e}")),
            }
            vec![]
        }
        other => super::outcome::apply(app, other),
    }
}

fn page(
    app: &mut App,
    generation: u64,
    place: Place,
    result: Result<crate::store::Page, String>,
) -> Vec<Effect> {
    if generation != app.generation {
        return vec![];
    }
    let before = app.list.selected_id();
    let page = match result {
        Ok(page) => page,
        Err(e) => {
            fail_page(app, e);
            return vec![];
        }
    };
    match place {
        Place::Replace { keep } => app.list.replace(None, Vec::new(), page, keep),
        Place::Below => app.list.append(page),
        Place::Above { start } => app.list.prepend(start, page),
    }
    app.list.scroll_into_view(app.list_height());
    let mut effects = page_around(app);
    effects.extend(detail_if_moved(app, before));
    effects
}

fn fail_page(app: &mut App, error: String) {
    app.list.loading = false;
    app.complain(format!("cannot read the store: {error}"));
}

fn summary(
    app: &mut App,
    id: hookline_protocol::DeliveryId,
    result: Result<Option<crate::store::Summary>, String>,
) -> Vec<Effect> {
    let before = app.list.selected_id();
    match result {
        Ok(Some(summary)) if app.filter.filter().matches(&summary) => app.list.upsert(summary),
        Ok(Some(_)) => {
            app.list.remove(id); // changed and no longer matches (e.g. fixed while `f` is on)
        }
        Ok(None) => {
            app.list.remove(id);
        }
        Err(e) => app.complain(format!("cannot read {id}: {e}")),
    }
    app.list.scroll_into_view(app.list_height());
    detail_if_moved(app, before)
}
