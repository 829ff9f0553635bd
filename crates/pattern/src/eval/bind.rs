//! Observation expressions (§9.5, §9.6): bindings of observation
//! instances under `AND`, `OR`, `FOLLOWEDBY` and the qualifiers `WITHIN`,
//! `START`/`STOP` and `REPEATS`, produced lazily so a pattern stops at its
//! first match.

use std::collections::VecDeque;

use super::PNode;
use crate::json::JsonNode;
use crate::observe::Observation;

/// Number of observation slots a binding of this expression has.
pub(super) fn size(n: &PNode) -> usize {
    match n {
        PNode::Leaf(_) => 1,
        PNode::And(a, b) | PNode::FollowedBy(a, b) | PNode::Or(a, b, ..) => size(a) + size(b),
        PNode::Within(a, _) | PNode::StartStop(a, ..) => size(a),
        PNode::Repeats(a, n) => size(a).saturating_mul(*n),
    }
}

/// An observation instance: (observation index, instance number).
type Inst = (u32, u64);
type Binding = Vec<Option<Inst>>;
type BIter<'s> = Box<dyn Iterator<Item = Binding> + 's>;

pub(super) struct Ctx<'s, 'a, J: JsonNode> {
    pub(super) leaves: &'s [Vec<u32>],
    pub(super) obs: &'s [Observation<'a, J>],
}

fn disjoint(a: &Binding, b: &Binding) -> bool {
    a.iter()
        .flatten()
        .all(|x| !b.iter().flatten().any(|y| x == y))
}

impl<'s, 'a, J: JsonNode> Ctx<'s, 'a, J> {
    fn window(&self, i: &Inst) -> (i64, i64) {
        let o = &self.obs[i.0 as usize];
        (o.first, o.last)
    }

    fn latest_first(&self, b: &Binding) -> i64 {
        b.iter()
            .flatten()
            .map(|i| self.window(i).0)
            .max()
            .unwrap_or(i64::MIN)
    }

    fn earliest_last(&self, b: &Binding) -> i64 {
        b.iter()
            .flatten()
            .map(|i| self.window(i).1)
            .min()
            .unwrap_or(i64::MAX)
    }

    pub(super) fn bindings(&'s self, n: &'s PNode) -> BIter<'s> {
        match n {
            PNode::Leaf(i) => {
                let obs = self.obs;
                Box::new(self.leaves[*i].iter().flat_map(move |&o| {
                    (0..obs[o as usize].count).map(move |k| vec![Some((o, k))])
                }))
            }
            PNode::Or(a, b, ls, rs) => {
                let (mut l, mut r) = (self.bindings(a), self.bindings(b));
                let (ls, rs) = (*ls, *rs);
                let (mut l_done, mut r_done) = (false, false);
                let mut pending: VecDeque<Binding> = VecDeque::new();
                Box::new(std::iter::from_fn(move || {
                    loop {
                        if let Some(b) = pending.pop_front() {
                            return Some(b);
                        }
                        if l_done && r_done {
                            return None;
                        }
                        if !l_done {
                            match l.next() {
                                Some(mut x) => {
                                    x.resize(x.len() + rs, None);
                                    pending.push_back(x);
                                }
                                None => l_done = true,
                            }
                        }
                        if !r_done {
                            match r.next() {
                                Some(x) => {
                                    let mut y = vec![None; ls];
                                    y.extend(x);
                                    pending.push_back(y);
                                }
                                None => r_done = true,
                            }
                        }
                    }
                }))
            }
            PNode::And(a, b) => {
                Box::new(Join::new(self, self.bindings(a), self.bindings(b), false))
            }
            PNode::FollowedBy(a, b) => {
                Box::new(Join::new(self, self.bindings(a), self.bindings(b), true))
            }
            PNode::Within(a, d) => {
                let d = *d;
                Box::new(self.bindings(a).filter(move |b| {
                    let (first, last) = (self.latest_first(b), self.earliest_last(b));
                    // 9.5.1: the latest MUST NOT be equal to or later than
                    // the earliest plus the window.
                    i128::from(first) < i128::from(last) + d
                }))
            }
            PNode::StartStop(a, start, stop) => {
                let (start, stop) = (*start, *stop);
                if start >= stop {
                    return Box::new(std::iter::empty());
                }
                Box::new(self.bindings(a).filter(move |b| {
                    b.iter().flatten().all(|i| {
                        let (f, l) = self.window(i);
                        f < stop && start <= l
                    })
                }))
            }
            PNode::Repeats(a, 1) => self.bindings(a),
            PNode::Repeats(a, k) => Box::new(Repeat::new(self.bindings(a), *k)),
        }
    }
}

