//! STIX patterns from untrusted input (indicators from partners): parsing
//! never panics, an error renders its caret, and what parses prints back to
//! text that parses to the same tree and prepares for evaluation.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match accord_pattern::parse(text) {
        Err(e) => {
            let _ = e.render(text);
        }
        Ok(ast) => {
            let printed = ast.to_string();
            let again = accord_pattern::parse(&printed).expect("printed pattern parses");
            assert_eq!(again, ast, "{printed}");
            let _ = accord_pattern::Pattern::from_ast(ast);
        }
    }
});
