//! Property tests: printing a parsed pattern and parsing it again gives the
//! same tree; the parser never panics and its errors always render.

use accord_pattern::ast::{
    CmpExpr, Literal, Number, ObjectPath, ObsExpr, Op, Qualifier, Step, Test,
};
use accord_pattern::{Pattern, parse};
use proptest::prelude::*;

const MAX_MICROS: i64 = 253_402_300_799_999_999; // 9999-12-31T23:59:59.999999Z
const MIN_MICROS: i64 = -62_135_596_800_000_000; // 0001-01-01T00:00:00Z

fn ident() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_-]{0,8}".prop_filter("not a keyword", |s| {
        !matches!(
            s.as_str(),
            "AND"
                | "OR"
                | "NOT"
                | "FOLLOWEDBY"
                | "LIKE"
                | "MATCHES"
                | "ISSUPERSET"
                | "ISSUBSET"
                | "EXISTS"
                | "LAST"
                | "IN"
                | "START"
                | "STOP"
                | "SECONDS"
                | "WITHIN"
                | "REPEATS"
                | "TIMES"
                | "true"
                | "false"
        )
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_][a-z0-9_]{0,6}",
        "[ -~]{0,6}",
        "\\PC{0,4}",
        Just("AND".to_owned())
    ]
}

fn path() -> impl Strategy<Value = ObjectPath> {
    (
        ident(),
        key(),
        prop::collection::vec(
            prop_oneof![
                key().prop_map(Step::Key),
                (-5i128..50).prop_map(Step::Index),
                Just(Step::AnyIndex)
            ],
            0..4,
        ),
    )
        .prop_map(|(object_type, first, rest)| {
            let mut steps = vec![Step::Key(first)];
            steps.extend(rest);
            ObjectPath { object_type, steps }
        })
}

fn timestamp() -> impl Strategy<Value = i64> {
    MIN_MICROS..=MAX_MICROS
}

fn literal(with_bool: bool) -> BoxedStrategy<Literal> {
    let base = prop_oneof![
        any::<i64>().prop_map(|i| Literal::Int(i128::from(i))),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Literal::Float),
        "\\PC{0,12}".prop_map(Literal::Str),
        "[ -~]{0,12}".prop_map(Literal::Str),
        prop::collection::vec(any::<u8>(), 0..12).prop_map(Literal::Binary),
        prop::collection::vec(any::<u8>(), 0..12).prop_map(Literal::Hex),
        timestamp().prop_map(Literal::Timestamp),
    ];
    if with_bool {
        prop_oneof![base, any::<bool>().prop_map(Literal::Bool)].boxed()
    } else {
        base.boxed()
    }
}

fn set() -> impl Strategy<Value = Vec<Literal>> {
    literal(true).prop_flat_map(|first| {
        let kind = std::mem::discriminant(&first);
        let is_num = matches!(first, Literal::Int(_) | Literal::Float(_));
        let is_bytes = matches!(first, Literal::Binary(_) | Literal::Hex(_));
        prop::collection::vec(literal(true), 0..4).prop_map(move |rest| {
            let mut v = vec![first.clone()];
            v.extend(rest.into_iter().filter(|l| {
                std::mem::discriminant(l) == kind
                    || (is_num && matches!(l, Literal::Int(_) | Literal::Float(_)))
                    || (is_bytes && matches!(l, Literal::Binary(_) | Literal::Hex(_)))
            }));
            v
        })
    })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        literal(true).prop_map(Op::Eq),
        literal(true).prop_map(Op::Neq),
        literal(false).prop_map(Op::Lt),
        literal(false).prop_map(Op::Le),
        literal(false).prop_map(Op::Gt),
        literal(false).prop_map(Op::Ge),
        set().prop_map(Op::In),
        prop_oneof![Just(Vec::new()), set()].prop_map(Op::In),
        "\\PC{0,8}".prop_map(Op::Like),
        prop::sample::select(vec!["^a.*b$", "[0-9]+", "(?i)evil", "x|y", "\\d{2,3}", ""])
            .prop_map(|s| Op::Matches(s.to_owned())),
        "[ -~]{0,10}".prop_map(Op::IsSubset),
        "[ -~]{0,10}".prop_map(Op::IsSuperset),
        Just(Op::Exists),
    ]
}

