//! tempdb's allocation pages: which page a latch wait is on.
//!
//! Every session that creates a temporary table, a table variable or a spill allocates
//! pages in tempdb, and each allocation updates the allocation bitmaps of the file: PFS
//! (page free space, page 1 and every 8,088 pages after), GAM (page 2, then every 511,232
//! pages) and SGAM (page 3, same interval). With few data files, hundreds of tasks queue for
//! the same bitmap page's latch: PAGELATCH_UP/EX on 2:1:1, 2:1:2, 2:1:3 (Microsoft KB
//! 2154845, "Recommendations to reduce allocation contention in SQL Server tempdb
//! database"; the intervals are those of the PFS/GAM/SGAM page layout).

use crate::model::snapshot::PageLatchWait;

/// tempdb's database id.
pub const TEMPDB_ID: u64 = 2;

/// Pages covered by one PFS page.
const PFS_INTERVAL: u64 = 8_088;
/// Pages covered by one GAM or SGAM page.
const GAM_INTERVAL: u64 = 511_232;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AllocationPage {
    Pfs,
    Gam,
    Sgam,
}

impl AllocationPage {
    pub fn name(self) -> &'static str {
        match self {
            AllocationPage::Pfs => "PFS",
            AllocationPage::Gam => "GAM",
            AllocationPage::Sgam => "SGAM",
        }
    }
}

/// "db:file:page" as sys.dm_os_waiting_tasks gives a page latch's resource. Anything after
/// the page number (some builds append more) is ignored; anything else is None.
pub fn parse_page(resource: &str) -> Option<(u64, u64, u64)> {
    let mut parts = resource.trim().split(':');
    let db = parts.next()?.trim().parse().ok()?;
    let file = parts.next()?.trim().parse().ok()?;
    let page_text = parts.next()?.trim();
    let digits: String = page_text.chars().take_while(char::is_ascii_digit).collect();
    let page = digits.parse().ok()?;
    Some((db, file, page))
}

/// The allocation bitmap a tempdb page is, when it is one.
pub fn allocation_page(resource: &str) -> Option<AllocationPage> {
    let (db, _, page) = parse_page(resource)?;
    if db != TEMPDB_ID {
        return None;
    }
    if page == 1 || (page > 0 && page % PFS_INTERVAL == 0) {
        Some(AllocationPage::Pfs)
    } else if page >= 2 && (page - 2) % GAM_INTERVAL == 0 {
        Some(AllocationPage::Gam)
    } else if page >= 3 && (page - 3) % GAM_INTERVAL == 0 {
        Some(AllocationPage::Sgam)
    } else {
        None
    }
}

/// Tasks waiting on tempdb latches: on allocation pages, by kind, and on other pages.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LatchSummary {
    pub pfs: u64,
    pub gam: u64,
    pub sgam: u64,
    /// Waiters on other tempdb pages (system-table metadata, user objects).
    pub other: u64,
    /// The longest wait on an allocation page.
    pub longest_allocation_ms: u64,
}

impl LatchSummary {
    pub fn of(waits: &[PageLatchWait]) -> LatchSummary {
        let mut s = LatchSummary::default();
        for w in waits {
            match allocation_page(&w.resource) {
                Some(kind) => {
                    match kind {
                        AllocationPage::Pfs => s.pfs += w.waiters,
                        AllocationPage::Gam => s.gam += w.waiters,
                        AllocationPage::Sgam => s.sgam += w.waiters,
                    }
                    s.longest_allocation_ms = s.longest_allocation_ms.max(w.longest_ms);
                }
                None => s.other += w.waiters,
            }
        }
        s
    }

    pub fn allocation(&self) -> u64 {
        self.pfs + self.gam + self.sgam
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_pages_by_the_layout() {
        use AllocationPage::*;
        for (r, want) in [
            ("2:1:1", Some(Pfs)),
            ("2:1:2", Some(Gam)),
            ("2:1:3", Some(Sgam)),
            ("2:5:8088", Some(Pfs)),
            ("2:3:16176", Some(Pfs)),
            ("2:1:511234", Some(Gam)),
            ("2:1:511235", Some(Sgam)),
            ("2:1:4", None),
            ("2:1:116", None),
            ("7:1:1", None),
            ("2:1:1 (extra)", Some(Pfs)),
            ("KEY: 2:72057594", None),
            ("", None),
        ] {
            assert_eq!(allocation_page(r), want, "{r}");
        }
    }

    #[test]
    fn summary_counts_waiters_per_kind() {
        let w = |r: &str, n: u64, ms: u64| PageLatchWait {
            resource: r.into(),
            waiters: n,
            longest_ms: ms,
        };
        let s = LatchSummary::of(&[
            w("2:1:1", 40, 900),
            w("2:2:1", 30, 1_200),
            w("2:1:3", 5, 50),
            w("2:1:116", 9, 5_000),
        ]);
        assert_eq!((s.pfs, s.gam, s.sgam, s.other), (70, 0, 5, 9));
        assert_eq!(s.allocation(), 75);
        assert_eq!(s.longest_allocation_ms, 1_200);
    }
}
