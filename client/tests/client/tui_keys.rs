//! Key handling as state changes: keys become actions, actions change the
//! model and name the effects, with no terminal and no I/O.

use crate::tui_support;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use hookline::model::StoredDelivery;
use hookline::store::{DeliveryStatus, Page, StoreEvent, Summary};
use hookline::tui::action::{Action, Loaded, Place, for_key};
use hookline::tui::app::{Focus, Prompt, Tab};
use hookline::tui::window::{MAX_ROWS, PAGE};
use hookline::tui::{App, Effect, update};
use tui_support::{app_with, id, load_detail, stored, summaries};

fn key(app: &App, code: KeyCode) -> Option<Action> {
    for_key(app, KeyEvent::new(code, KeyModifiers::NONE))
}

/// Presses `code` and returns the effects.
fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    match key(app, code) {
        Some(action) => update(app, action),
        None => vec![],
    }
}

#[test]
fn the_first_page_selects_the_newest_and_loads_its_detail() {
    let (app, effects) = app_with(summaries(5), None);
    assert_eq!(app.list.selected_id(), Some(id(5)));
    assert_eq!(effects, [Effect::LoadDetail(id(5))]);
    assert!(!app.list.loading);
}

#[test]
fn moving_down_and_up_stays_inside_the_list() {
    let (mut app, _) = app_with(summaries(3), None);
    assert_eq!(
        press(&mut app, KeyCode::Char('j')),
        [Effect::LoadDetail(id(2))]
    );
    press(&mut app, KeyCode::Down);
    assert_eq!(press(&mut app, KeyCode::Down), [], "already at the bottom");
    assert_eq!(app.list.selected_id(), Some(id(1)));
    press(&mut app, KeyCode::Char('k'));
    press(&mut app, KeyCode::Char('g'));
    assert_eq!(app.list.selected, 0);
    press(&mut app, KeyCode::Char('G'));
    assert_eq!(
        app.list.selected, 2,
        "G on a fully loaded list needs no load"
    );
}

#[test]
fn paging_down_fetches_the_next_page_before_the_rows_run_out() {
    let rows = summaries(PAGE as u64 + 50);
    let first_page: Vec<Summary> = rows[..PAGE].to_vec();
    let next = first_page.last().map(|s| s.id);
    let (mut app, _) = app_with(first_page, next);
    let mut asked = None;
    for _ in 0..40 {
        for effect in press(&mut app, KeyCode::PageDown) {
            if let Effect::LoadPage {
                query,
                place: Place::Below,
                ..
            } = effect
            {
                asked = Some(query);
            }
        }
    }
    let query = asked.expect("a page below was asked for");
    assert_eq!(query.before, next);
    assert!(app.list.loading);
    let page = Page {
        items: rows[PAGE..].to_vec(),
        next: None,
    };
    let generation = app.generation;
    update(
        &mut app,
        Action::Loaded(Loaded::Page {
            generation,
            place: Place::Below,
            result: Ok(page),
        }),
    );
    assert_eq!(app.list.rows.len(), PAGE + 50);
    assert!(!app.list.loading);
}

#[test]
fn the_window_never_holds_more_than_max_rows() {
    let all = summaries(3 * MAX_ROWS as u64);
    let (mut app, _) = app_with(all[..PAGE].to_vec(), Some(all[PAGE - 1].id));
    let mut loaded = PAGE;
    for _ in 0..2000 {
        for effect in press(&mut app, KeyCode::PageDown) {
            if let Effect::LoadPage {
                place: Place::Below,
                generation,
                ..
            } = effect
            {
                let items = all[loaded..(loaded + PAGE).min(all.len())].to_vec();
                loaded += items.len();
                let next = (loaded < all.len()).then(|| all[loaded - 1].id);
                update(
                    &mut app,
                    Action::Loaded(Loaded::Page {
                        generation,
                        place: Place::Below,
                        result: Ok(Page { items, next }),
                    }),
                );
            }
        }
        assert!(
            app.list.rows.len() <= MAX_ROWS + PAGE,
            "window grew to {}",
            app.list.rows.len()
        );
    }
    assert_eq!(
        app.list.selected_id(),
        all.last().map(|s| s.id),
        "reached the oldest"
    );
    assert!(
        !app.list.above.is_empty(),
        "chunks above were dropped and remembered"
    );
}

