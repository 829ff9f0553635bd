//! The evaluator: a pattern compiled once (regular expressions built,
//! literals decoded) and matched against observations.
//!
//! Semantics follow the OASIS reference matcher (`stix2-matcher` 3.0):
//! a comparison expression selects, per observation, the root objects that
//! satisfy it (`AND` intersects roots, `OR` unites them); an observation
//! expression binds observation *instances* (`number_observed` copies of
//! each observed-data); `AND` and `FOLLOWEDBY` join bindings that share no
//! instance, `OR` takes either side, `REPEATS n` takes `n` pairwise disjoint
//! bindings, `WITHIN` and `START`/`STOP` filter bindings by the
//! observations' `first_observed`/`last_observed` windows. The pattern
//! matches when at least one binding survives. Bindings are produced lazily,
//! so a pattern stops at its first match.
//!
//! Where the reference departs from the specification this module follows
//! the specification; each case is listed in the differential test.

//!
//! One file per concern: this one prepares a pattern and runs it;
//! `regexes` builds the regular expressions of `LIKE` and `MATCHES`;
//! `compare` evaluates comparison expressions on one root object (path
//! selection, binary decoding, operators); `bind` joins observation
//! instances into bindings under the observation operators and qualifiers.

mod bind;
mod compare;
mod regexes;

use crate::EvalError;
use crate::ast::{CmpExpr, ObsExpr, Op, Qualifier, Step, Test};
use crate::json::JsonNode;
use crate::observe::Observations;
use crate::parser::ParseError;

use bind::{Ctx, size};
use compare::is_sdo_type;
use regexes::{Like, Rx, is_binary_like, like};

pub(crate) use regexes::{BuiltMatches, build_matches};

/// A placeholder tree (allocates nothing) while the real one is walked.
const EMPTY: ObsExpr = ObsExpr::Simple(CmpExpr::Test(Test {
    path: crate::ast::ObjectPath {
        object_type: String::new(),
        steps: Vec::new(),
    },
    negated: false,
    op: Op::Exists,
}));

/// `MATCHES` operands the parser built, in source order.
type Built = std::iter::Peekable<std::vec::IntoIter<(String, BuiltMatches)>>;

/// A parsed and prepared pattern.
#[derive(Debug)]
pub struct Pattern {
    ast: ObsExpr,
    tests: Vec<Prepared>,
    leaves: Vec<CNode>,
    tree: PNode,
    /// No joins or qualifiers: the pattern matches when any leaf does.
    simple: bool,
}

/// The outcome of matching a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchResult {
    pub matched: bool,
    /// Indexes (into the observations) of the observed-data of the first
    /// binding found, in ascending order; empty when there is no match.
    pub observations: Vec<usize>,
}

#[derive(Debug)]
struct Prepared {
    test: Test,
    /// The object type is a STIX 2.1 SDO/SRO type (never matched in 2.1).
    sdo_type: bool,
    /// The path is plain keys without `_ref(s)`/`_hex`/`_bin` suffixes:
    /// at most one value, found without allocating.
    plain_keys: bool,
    like: Option<Like>,
    like_binary: bool,
    matches: Option<(Rx, Option<Rx>)>,
}

/// Comparison expression tree over prepared tests.
#[derive(Debug)]
enum CNode {
    Test(usize),
    And(Box<CNode>, Box<CNode>),
    Or(Box<CNode>, Box<CNode>),
}

/// Observation expression tree over leaves (indexes into `leaves`).
#[derive(Debug)]
enum PNode {
    Leaf(usize),
    And(Box<PNode>, Box<PNode>),
    Or(Box<PNode>, Box<PNode>, usize, usize),
    FollowedBy(Box<PNode>, Box<PNode>),
    Within(Box<PNode>, i128),
    StartStop(Box<PNode>, i64, i64),
    Repeats(Box<PNode>, usize),
}

