//! The blocking graph of one snapshot: who waits for whom, drawn as trees under their lead
//! blockers, plus any cycles.
//!
//! A lead blocker blocks others and waits for nobody: it is the one session whose end
//! releases the whole tree, so it is what the engineer must look at first. Sessions in a
//! cycle have no lead; the cycle is reported on its own (a deadlock the server has not, or
//! cannot, resolve). A blocker that does not appear in the snapshot (a session hidden by
//! permissions) is still drawn as a lead, by id. SQL Server also names two lock holders
//! that are not sessions at all: -2, an orphaned distributed transaction, and -3, a
//! transaction in deferred recovery. They are leads like any other, with those ids
//! (`ORPHANED_DTC`, `DEFERRED_RECOVERY`), and `describe_unseen_lead` words them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::model::session::Session;
use crate::model::snapshot::Snapshot;

/// SQL Server's blocking_session_id for locks held by an orphaned distributed (DTC)
/// transaction: no session owns them; `KILL '<UOW>'` ends the transaction.
pub const ORPHANED_DTC: i64 = -2;
/// SQL Server's blocking_session_id for locks held by a transaction in deferred recovery
/// (its rollback could not finish, e.g. a filegroup was offline at startup).
pub const DEFERRED_RECOVERY: i64 = -3;

/// How to name a lead blocker that is not a session spiral can see.
pub fn describe_unseen_lead(id: i64) -> String {
    match id {
        ORPHANED_DTC => "an orphaned distributed transaction (blocking session -2)".to_string(),
        DEFERRED_RECOVERY => "a transaction in deferred recovery (blocking session -3)".to_string(),
        _ => format!("session {id} (not visible to spiral)"),
    }
}

/// A short label for a table cell where a lead blocker is not a visible session.
pub fn unseen_label(id: i64) -> &'static str {
    match id {
        ORPHANED_DTC => "orphaned DTC transaction",
        DEFERRED_RECOVERY => "deferred recovery",
        _ => "not visible",
    }
}

#[derive(Debug, Clone)]
pub struct Tree {
    pub lead: i64,
    /// Sessions below the lead, in display order, with their depth (1 = directly blocked).
    pub members: Vec<(i64, usize)>,
    pub depth: usize,
    pub longest_wait_ms: u64,
}

impl Tree {
    pub fn blocked_count(&self) -> usize {
        self.members.len()
    }
}

#[derive(Debug, Clone, Default)]
pub struct BlockingGraph {
    pub trees: Vec<Tree>,
    /// Each cycle as the list of its session ids, in waiting order.
    pub cycles: Vec<Vec<i64>>,
    /// Every blocked client session.
    pub blocked: BTreeSet<i64>,
    /// Sessions queued behind a member of a cycle (and not in one themselves): one tree
    /// per cycle member that has such waiters, rooted at that member. They are not lead
    /// blockers (a cycle has no lead, and ending a member is the deadlock rule's call), but
    /// they are the crowd the engineer sees: incident 000's 41 readers waited on one
    /// writer caught in a cycle.
    pub behind_cycles: Vec<Tree>,
}

impl BlockingGraph {
    pub fn of(snapshot: &Snapshot) -> BlockingGraph {
        let own = snapshot.own_session_id;
        // Edges from blocker to the sessions waiting on it. BTreeMaps keep output stable.
        let mut waiters: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        let mut waits_for: HashMap<i64, &[i64]> = HashMap::new();
        let mut wait_ms: HashMap<i64, u64> = HashMap::new();
        let mut blocked = BTreeSet::new();
        for s in snapshot.sessions.iter().filter(|s| Some(s.id) != own) {
            if s.blocked_by.is_empty() {
                continue;
            }
            blocked.insert(s.id);
            waits_for.insert(s.id, &s.blocked_by);
            wait_ms.insert(s.id, s.wait_ms.unwrap_or(0));
            for &b in &s.blocked_by {
                if b != s.id {
                    waiters.entry(b).or_default().push(s.id);
                }
            }
        }
        for list in waiters.values_mut() {
            list.sort_unstable();
            list.dedup();
        }

        let cycles = find_cycles(&waits_for);
        let leads: Vec<i64> = waiters
            .keys()
            .copied()
            .filter(|b| !waits_for.contains_key(b))
            .collect();

        let mut trees: Vec<Tree> = leads
            .into_iter()
            .map(|lead| build_tree(lead, &waiters, &wait_ms, &BTreeSet::new()))
            .collect();
        let in_cycles: BTreeSet<i64> = cycles.iter().flatten().copied().collect();
        let behind_cycles: Vec<Tree> = cycles
            .iter()
            .flatten()
            .map(|&member| build_tree(member, &waiters, &wait_ms, &in_cycles))
            .filter(|t| !t.members.is_empty())
            .collect();
        trees.sort_by(|a, b| {
            b.blocked_count()
                .cmp(&a.blocked_count())
                .then(b.longest_wait_ms.cmp(&a.longest_wait_ms))
                .then(a.lead.cmp(&b.lead))
        });
        BlockingGraph {
            trees,
            cycles,
            blocked,
            behind_cycles,
        }
    }