#[test]
fn tab_switches_pane_and_arrows_switch_tabs() {
    let (mut app, _) = app_with(summaries(2), None);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Focus::Detail);
    press(&mut app, KeyCode::Down);
    assert_eq!(
        app.detail.scroll, 1,
        "j scrolls the detail when it has focus"
    );
    assert_eq!(app.list.selected, 0);
    press(&mut app, KeyCode::Right);
    assert_eq!(app.tab, Tab::Response);
    press(&mut app, KeyCode::Char('4'));
    assert_eq!(app.tab, Tab::Signature);
    press(&mut app, KeyCode::Left);
    assert_eq!(app.tab, Tab::Attempts);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.focus, Focus::List);
}

#[test]
fn r_replays_the_selected_delivery_and_r_needs_a_secret() {
    let (mut app, _) = app_with(summaries(2), None);
    assert_eq!(
        press(&mut app, KeyCode::Char('r')),
        [Effect::Replay {
            id: id(2),
            resign: false,
            body: None
        }]
    );
    assert!(app.replaying.contains(&id(2)));
    assert_eq!(press(&mut app, KeyCode::Char('R')), []);
    assert!(
        app.status
            .as_ref()
            .is_some_and(|s| s.error && s.text.contains("--secret"))
    );
    app.header.can_resign = true;
    assert_eq!(
        press(&mut app, KeyCode::Char('R')),
        [Effect::Replay {
            id: id(2),
            resign: true,
            body: None
        }]
    );
    let attempt = tui_support::attempt(2, 201);
    update(
        &mut app,
        Action::Loaded(Loaded::Replayed {
            id: id(2),
            result: Ok(attempt),
            diff: None,
        }),
    );
    assert!(!app.replaying.contains(&id(2)));
    assert_eq!(
        app.status.as_ref().map(|s| s.text.as_str()),
        Some(format!("replayed {}: 201 in 12 ms", id(2)).as_str())
    );
}

/// Opens the editor on delivery 1 (`stored`) and hands back `edited` as saved.
fn edit_delivery(app: &mut App, record: StoredDelivery, edited: &[u8]) -> Vec<Effect> {
    let body = record.delivery.body.clone();
    load_detail(app, record);
    assert_eq!(
        press(app, KeyCode::Char('e')),
        [Effect::Edit {
            id: id(1),
            body: body.to_vec()
        }]
    );
    update(
        app,
        Action::Loaded(Loaded::Edited {
            id: id(1),
            result: Ok(Some(edited.to_vec())),
        }),
    )
}

#[test]
fn e_edits_the_loaded_body_and_an_unsigned_edit_is_replayed_at_once() {
    let (mut app, _) = app_with(summaries(1), None);
    assert_eq!(
        press(&mut app, KeyCode::Char('e')),
        [],
        "nothing to edit before the detail loads"
    );
    let mut record = stored(1, "email.opened", Some(200));
    record
        .delivery
        .headers
        .retain(|h| h.name != "x-webhook-signature");
    assert_eq!(
        edit_delivery(&mut app, record, b"{}"),
        [Effect::Replay {
            id: id(1),
            resign: false,
            body: Some(b"{}".to_vec())
        }]
    );
    assert_eq!(app.prompt, None);
}

