//! Finding the oldest page, and the chunk just above a window, without
//! walking the whole list. Pages only go "older than a cursor", but ids
//! begin with their millisecond, so a cursor can be made for any time and
//! the right time found by bisection: about 40 page reads of at most
//! [`PAGE`] rows, instead of one read per thousand deliveries.

use hookline_protocol::DeliveryId;

use super::effects::Runner;
use super::window::{ListWindow, PAGE};
use crate::store::{Filter, ListQuery, Page};

/// The first id of millisecond `ms`: everything older sorts below it.
fn cursor(ms: u64) -> DeliveryId {
    DeliveryId::from_parts(ms, 0)
}

impl Runner {
    async fn below(&self, filter: &Filter, ms: u64) -> Result<Page, String> {
        let query = ListQuery {
            filter: filter.clone(),
            before: Some(cursor(ms)),
            limit: PAGE,
        };
        self.access.page(&query).await.map_err(|e| e.to_string())
    }

    async fn newest_ms(&self, filter: &Filter) -> Result<Option<u64>, String> {
        let query = ListQuery {
            filter: filter.clone(),
            before: None,
            limit: 1,
        };
        let page = self.access.page(&query).await.map_err(|e| e.to_string())?;
        Ok(page.items.first().map(|s| s.id.unix_ms()))
    }

    /// The oldest page: the latest time with at most [`PAGE`] matching
    /// deliveries before it.
    pub(super) async fn tail(&self, filter: Filter) -> Result<ListWindow, String> {
        let mut window = ListWindow::default();
        let Some(newest) = self.newest_ms(&filter).await? else {
            window.replace(None, Vec::new(), Page::default(), None);
            return Ok(window);
        };
        let (mut lo, mut hi) = (0, newest + 1);
        let mut found = self.below(&filter, hi).await?;
        if found.next.is_none() {
            window.replace(None, Vec::new(), found, None);
            return Ok(window);
        }
        found = Page::default();
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            let page = self.below(&filter, mid).await?;
            if page.next.is_none() {
                (lo, found) = (mid, page);
            } else {
                hi = mid;
            }
        }
        window.replace(Some(cursor(lo)), Vec::new(), found, None);
        Ok(window)
    }

    /// The up to [`PAGE`] deliveries just newer than `start`, with the
    /// cursor they were read from (`None`: they reach the newest).
    pub(super) async fn above(
        &self,
        filter: Filter,
        start: DeliveryId,
    ) -> Result<(Option<DeliveryId>, Page), String> {
        let Some(newest) = self.newest_ms(&filter).await? else {
            return Ok((None, Page::default()));
        };
        let reaches =
            |page: &Page| page.next.is_none() || page.items.last().is_some_and(|s| s.id < start);
        let head = ListQuery {
            filter: filter.clone(),
            before: None,
            limit: PAGE,
        };
        let page = self.access.page(&head).await.map_err(|e| e.to_string())?;
        if reaches(&page) {
            return Ok((None, page));
        }
        let (mut lo, mut hi) = (start.unix_ms() + 1, newest + 1);
        let mut found = self.below(&filter, lo).await?;
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            let page = self.below(&filter, mid).await?;
            if reaches(&page) {
                (lo, found) = (mid, page);
            } else {
                hi = mid;
            }
        }
        Ok((Some(cursor(lo)), found))
    }
}