    pub fn longest_wait_ms(&self, snapshot: &Snapshot) -> u64 {
        snapshot
            .sessions
            .iter()
            .filter(|s| self.blocked.contains(&s.id))
            .filter_map(|s| s.wait_ms)
            .max()
            .unwrap_or(0)
    }

    pub fn max_depth(&self) -> usize {
        self.trees.iter().map(|t| t.depth).max().unwrap_or(0)
    }
}

/// The tree below `lead`, depth first; sessions in `exclude` (the cycles, for a tree
/// rooted at a cycle member) are not walked into.
fn build_tree(
    lead: i64,
    waiters: &BTreeMap<i64, Vec<i64>>,
    wait_ms: &HashMap<i64, u64>,
    exclude: &BTreeSet<i64>,
) -> Tree {
    let mut members = Vec::new();
    let mut seen = exclude.clone();
    seen.insert(lead);
    // Depth-first so that the display reads as a tree; an explicit stack because chains
    // thousands deep (incident 000 had 5,000 sessions) must not overflow ours.
    let mut stack: Vec<(i64, usize)> = waiters
        .get(&lead)
        .map(|w| w.iter().rev().map(|&id| (id, 1)).collect())
        .unwrap_or_default();
    let mut depth = 0;
    let mut longest = 0;
    while let Some((id, d)) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        members.push((id, d));
        depth = depth.max(d);
        longest = longest.max(wait_ms.get(&id).copied().unwrap_or(0));
        if let Some(next) = waiters.get(&id) {
            stack.extend(next.iter().rev().map(|&n| (n, d + 1)));
        }
    }
    Tree {
        lead,
        members,
        depth,
        longest_wait_ms: longest,
    }
}

/// Cycles in the waits-for graph (strongly connected components of two or more sessions,
/// or a session waiting on itself), found with an iterative Tarjan.
fn find_cycles(waits_for: &HashMap<i64, &[i64]>) -> Vec<Vec<i64>> {
    let mut nodes: Vec<i64> = waits_for.keys().copied().collect();
    nodes.sort_unstable();
    let mut index: HashMap<i64, usize> = HashMap::new();
    let mut low: HashMap<i64, usize> = HashMap::new();
    let mut on_stack: BTreeSet<i64> = BTreeSet::new();
    let mut stack: Vec<i64> = Vec::new();
    let mut next_index = 0;
    let mut cycles = Vec::new();

    for &root in &nodes {
        if index.contains_key(&root) {
            continue;
        }
        // Each frame: node and the position of the next edge to explore.
        let mut frames: Vec<(i64, usize)> = vec![(root, 0)];
        index.insert(root, next_index);
        low.insert(root, next_index);
        next_index += 1;
        stack.push(root);
        on_stack.insert(root);
        while let Some(&mut (v, ref mut edge)) = frames.last_mut() {
            let edges = waits_for.get(&v).copied().unwrap_or(&[]);
            if *edge < edges.len() {
                let w = edges[*edge];
                *edge += 1;
                if !waits_for.contains_key(&w) {
                    continue; // a lead blocker: not part of any cycle
                }
                if let std::collections::hash_map::Entry::Vacant(slot) = index.entry(w) {
                    slot.insert(next_index);
                    low.insert(w, next_index);
                    next_index += 1;
                    stack.push(w);
                    on_stack.insert(w);
                    frames.push((w, 0));
                } else if on_stack.contains(&w) {
                    let lw = index[&w].min(low[&v]);
                    low.insert(v, lw);
                }
            } else {
                frames.pop();
                if let Some(&(parent, _)) = frames.last() {
                    let lp = low[&parent].min(low[&v]);
                    low.insert(parent, lp);
                }
                if low[&v] == index[&v] {
                    let mut component = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack.remove(&w);
                        component.push(w);
                        if w == v {
                            break;
                        }
                    }
                    let self_loop =
                        component.len() == 1 && waits_for.get(&v).is_some_and(|e| e.contains(&v));
                    if component.len() > 1 || self_loop {
                        cycles.push(order_cycle(component, waits_for));
                    }
                }
            }
        }
    }
    cycles.sort();
    cycles
}