/// `AND` / `FOLLOWEDBY`: every pair of a left and a right binding that
/// share no instance (and, for `FOLLOWEDBY`, can be ordered in time),
/// enumerated fairly from both sides so infinite-looking inputs still
/// yield early.
struct Join<'s, 'a, J: JsonNode> {
    ctx: &'s Ctx<'s, 'a, J>,
    l: BIter<'s>,
    r: BIter<'s>,
    lcache: Vec<Binding>,
    rcache: Vec<Binding>,
    nl: Option<Binding>,
    nr: Option<Binding>,
    started: bool,
    followed: bool,
    pending: VecDeque<Binding>,
}

impl<'s, 'a, J: JsonNode> Join<'s, 'a, J> {
    fn new(ctx: &'s Ctx<'s, 'a, J>, l: BIter<'s>, r: BIter<'s>, followed: bool) -> Self {
        Join {
            ctx,
            l,
            r,
            lcache: Vec::new(),
            rcache: Vec::new(),
            nl: None,
            nr: None,
            started: false,
            followed,
            pending: VecDeque::new(),
        }
    }

    fn ok(&self, lhs: &Binding, rhs: &Binding) -> bool {
        disjoint(lhs, rhs)
            && (!self.followed || self.ctx.latest_first(lhs) <= self.ctx.earliest_last(rhs))
    }
}

impl<J: JsonNode> Iterator for Join<'_, '_, J> {
    type Item = Binding;
    fn next(&mut self) -> Option<Binding> {
        if !self.started {
            self.started = true;
            self.nr = self.r.next();
            self.nl = self.l.next();
            if self.nr.is_none() || self.nl.is_none() {
                self.nr = None;
                self.nl = None;
            }
        }
        loop {
            if let Some(b) = self.pending.pop_front() {
                return Some(b);
            }
            if self.nr.is_none() && self.nl.is_none() {
                return None;
            }
            if let Some(rhs) = self.nr.take() {
                for lhs in &self.lcache {
                    if self.ok(lhs, &rhs) {
                        let mut b = lhs.clone();
                        b.extend_from_slice(&rhs);
                        self.pending.push_back(b);
                    }
                }
                self.rcache.push(rhs);
                self.nr = self.r.next();
            }
            if let Some(lhs) = self.nl.take() {
                for rhs in &self.rcache {
                    if self.ok(&lhs, rhs) {
                        let mut b = lhs.clone();
                        b.extend_from_slice(rhs);
                        self.pending.push_back(b);
                    }
                }
                self.lcache.push(lhs);
                self.nl = self.l.next();
            }
        }
    }
}

/// `REPEATS k`: every set of `k` pairwise disjoint bindings, found as each
/// new binding arrives (with the earlier ones it is disjoint from).
struct Repeat<'s> {
    child: BIter<'s>,
    k: usize,
    seen: Vec<Binding>,
    primed: bool,
    current: Option<(Binding, Combos)>,
}

impl<'s> Repeat<'s> {
    fn new(child: BIter<'s>, k: usize) -> Self {
        Repeat {
            child,
            k,
            seen: Vec::new(),
            primed: false,
            current: None,
        }
    }
}

