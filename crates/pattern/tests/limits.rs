//! Bounds on patterns from outside (issue 17): a pattern nesting tens of
//! thousands of parentheses once passed validation and then overflowed the
//! stack of every command that read it back. The parser now refuses what
//! exceeds [`Limits`], naming the limit, and every walk over the deepest
//! trees the default limits admit runs on an ordinary thread stack.

use accord_pattern::{
    Limit, Limits, Observations, Pattern, StixVersion, compile, parse, parse_limited, parse_strict,
    parse_v20,
};

const CMP: &str = "ipv4-addr:value = '198.51.100.7'";

fn limit_of(p: &str) -> Option<Limit> {
    parse(p).err().and_then(|e| e.limit)
}

#[test]
fn deep_parentheses_are_a_named_error_not_a_stack_overflow() {
    for n in [50_000, 100_000] {
        let obs = format!("{}[{CMP}]{}", "(".repeat(n), ")".repeat(n));
        let cmp = format!("[{}{CMP}{}]", "(".repeat(n), ")".repeat(n));
        for p in [&obs, &cmp] {
            for r in [parse(p), parse_strict(p), parse_v20(p)] {
                let e = r.expect_err("too deep");
                assert_eq!(e.limit, Some(Limit::Depth), "{e}");
                assert!(e.message.contains("pattern_max_depth"), "{e}");
                assert!(
                    e.offset <= 70,
                    "the error is at the first level too deep: {e}"
                );
            }
            assert!(Pattern::new(p).is_err());
        }
    }
}

#[test]
fn depth_limit_is_exact() {
    let max = Limits::DEFAULT_MAX_DEPTH;
    // `(`×(max-1) then `[`: max levels.
    let ok = format!("{}[{CMP}]{}", "(".repeat(max - 1), ")".repeat(max - 1));
    parse(&ok).expect("at the limit");
    let over = format!("{}[{CMP}]{}", "(".repeat(max), ")".repeat(max));
    assert_eq!(limit_of(&over), Some(Limit::Depth));
}

#[test]
fn comparison_and_length_limits() {
    let max = Limits::DEFAULT_MAX_COMPARISONS;
    let chain = |n: usize| format!("[{}]", vec![CMP; n].join(" OR "));
    parse(&chain(max)).expect("at the limit");
    let e = parse(&chain(max + 1)).unwrap_err();
    assert_eq!(e.limit, Some(Limit::Comparisons), "{e}");
    assert!(e.message.contains("pattern_max_comparisons"), "{e}");
    // Qualifiers nest the tree too: they count.
    let q = |n: usize| format!("[{CMP}]{}", " REPEATS 2 TIMES".repeat(n));
    parse(&q(max - 1)).expect("qualifiers at the limit");
    assert_eq!(limit_of(&q(max)), Some(Limit::Comparisons));
    // Members of a set count.
    let set = |n: usize| {
        let items: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        format!("[x:y IN ({})]", items.join(","))
    };
    parse(&set(max)).expect("set at the limit");
    assert_eq!(limit_of(&set(max + 1)), Some(Limit::Comparisons));
    // Length is checked before anything else.
    let long = format!("[x:y = '{}']", "a".repeat(Limits::DEFAULT_MAX_LEN));
    let e = parse(&long).unwrap_err();
    assert_eq!(e.limit, Some(Limit::Length), "{e}");
    // Other limits are the caller's to choose.
    let small = Limits {
        max_len: 1000,
        max_depth: 2,
        max_comparisons: 3,
    };
    assert_eq!(
        parse_limited(&format!("(([{CMP}]))"), &small)
            .unwrap_err()
            .limit,
        Some(Limit::Depth)
    );
    parse_limited(&format!("([{CMP}])"), &small).expect("within");
    // A syntax error is not a limit.
    assert_eq!(parse("[x:y = ").unwrap_err().limit, None);
}

/// The deepest trees the default limits admit.
fn deepest() -> Vec<String> {
    let max_c = Limits::DEFAULT_MAX_COMPARISONS;
    let max_d = Limits::DEFAULT_MAX_DEPTH;
    let mut out = vec![
        format!("[{}]", vec![CMP; max_c].join(" OR ")),
        format!("[{}]", vec![CMP; max_c].join(" AND ")),
        vec![format!("[{CMP}]"); max_c].join(" OR "),
        vec![format!("[{CMP}]"); max_c].join(" AND "),
        vec![format!("[{CMP}]"); max_c].join(" FOLLOWEDBY "),
        format!(
            "{}[{}{CMP}{}]{}",
            "(".repeat(max_d / 2),
            "(".repeat(max_d / 2 - 1),
            ")".repeat(max_d / 2 - 1),
            ")".repeat(max_d / 2)
        ),
    ];
    // Qualifiers at every level of parentheses.
    let levels = max_d - 1;
    let per = (max_c - 1) / (levels + 1);
    let mut e = format!("[{CMP}]{}", " WITHIN 5 SECONDS".repeat(per));
    for _ in 0..levels {
        e = format!("({e}){}", " REPEATS 1 TIMES".repeat(per));
    }
    out.push(e);
    out.push(format!("[{CMP}]{}", " REPEATS 1 TIMES".repeat(max_c - 1)));
    out
}

#[test]
fn every_walk_over_the_deepest_admitted_trees_fits_a_2_mib_stack() {
    let objects: Vec<serde_json::Value> = serde_json::from_str(
        r#"[
      {"type": "observed-data", "id": "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
       "first_observed": "2024-05-01T12:00:00Z", "last_observed": "2024-05-01T12:00:00Z",
       "number_observed": 1, "object_refs": ["ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"]},
      {"type": "ipv4-addr", "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "198.51.100.7"}
    ]"#,
    )
    .unwrap();
    for p in deepest() {
        let objects = objects.clone();
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let ast = parse(&p).unwrap_or_else(|e| panic!("{}", e.render(&p)));
                let printed = ast.to_string();
                assert_eq!(parse(&printed).expect("printed parses"), ast.clone());
                let _ = format!("{ast:?}");
                let _ = compile(&ast);
                // Strict refuses repeated qualifiers; it must not crash.
                let _ = parse_strict(&p);
                let pat = Pattern::new(&p).expect("prepares");
                let obs = Observations::new(&objects, StixVersion::V21).unwrap();
                let _ = pat.matches(&obs);
                drop(ast);
            })
            .unwrap()
            .join()
            .expect("no stack overflow");
    }
}