#[test]
fn an_edited_signed_body_asks_before_sending_the_stale_signature() {
    let (mut app, _) = app_with(summaries(1), None);
    let effects = edit_delivery(&mut app, stored(1, "email.opened", Some(200)), b"{}");
    assert_eq!(effects, [], "nothing is sent before the answer");
    assert!(matches!(
        &app.prompt,
        Some(Prompt::StaleSignature { scheme, .. }) if scheme == "autosend"
    ));
    assert_eq!(
        press(&mut app, KeyCode::Char('y')),
        [],
        "no secret: re-signing is not offered"
    );
    assert_eq!(
        press(&mut app, KeyCode::Char('s')),
        [Effect::Replay {
            id: id(1),
            resign: false,
            body: Some(b"{}".to_vec())
        }]
    );
    assert_eq!(app.prompt, None);

    app.header.can_resign = true;
    edit_delivery(&mut app, stored(1, "email.opened", Some(200)), b"{}");
    assert_eq!(
        press(&mut app, KeyCode::Char('y')),
        [Effect::Replay {
            id: id(1),
            resign: true,
            body: Some(b"{}".to_vec())
        }]
    );

    edit_delivery(&mut app, stored(1, "email.opened", Some(200)), b"{}");
    assert_eq!(press(&mut app, KeyCode::Esc), []);
    assert_eq!(app.prompt, None);
    assert!(
        app.status
            .as_ref()
            .is_some_and(|s| s.text.contains("nothing replayed"))
    );
}

#[test]
fn the_filter_prompt_types_parses_and_reloads() {
    let (mut app, _) = app_with(summaries(3), None);
    press(&mut app, KeyCode::Char('/'));
    for c in "status:9xx".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    assert!(matches!(&app.prompt, Some(Prompt::Filter { input, .. }) if input == "status:9xx"));
    assert_eq!(
        press(&mut app, KeyCode::Char('q')),
        [],
        "q is typed, not quit"
    );
    assert!(!app.quit);
    press(&mut app, KeyCode::Backspace);
    assert_eq!(
        press(&mut app, KeyCode::Enter),
        [],
        "a bad filter stays in the prompt"
    );
    assert!(
        matches!(&app.prompt, Some(Prompt::Filter { error: Some(e), .. }) if e.contains("2xx"))
    );
    for _ in 0..3 {
        press(&mut app, KeyCode::Backspace);
    }
    "5xx"
        .chars()
        .for_each(|c| drop(press(&mut app, KeyCode::Char(c))));
    let effects = press(&mut app, KeyCode::Enter);
    let [
        Effect::LoadPage {
            query,
            place: Place::Replace { .. },
            generation,
        },
    ] = effects.as_slice()
    else {
        panic!("expected a reload, got {effects:?}");
    };
    assert_eq!(query.filter.status_class, Some(5));
    assert_eq!(*generation, app.generation);
    assert_eq!(app.prompt, None);
}

#[test]
fn f_toggles_failed_only_and_stale_pages_are_dropped() {
    let (mut app, _) = app_with(summaries(3), None);
    let old = app.generation;
    let effects = press(&mut app, KeyCode::Char('f'));
    assert!(
        matches!(&effects[..], [Effect::LoadPage { query, .. }] if query.filter.status == Some(DeliveryStatus::Failed))
    );
    let stale = Page {
        items: summaries(9),
        next: None,
    };
    update(
        &mut app,
        Action::Loaded(Loaded::Page {
            generation: old,
            place: Place::Replace { keep: None },
            result: Ok(stale),
        }),
    );
    assert_eq!(
        app.list.rows.len(),
        3,
        "an answer to the old filter is ignored"
    );
    press(&mut app, KeyCode::Esc);
    assert!(!app.filter.is_active(), "Esc clears the filter");
}

#[test]
fn d_asks_before_deleting() {
    let (mut app, _) = app_with(summaries(2), None);
    assert_eq!(press(&mut app, KeyCode::Char('d')), []);
    assert_eq!(app.prompt, Some(Prompt::ConfirmDelete { id: id(2) }));
    assert_eq!(press(&mut app, KeyCode::Char('n')), []);
    assert_eq!(app.prompt, None);
    press(&mut app, KeyCode::Char('d'));
    assert_eq!(press(&mut app, KeyCode::Char('y')), [Effect::Delete(id(2))]);
    let effects = update(&mut app, Action::Store(StoreEvent::Deleted(id(2))));
    assert_eq!(app.list.rows.len(), 1);
    assert_eq!(
        effects,
        [Effect::LoadDetail(id(1))],
        "the selection moves to the neighbour"
    );
}