impl Pattern {
    /// Parses and prepares a pattern.
    pub fn new(src: &str) -> Result<Pattern, ParseError> {
        // The parser checks `MATCHES` operands by building them: keep what
        // it built rather than building each twice.
        let (ast, built) = crate::parser::parse_keeping(src, false)?;
        Pattern::from_ast_built(ast, built).map_err(|e| ParseError::new(0, e))
    }

    /// Parses (in the STIX 2.0 dialect, see [`crate::parse_v20`]) and
    /// prepares a pattern.
    pub fn new_v20(src: &str) -> Result<Pattern, ParseError> {
        let (ast, built) = crate::parser::parse_keeping(src, true)?;
        Pattern::from_ast_built(ast, built).map_err(|e| ParseError::new(0, e))
    }

    /// Prepares an already parsed pattern.
    pub fn from_ast(ast: ObsExpr) -> Result<Pattern, String> {
        Pattern::from_ast_built(ast, Vec::new())
    }

    /// Prepares a parsed pattern, taking the `MATCHES` operands the parser
    /// built (in the order they appear) where they are the operands met.
    fn from_ast_built(ast: ObsExpr, built: Vec<(String, BuiltMatches)>) -> Result<Pattern, String> {
        let mut p = Pattern {
            ast,
            tests: Vec::new(),
            leaves: Vec::new(),
            tree: PNode::Leaf(0),
            simple: true,
        };
        let mut built = built.into_iter().peekable();
        // Walk the tree out of `p` (no copy of it), then put it back.
        let ast = std::mem::replace(&mut p.ast, EMPTY);
        let tree = p.obs_node(&ast, &mut built);
        p.ast = ast;
        p.tree = tree?;
        Ok(p)
    }

    /// The syntax tree.
    pub fn ast(&self) -> &ObsExpr {
        &self.ast
    }

    fn obs_node(&mut self, e: &ObsExpr, built: &mut Built) -> Result<PNode, String> {
        Ok(match e {
            ObsExpr::Simple(c) => {
                let c = self.cmp_node(c, built)?;
                self.leaves.push(c);
                PNode::Leaf(self.leaves.len() - 1)
            }
            ObsExpr::And(a, b) => {
                self.simple = false;
                PNode::And(
                    Box::new(self.obs_node(a, built)?),
                    Box::new(self.obs_node(b, built)?),
                )
            }
            ObsExpr::FollowedBy(a, b) => {
                self.simple = false;
                PNode::FollowedBy(
                    Box::new(self.obs_node(a, built)?),
                    Box::new(self.obs_node(b, built)?),
                )
            }
            ObsExpr::Or(a, b) => {
                let (l, r) = (self.obs_node(a, built)?, self.obs_node(b, built)?);
                let (ls, rs) = (size(&l), size(&r));
                PNode::Or(Box::new(l), Box::new(r), ls, rs)
            }
            ObsExpr::Qualified(inner, q) => {
                self.simple = false;
                let inner = Box::new(self.obs_node(inner, built)?);
                match q {
                    Qualifier::Within { micros, .. } => PNode::Within(inner, *micros),
                    Qualifier::StartStop { start, stop } => PNode::StartStop(inner, *start, *stop),
                    Qualifier::Repeats(n) => {
                        PNode::Repeats(inner, usize::try_from(*n).unwrap_or(usize::MAX))
                    }
                }
            }
        })
    }

    fn cmp_node(&mut self, c: &CmpExpr, built: &mut Built) -> Result<CNode, String> {
        Ok(match c {
            CmpExpr::And(a, b) => CNode::And(
                Box::new(self.cmp_node(a, built)?),
                Box::new(self.cmp_node(b, built)?),
            ),
            CmpExpr::Or(a, b) => CNode::Or(
                Box::new(self.cmp_node(a, built)?),
                Box::new(self.cmp_node(b, built)?),
            ),
            CmpExpr::Test(t) => self.prepare(t, built)?,
        })
    }

