//! The slice of the delivery list held in memory: a few pages around the
//! selection, with the cursors needed to page back up, so 100,000 stored
//! deliveries cost the same as 1,000.

use hookline_protocol::DeliveryId;

use crate::store::{Page, Summary};

/// Rows fetched per page while scrolling.
pub const PAGE: usize = 200;

/// Rows kept at most; beyond it the far end of the window is dropped.
pub const MAX_ROWS: usize = 1000;

/// Contiguous rows of the filtered list, newest first.
///
/// `rows` are "the first rows with an id below `start`" (`None`: from the
/// newest). `above` keeps the `start` of every chunk dropped off the top,
/// nearest last, so scrolling back up re-fetches exactly those chunks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListWindow {
    pub rows: Vec<Summary>,
    pub start: Option<DeliveryId>,
    pub above: Vec<Option<DeliveryId>>,
    /// Cursor of the page below the window; `None` once the oldest row is held.
    /// (`start` may be set with `above` empty: the window was found by time,
    /// see `seek.rs`, and the chunk above is found the same way.)
    pub next: Option<DeliveryId>,
    pub selected: usize,
    /// Index of the first row drawn.
    pub offset: usize,
    /// A page request is in flight; further scrolling does not ask again.
    pub loading: bool,
}

impl ListWindow {
    /// Whether the window begins at the newest delivery, where live arrivals appear.
    pub fn at_head(&self) -> bool {
        self.start.is_none() && self.above.is_empty()
    }

    pub fn selected_row(&self) -> Option<&Summary> {
        self.rows.get(self.selected)
    }

    pub fn selected_id(&self) -> Option<DeliveryId> {
        self.selected_row().map(|s| s.id)
    }

    /// Replaces everything with one freshly loaded page, keeping `keep`
    /// selected when it is still there.
    pub fn replace(
        &mut self,
        start: Option<DeliveryId>,
        above: Vec<Option<DeliveryId>>,
        page: Page,
        keep: Option<DeliveryId>,
    ) {
        self.rows = page.items;
        self.start = start;
        self.above = above;
        self.next = page.next;
        self.selected = keep.and_then(|id| self.position(id)).unwrap_or(0);
        self.offset = self.offset.min(self.selected);
        self.loading = false;
    }

    /// Appends the page below and drops a chunk off the top when too long.
    pub fn append(&mut self, page: Page) {
        let last = self.rows.last().map(|s| s.id);
        self.rows.extend(
            page.items
                .into_iter()
                .filter(|s| last.is_none_or(|l| s.id < l)),
        );
        self.next = page.next;
        self.loading = false;
        while self.rows.len() > MAX_ROWS && self.selected >= PAGE {
            let cut = self.rows[PAGE - 1].id;
            self.above.push(self.start);
            self.start = Some(cut);
            self.rows.drain(..PAGE);
            self.selected -= PAGE;
            self.offset = self.offset.saturating_sub(PAGE);
        }
    }

    /// Puts back the chunk above (`page`, loaded from the popped cursor)
    /// and drops rows off the bottom when too long. A chunk that does not
    /// reach the current top (many arrivals since) replaces the window.
    pub fn prepend(&mut self, start: Option<DeliveryId>, page: Page) {
        self.loading = false;
        let Some(first) = self.rows.first().map(|s| s.id) else {
            let above = std::mem::take(&mut self.above);
            return self.replace(start, above, page, None);
        };
        let reaches =
            page.next.is_none_or(|n| n <= first) || page.items.iter().any(|s| s.id <= first);
        if !reaches {
            let keep = self.selected_id();
            let above = std::mem::take(&mut self.above);
            return self.replace(start, above, page, keep);
        }
        let chunk: Vec<Summary> = page.items.into_iter().filter(|s| s.id > first).collect();
        let added = chunk.len();
        self.rows.splice(0..0, chunk);
        self.start = start;
        self.selected += added;
        self.offset += added;
        if self.rows.len() > MAX_ROWS {
            let cut = self.rows.len() - PAGE;
            self.next = self.rows.get(cut - 1).map(|s| s.id);
            self.rows.truncate(cut);
            self.selected = self.selected.min(cut - 1);
        }
    }

    /// A newly arrived (or changed) row: updated in place, or inserted in id
    /// order when the window is at the head. The selected delivery stays selected.
    pub fn upsert(&mut self, summary: Summary) {
        if let Some(i) = self.position(summary.id) {
            self.rows[i] = summary;
            return;
        }
        if !self.at_head() {
            return;
        }
        let at = self.rows.partition_point(|s| s.id > summary.id);
        if at == self.rows.len() && self.next.is_some() {
            return; // older than the window's bottom: it belongs to a page not loaded
        }
        self.rows.insert(at, summary);
        if at <= self.selected && self.rows.len() > 1 {
            self.selected += 1;
            // At the top the new row shows; scrolled down, the view stays put.
            if self.offset > 0 {
                self.offset += 1;
            }
        }
        if self.rows.len() > MAX_ROWS {
            self.rows.pop();
            self.next = self.rows.last().map(|s| s.id);
            self.selected = self.selected.min(self.rows.len() - 1);
        }
    }

    /// Drops a deleted row; the selection moves to its neighbour.
    pub fn remove(&mut self, id: DeliveryId) -> bool {
        let Some(i) = self.position(id) else {
            return false;
        };
        self.rows.remove(i);
        if i < self.selected || self.selected >= self.rows.len() {
            self.selected = self.selected.saturating_sub(1);
        }
        self.offset = self.offset.min(self.selected);
        true
    }

    pub fn position(&self, id: DeliveryId) -> Option<usize> {
        self.rows.iter().position(|s| s.id == id)
    }

    /// Moves the selection by `delta` within the loaded rows.
    pub fn move_by(&mut self, delta: isize) {
        let last = self.rows.len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
    }

    /// Keeps the selection inside a viewport of `height` rows.
    pub fn scroll_into_view(&mut self, height: usize) {
        let height = height.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
    }

    /// The selection is close enough to the bottom to fetch the next page.
    pub fn wants_below(&self) -> bool {
        !self.loading && self.next.is_some() && self.selected + PAGE / 2 >= self.rows.len()
    }

    /// The selection is close enough to the top to fetch the chunk above.
    pub fn wants_above(&self) -> bool {
        !self.loading && self.start.is_some() && self.selected < PAGE / 2
    }
}