#[test]
fn arrivals_appear_at_the_top_and_keep_the_selection() {
    let (mut app, _) = app_with(summaries(3), None);
    press(&mut app, KeyCode::Down);
    assert_eq!(
        update(&mut app, Action::Store(StoreEvent::Inserted(id(4)))),
        [Effect::LoadSummary(id(4))]
    );
    let fresh = Summary::of(&stored(4, "contact.created", None));
    update(
        &mut app,
        Action::Loaded(Loaded::Summary {
            id: id(4),
            result: Ok(Some(fresh)),
        }),
    );
    assert_eq!(app.list.rows[0].id, id(4));
    assert_eq!(
        app.list.selected_id(),
        Some(id(2)),
        "still on the row the developer chose"
    );
    assert_eq!(app.list.offset, 0, "the new row is in view at the top");
    assert_eq!(
        update(&mut app, Action::Tick(tui_support::T0 + 70_000)),
        [Effect::LoadCounts, Effect::LoadGaps],
        "counts refresh once per tick; gaps are polled every few seconds"
    );
    assert_eq!(update(&mut app, Action::Tick(tui_support::T0 + 70_250)), []);
}

#[test]
fn help_takes_any_key_and_q_or_ctrl_c_quit() {
    let (mut app, _) = app_with(summaries(1), None);
    press(&mut app, KeyCode::Char('?'));
    assert!(app.help);
    press(&mut app, KeyCode::Char('x'));
    assert!(!app.help);
    let ctrl_c = for_key(
        &app,
        KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
    );
    assert_eq!(ctrl_c, Some(Action::Quit));
    let ctrl_l = for_key(
        &app,
        KeyEvent::new(KeyCode::Char('l'), KeyModifiers::CONTROL),
    );
    assert_eq!(update(&mut app, ctrl_l.expect("ctrl-l")), [Effect::Repaint]);
    press(&mut app, KeyCode::Char('q'));
    assert!(app.quit);
}

/// What the store answers for a page of `all` (newest first).
fn serve(all: &[Summary], before: Option<hookline_protocol::DeliveryId>, limit: usize) -> Page {
    let below: Vec<Summary> = all
        .iter()
        .filter(|s| before.is_none_or(|b| s.id < b))
        .cloned()
        .collect();
    let next = (below.len() > limit).then(|| below[limit - 1].id);
    Page {
        items: below.into_iter().take(limit).collect(),
        next,
    }
}

#[test]
fn paging_back_up_refetches_dropped_chunks_without_gaps() {
    let all = summaries(3 * MAX_ROWS as u64);
    let (mut app, _) = app_with(serve(&all, None, PAGE).items, Some(all[PAGE - 1].id));
    let run = |app: &mut App, code: KeyCode| {
        let mut pending = press(app, code);
        while let Some(effect) = pending.pop() {
            if let Effect::LoadPage {
                generation,
                query,
                place,
            } = effect
            {
                let page = serve(&all, query.before, query.limit);
                pending.extend(update(
                    app,
                    Action::Loaded(Loaded::Page {
                        generation,
                        place,
                        result: Ok(page),
                    }),
                ));
            }
        }
    };
    for _ in 0..400 {
        run(&mut app, KeyCode::PageDown);
    }
    assert!(!app.list.above.is_empty());
    for _ in 0..400 {
        run(&mut app, KeyCode::PageUp);
    }
    assert_eq!(
        app.list.selected_id(),
        Some(all[0].id),
        "back at the newest"
    );
    assert!(app.list.at_head());
    let ids: Vec<_> = app.list.rows.iter().map(|s| s.id).collect();
    let expected: Vec<_> = all[..ids.len()].iter().map(|s| s.id).collect();
    assert_eq!(ids, expected, "contiguous, newest first");
}