impl Iterator for Repeat<'_> {
    type Item = Binding;
    fn next(&mut self) -> Option<Binding> {
        if !self.primed {
            self.primed = true;
            while self.seen.len() < self.k - 1 {
                self.seen.push(self.child.next()?);
            }
        }
        loop {
            if let Some((newest, combos)) = &mut self.current {
                if let Some(pick) = combos.next() {
                    let mut b = Binding::new();
                    for i in pick {
                        b.extend_from_slice(&combos.items[i]);
                    }
                    b.extend_from_slice(newest);
                    return Some(b);
                }
                let (newest, _) = self.current.take().expect("checked");
                self.seen.push(newest);
            }
            let newest = self.child.next()?;
            let items: Vec<Binding> = self
                .seen
                .iter()
                .filter(|b| disjoint(b, &newest))
                .cloned()
                .collect();
            self.current = Some((newest, Combos::new(items, self.k - 1)));
        }
    }
}

/// `k`-subsets of `items` whose members are pairwise disjoint, in
/// lexicographic order of indexes, by depth-first search.
struct Combos {
    items: Vec<Binding>,
    k: usize,
    stack: Vec<(Vec<usize>, usize)>,
    chosen: Vec<usize>,
}

impl Combos {
    fn new(items: Vec<Binding>, k: usize) -> Self {
        let all: Vec<usize> = (0..items.len()).collect();
        let stack = if largest_disjoint_bound(&items, &all) < k {
            Vec::new()
        } else {
            vec![(all, 0)]
        };
        Combos {
            items,
            k,
            stack,
            chosen: Vec::new(),
        }
    }
}

/// An upper bound on how many pairwise disjoint bindings `subset` of
/// `items` can supply: bindings of `s` instances each use `s` distinct
/// instances, so count instances by the smallest binding that can take
/// them.
fn largest_disjoint_bound(items: &[Binding], subset: &[usize]) -> usize {
    let size = |b: &Binding| b.iter().flatten().count();
    let Some(max) = subset.iter().map(|&i| size(&items[i])).max() else {
        return 0;
    };
    if max == 0 {
        return subset.len();
    }
    let mut by_size: Vec<Vec<Inst>> = vec![Vec::new(); max + 1];
    for &i in subset {
        let b = &items[i];
        by_size[size(b)].extend(b.iter().flatten().copied());
    }
    // Keys are instance numbers this evaluator made, not data a peer
    // chose: a fast fixed-seed hasher is safe here.
    let mut consumed: std::collections::HashSet<Inst, foldhash::fast::FixedState> =
        std::collections::HashSet::default();
    let mut total = 0;
    for (s, ids) in by_size.iter_mut().enumerate().skip(1) {
        ids.sort_unstable();
        ids.dedup();
        let avail: Vec<Inst> = ids
            .iter()
            .copied()
            .filter(|i| !consumed.contains(i))
            .collect();
        total += if s < max {
            avail.len().div_ceil(s)
        } else {
            avail.len() / s
        };
        consumed.extend(avail);
    }
    total
}

impl Iterator for Combos {
    type Item = Vec<usize>;
    fn next(&mut self) -> Option<Vec<usize>> {
        loop {
            let depth = self.chosen.len();
            let need = self.k - depth;
            let frame = self.stack.last_mut()?;
            if frame.1 >= frame.0.len() || frame.0.len() - frame.1 < need {
                self.stack.pop();
                self.chosen.pop();
                continue;
            }
            let pick = frame.0[frame.1];
            frame.1 += 1;
            if need == 1 {
                let mut out = self.chosen.clone();
                out.push(pick);
                return Some(out);
            }
            let rest: Vec<usize> = frame.0[frame.1..]
                .iter()
                .copied()
                .filter(|&j| disjoint(&self.items[pick], &self.items[j]))
                .collect();
            // Prune when the rest cannot hold enough disjoint bindings.
            if rest.len() < need - 1 || largest_disjoint_bound(&self.items, &rest) < need - 1 {
                continue;
            }
            self.chosen.push(pick);
            self.stack.push((rest, 0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combos() {
        let items: Vec<Binding> = (0..4).map(|i| vec![Some((i, 0))]).collect();
        let c: Vec<_> = Combos::new(items, 2).collect();
        assert_eq!(c.len(), 6);
        let items: Vec<Binding> = vec![vec![Some((0, 0))], vec![Some((0, 0))], vec![Some((1, 0))]];
        let c: Vec<_> = Combos::new(items, 2).collect();
        assert_eq!(c, vec![vec![0, 2], vec![1, 2]]);
    }
}
