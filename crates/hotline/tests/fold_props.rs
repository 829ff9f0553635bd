//! Two nodes work one case concurrently (each acting on its own view,
//! exchanging notes at random moments, the clock sometimes jumping back,
//! each ticking its own deadlines): after a final exchange both views are
//! equal, equal to the fold of the union of notes in any order with
//! duplicates, every applied transition follows the previous one, and no
//! deadline escalates twice.

use accord_hotline::{
    Action, AssistOutcome, Assistance, Case, DeadlineTable, OpenCase, Outcome, Severity, State,
    case_uuid, due_escalations, escalate_note, open_case, transition,
};
use accord_stix::{Object, Timestamp};
use proptest::prelude::*;

const A: &str = "identity--0b9e1c4c-2c0e-4d63-9d5c-2f6d0d6f0a01";
const B: &str = "identity--0b9e1c4c-2c0e-4d63-9d5c-2f6d0d6f0b02";
const C: &str = "identity--0b9e1c4c-2c0e-4d63-9d5c-2f6d0d6f0c03";

#[derive(Debug, Clone)]
enum Op {
    /// Node 0 (A, the opener) or 1 (B, the addressee) acts as `who`.
    Act {
        node: usize,
        who: usize,
        action: Action,
        text: bool,
    },
    /// All of one node's notes reach the other.
    Sync { from: usize },
    /// A node runs its deadline scheduler.
    Tick { node: usize },
    /// The clock moves (backwards too).
    Clock(i64),
}

fn action() -> impl Strategy<Value = Action> {
    let assist = (
        prop::sample::select(Assistance::ALL.to_vec()),
        prop::sample::select(AssistOutcome::ALL.to_vec()),
    )
        .prop_map(|(a, o)| Action::AssistAnswer(a, o));
    prop_oneof![
        Just(Action::Ack),
        Just(Action::Reply),
        Just(Action::Progress),
        Just(Action::Resolve),
        Just(Action::Decline),
        Just(Action::Reopen),
        assist,
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0..2usize, 0..3usize, action(), any::<bool>())
            .prop_map(|(node, who, action, text)| Op::Act { node, who, action, text }),
        2 => (0..2usize).prop_map(|from| Op::Sync { from }),
        2 => (0..2usize).prop_map(|node| Op::Tick { node }),
        2 => prop_oneof![-7200i64..0, 0i64..200_000].prop_map(Op::Clock),
    ]
}

fn ts(secs: i64) -> Timestamp {
    Timestamp::from_unix(1_772_366_400 + secs, 0)
}

fn sync(views: &mut [Case; 2], from: usize) {
    let notes: Vec<Object> = views[from].notes().cloned().collect();
    for n in &notes {
        views[1 - from]
            .apply(n)
            .expect("a note of the other node is admitted");
    }
}

fn check_chain(c: &Case) {
    let mut state = State::Open;
    let mut escalated = 0;
    for e in c.entries() {
        if let Outcome::Applied { from, to } = &e.outcome {
            assert_eq!(
                *from, state,
                "entry {} does not follow the one before",
                e.message.id
            );
            state = *to;
            if e.message.escalation.is_some() {
                escalated += 1;
            }
        }
    }
    assert_eq!(state, c.state());
    assert_eq!(escalated, c.escalation());
    let flags: u32 = c
        .cycles()
        .iter()
        .map(|cy| u32::from(cy.ack_escalated) + u32::from(cy.resolve_escalated))
        .sum();
    assert_eq!(flags, c.escalation());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn two_nodes_converge(ops in prop::collection::vec(op(), 0..60), sev in prop::sample::select(Severity::ALL.to_vec()), order in any::<u64>()) {
        let req = OpenCase {
            case_uuid: case_uuid("props"),
            from: A.into(),
            to: B.into(),
            severity: sev,
            title: "t".into(),
            description: None,
            text: String::new(),
            attachments: Vec::new(),
            assistance: vec![Assistance::Block, Assistance::Identify],
            exercise: false,
            facility: None,
        };
        let table = DeadlineTable::default();
        let (incident, open) = open_case(&req, &table, ts(0)).unwrap();
        let first = Case::from_thread(&incident, [&open]).unwrap();
        let mut views = [first.clone(), Case::new(&incident).unwrap()];
        sync(&mut views, 0);
        let parties = [A, B, C];
        let mut now = 0i64;
        for op in &ops {
            match op {
                Op::Act { node, who, action, text } => {
                    // A node writes as itself (A for node 0, B for node 1);
                    // `who` = 2 tries a stranger.
                    let actor = if *who == 2 { C } else { parties[*node] };
                    let t = if *text { "because" } else { "" };
                    match transition(&views[*node], actor, *action, t, &[], ts(now)) {
                        Ok(n) => {
                            let r = views[*node].apply(&n).unwrap();
                            prop_assert!(matches!(r, accord_hotline::Applied::New(Outcome::Applied { .. })), "{r:?}");
                        }
                        Err(e) => {
                            // A refusal names the state and changes nothing.
                            let msg = e.to_string();
                            prop_assert!(msg.contains(views[*node].id()), "{msg}");
                        }
                    }
                }
                Op::Sync { from } => sync(&mut views, *from),
                Op::Tick { node } => {
                    for e in due_escalations(&views[*node], ts(now)) {
                        let n = escalate_note(&views[*node], &e);
                        views[*node].apply(&n).unwrap();
                    }
                    prop_assert!(due_escalations(&views[*node], ts(now)).is_empty());
                    prop_assert!(due_escalations(&views[*node], ts(now - 3600)).is_empty());
                }
                Op::Clock(d) => now += d,
            }
            check_chain(&views[0]);
            check_chain(&views[1]);
        }
        sync(&mut views, 0);
        sync(&mut views, 1);
        prop_assert_eq!(&views[0], &views[1]);
        // The fold of the union, in a scrambled order with duplicates.
        let mut notes: Vec<Object> = views[0].notes().cloned().collect();
        let n = notes.len();
        let mut dup = notes.clone();
        dup.truncate(n / 2);
        notes.extend(dup);
        notes.sort_by_key(|o| {
            let id = o.get("id").unwrap().as_str().unwrap().to_owned();
            let h = id.bytes().fold(order, |a, b| a.wrapping_mul(0x100000001b3).wrapping_add(u64::from(b)));
            (h, id)
        });
        let refolded = Case::from_thread(&incident, &notes).unwrap();
        prop_assert_eq!(&refolded, &views[0]);
        // After ticking everything, nothing more is ever due.
        let mut c = refolded;
        for e in due_escalations(&c, ts(now.max(0) + 400 * 86400)) {
            let n = escalate_note(&c, &e);
            let r = c.apply(&n).unwrap();
            prop_assert!(matches!(r, accord_hotline::Applied::New(Outcome::Applied { .. })), "{r:?}");
        }
        prop_assert!(due_escalations(&c, ts(now.max(0) + 800 * 86400)).is_empty());
        check_chain(&c);
    }
}