/// Puts a cycle's members in waiting order starting from the smallest id, so that
/// "512 waits for 182 waits for 3453 ..." reads the way the DMV rows do.
fn order_cycle(mut members: Vec<i64>, waits_for: &HashMap<i64, &[i64]>) -> Vec<i64> {
    members.sort_unstable();
    let set: BTreeSet<i64> = members.iter().copied().collect();
    let mut ordered = vec![members[0]];
    let mut current = members[0];
    while ordered.len() < members.len() {
        let next = waits_for.get(&current).and_then(|e| {
            e.iter()
                .copied()
                .find(|n| set.contains(n) && !ordered.contains(n))
        });
        match next {
            Some(n) => {
                ordered.push(n);
                current = n;
            }
            // Not a simple ring (several interlocked waits): list the rest by id.
            None => {
                ordered.extend(
                    members
                        .iter()
                        .filter(|m| !ordered.contains(m))
                        .copied()
                        .collect::<Vec<_>>(),
                );
            }
        }
    }
    ordered
}

/// Looks sessions up by id.
pub fn index(snapshot: &Snapshot) -> HashMap<i64, &Session> {
    snapshot.sessions.iter().map(|s| (s.id, s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::session::{Session, SessionState};
    use crate::model::snapshot::{Engine, Snapshot};

    fn blocked(id: i64, by: &[i64], wait_ms: u64) -> Session {
        let mut s = Session::new(id, SessionState::Active);
        s.blocked_by = by.to_vec();
        s.wait_ms = Some(wait_ms);
        s
    }

    #[test]
    fn chain_has_one_lead_and_depth() {
        let mut snap = Snapshot::empty(Engine::Mssql, chrono::Utc::now());
        snap.sessions = vec![
            Session::new(1, SessionState::Idle),
            blocked(2, &[1], 4_000),
            blocked(3, &[2], 9_000),
            blocked(4, &[1], 1_000),
        ];
        let g = BlockingGraph::of(&snap);
        assert_eq!(g.trees.len(), 1);
        assert_eq!(g.trees[0].lead, 1);
        assert_eq!(g.trees[0].blocked_count(), 3);
        assert_eq!(g.trees[0].depth, 2);
        assert_eq!(g.trees[0].longest_wait_ms, 9_000);
        assert_eq!(g.trees[0].members, vec![(2, 1), (3, 2), (4, 1)]);
        assert!(g.cycles.is_empty());
    }

    #[test]
    fn incident_000_cycle_is_found_in_waiting_order() {
        let mut snap = Snapshot::empty(Engine::Mssql, chrono::Utc::now());
        snap.sessions = vec![
            blocked(512, &[182], 59_000),
            blocked(182, &[3453], 59_000),
            blocked(3453, &[2035], 59_000),
            blocked(2035, &[512], 59_000),
            blocked(77, &[512], 10_000),
        ];
        let g = BlockingGraph::of(&snap);
        assert_eq!(g.cycles, vec![vec![182, 3453, 2035, 512]]);
        assert!(g.trees.is_empty(), "a cycle has no lead blocker");
        // 77 waits behind cycle member 512; the cycle itself is not walked into again.
        assert_eq!(g.behind_cycles.len(), 1);
        assert_eq!(g.behind_cycles[0].lead, 512);
        assert_eq!(g.behind_cycles[0].members, vec![(77, 1)]);
    }
}