    /// Prepares one comparison. Kept out of [`Pattern::cmp_node`] so that
    /// the recursive frame stays small (chains of comparisons nest as deep
    /// as the parser's limits allow).
    #[inline(never)]
    fn prepare(&mut self, t: &Test, built: &mut Built) -> Result<CNode, String> {
        let plain_keys = t.path.steps.iter().all(|st| {
            matches!(st, Step::Key(k)
                if !k.ends_with("_ref")
                    && !k.ends_with("_refs")
                    && !k.ends_with("_hex")
                    && !k.ends_with("_bin"))
        });
        let mut p = Prepared {
            test: t.clone(),
            sdo_type: is_sdo_type(&t.path.object_type),
            plain_keys,
            like: None,
            like_binary: false,
            matches: None,
        };
        match &t.op {
            Op::Like(s) => {
                let nfc = compare::nfc(s);
                p.like_binary = is_binary_like(&nfc);
                p.like = Some(like(&nfc)?);
            }
            Op::Matches(s) => {
                p.matches = Some(match built.next_if(|(src, _)| src == s) {
                    Some((_, b)) => b,
                    None => build_matches(s)?,
                });
            }
            _ => {}
        }
        self.tests.push(p);
        Ok(CNode::Test(self.tests.len() - 1))
    }

    /// Whether the pattern matches the observations (as [`Pattern::matches`]
    /// without collecting the matching observations).
    pub fn is_match<J: JsonNode>(&self, obs: &Observations<'_, J>) -> Result<bool, EvalError> {
        self.run(obs, false).map(|r| r.matched)
    }

    /// Matches the pattern against the observations.
    pub fn matches<J: JsonNode>(
        &self,
        obs: &Observations<'_, J>,
    ) -> Result<MatchResult, EvalError> {
        self.run(obs, true)
    }

    fn run<J: JsonNode>(
        &self,
        obs: &Observations<'_, J>,
        ids: bool,
    ) -> Result<MatchResult, EvalError> {
        // Every comparison is evaluated on every observation first, as the
        // reference does, so an error in the data is reported whatever the
        // rest of the pattern would decide.
        if self.simple {
            // Only ORs of observation expressions: the first observation
            // of the leftmost leaf that has one is the first binding; every
            // leaf is still evaluated everywhere.
            let mut first: Option<(usize, usize)> = None;
            for (li, leaf) in self.leaves.iter().enumerate() {
                for (i, o) in obs.list.iter().enumerate() {
                    let mut any = false;
                    for &(_, root) in o.roots() {
                        if self.cmp_root(leaf, o, root)? {
                            any = true;
                        }
                    }
                    if any && first.is_none_or(|(fl, _)| fl > li) {
                        first = Some((li, i));
                    }
                }
            }
            return Ok(match first {
                Some((_, i)) => MatchResult {
                    matched: true,
                    observations: if ids { vec![i] } else { Vec::new() },
                },
                None => MatchResult {
                    matched: false,
                    observations: Vec::new(),
                },
            });
        }
        let mut leaves: Vec<Vec<u32>> = Vec::with_capacity(self.leaves.len());
        for leaf in &self.leaves {
            let mut hits = Vec::new();
            for (i, o) in obs.list.iter().enumerate() {
                let mut any = false;
                for &(_, root) in o.roots() {
                    if self.cmp_root(leaf, o, root)? {
                        any = true;
                    }
                }
                if any {
                    hits.push(i as u32);
                }
            }
            leaves.push(hits);
        }
        let ctx = Ctx {
            leaves: &leaves,
            obs: &obs.list,
        };
        let mut it = ctx.bindings(&self.tree);
        Ok(match it.next() {
            Some(b) => {
                let mut idx: Vec<usize> = b
                    .iter()
                    .flatten()
                    .filter(|i| i.1 == 0)
                    .map(|i| i.0 as usize)
                    .collect();
                idx.sort_unstable();
                idx.dedup();
                MatchResult {
                    matched: true,
                    observations: idx,
                }
            }
            None => MatchResult {
                matched: false,
                observations: Vec::new(),
            },
        })
    }
}