fn cmp() -> impl Strategy<Value = CmpExpr> {
    let leaf = (path(), any::<bool>(), op())
        .prop_map(|(path, negated, op)| CmpExpr::Test(Test { path, negated, op }));
    leaf.prop_recursive(3, 8, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| CmpExpr::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| CmpExpr::Or(Box::new(a), Box::new(b))),
        ]
    })
}

fn qualifier() -> impl Strategy<Value = Qualifier> {
    prop_oneof![
        (1i128..100_000).prop_map(|s| Qualifier::Within {
            seconds: Number::Int(s),
            micros: s * 1_000_000
        }),
        (1u32..100_000_000).prop_map(|m| {
            let x = f64::from(m) / 1000.0;
            Qualifier::Within {
                seconds: Number::Float(x),
                micros: (x * 1e6).round() as i128,
            }
        }),
        (timestamp(), timestamp()).prop_map(|(start, stop)| Qualifier::StartStop { start, stop }),
        (1u64..20).prop_map(Qualifier::Repeats),
    ]
}

fn obs() -> impl Strategy<Value = ObsExpr> {
    cmp()
        .prop_map(ObsExpr::Simple)
        .prop_recursive(3, 8, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| ObsExpr::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| ObsExpr::Or(Box::new(a), Box::new(b))),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| ObsExpr::FollowedBy(Box::new(a), Box::new(b))),
                (inner, qualifier()).prop_map(|(a, q)| ObsExpr::Qualified(Box::new(a), q)),
            ]
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn print_then_parse_gives_the_same_tree(e in obs()) {
        let text = e.to_string();
        let back = parse(&text).map_err(|err| TestCaseError::fail(format!("{}\n{}", err.render(&text), text)))?;
        prop_assert_eq!(&back, &e, "{}", text);
        // And it prepares for evaluation.
        prop_assert!(Pattern::from_ast(back).is_ok());
    }

    #[test]
    fn parser_never_panics(s in "\\PC{0,60}") {
        if let Err(e) = parse(&s) {
            let _ = e.render(&s);
        }
    }

    #[test]
    fn parser_never_panics_on_pattern_like_text(s in "[\\[\\]()a-z:'.=<>!*0-9 ,_-]{0,60}|(\\[|\\]|AND|OR|NOT|IN|LIKE|t'|h'|b'|'|[a-z-]+:[a-z]+|=| |[0-9.]+|WITHIN|SECONDS|REPEATS|TIMES|START|STOP|FOLLOWEDBY|EXISTS){0,20}") {
        if let Err(e) = parse(&s) {
            let _ = e.render(&s);
        }
    }
}

/// Found by the `pattern` fuzz target: a float constant of hundreds of
/// digits overflowed to infinity, parsed, and printed as `inf`, which does
/// not parse. It is not a constant now (as an integer beyond i128 is not),
/// and a float just in range still round-trips.
#[test]
fn a_float_too_large_for_f64_is_not_a_constant() {
    let digits = format!("{}5.5", "7".repeat(400));
    let e = parse(&format!("[v:d > {digits}]")).unwrap_err();
    assert!(
        e.render(&digits).contains("expected"),
        "{}",
        e.render(&digits)
    );
    // The fuzzer's input, byte for byte.
    let fuzz = concat!(
        "[v:d>776555555555555555555555555555555555555555555555555555555555555555555555555",
        "55555555555555555555555555555555555555555555555555555555555555555555555555555555",
        "55555555555555555555555555555555555555555555555555555555555555555555555550000000",
        "00000000000000000000000000000000000000000000000000000000000000008198552921648689",
        "60655550000000000000000000000000000000000000000000000000000000000000000000000081",
        "98552921648689606.5]",
    );
    assert!(parse(fuzz).is_err());
    let big = format!("[v:d > {}.5]", "9".repeat(300));
    let ast = parse(&big).unwrap();
    assert_eq!(parse(&ast.to_string()).unwrap(), ast);
}
