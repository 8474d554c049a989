//! `steward policy check`: compiler and linter diagnostics, each with a line and column.

use steward_policy::{Level, check_source};

/// (source, code, line, column, text in the message)
const CASES: &[(&str, &str, usize, usize, &str)] = &[
    ("fn on_window(ctx) {\n  let x = ;\n}", "syntax", 2, 11, ""),
    (
        "fn on_windw(ctx) { }\nfn schedule() { \"daily\" }",
        "unknown-hook",
        1,
        1,
        "did you mean `on_window`",
    ),
    (
        "fn schedule() { \"daily\" }\n  fn on_promotion() { allow() }",
        "hook-arity",
        2,
        3,
        "must take one parameter",
    ),
    (
        "fn schedule(x) { \"daily\" }",
        "hook-arity",
        1,
        1,
        "no parameters",
    ),
    (
        "fn on_window(ctx) {\n    alrt(\"warning\", \"x\", \"c\")\n}",
        "unknown-function",
        2,
        5,
        "did you mean `alert`",
    ),
    (
        "fn on_window(ctx) {\n    page_oncall(\"x\")\n}",
        "unknown-function",
        2,
        5,
        "unknown function or decision `page_oncall`",
    ),
    (
        "fn on_window(ctx) {\n  [annotate(\"a\"),\n   alert(\"warning\", \"x\")]\n}",
        "arity",
        3,
        4,
        "`alert` takes 3 argument(s), but 2 were given",
    ),
    (
        "fn on_window(ctx) { retrain(\"airflow\", \"job\") }",
        "arity",
        1,
        21,
        "`retrain` takes 1",
    ),
    (
        "fn helper(a, b) { a + b }\nfn on_window(ctx) { helper(1) }",
        "arity",
        2,
        21,
        "`helper` takes 2",
    ),
    (
        "fn on_promotion(ctx) { require_approval(\"sre\") }",
        "arity",
        1,
        24,
        "require_approval",
    ),
    (
        "fn on_window(ctx) { sleep(1) }",
        "forbidden",
        1,
        21,
        "blocks the evaluation thread",
    ),
    (
        "fn on_window(ctx) { x + 1 }",
        "syntax",
        1,
        21,
        "Undefined variable",
    ),
    (
        "import \"x\" as y;\nfn on_window(ctx) { }",
        "syntax",
        1,
        1,
        "import",
    ),
    ("let x = 1;", "no-hooks", 1, 1, "defines no hook"),
];

#[test]
fn diagnostics_name_the_problem_and_its_position() {
    for (src, code, line, column, text) in CASES {
        let diagnostics = check_source("p.rhai", src);
        let found = diagnostics.iter().find(|d| d.code == *code);
        let d = found.unwrap_or_else(|| panic!("{src:?}: no `{code}` in {diagnostics:?}"));
        assert_eq!(
            (d.position.line, d.position.column),
            (*line, *column),
            "{src:?}: {d}"
        );
        assert!(d.message.contains(text), "{src:?}: {d}");
        assert!(
            d.to_string()
                .starts_with(&format!("p.rhai:{line}:{column}: ")),
            "{d}"
        );
    }
}

#[test]
fn warnings_do_not_fail_compilation() {
    let src = "let threshold = 0.2;\nprint(\"top\");\nfn on_window(ctx) { }";
    let diagnostics = check_source("p.rhai", src);
    assert!(
        diagnostics.iter().all(|d| d.level == Level::Warning),
        "{diagnostics:?}"
    );
    assert!(
        diagnostics
            .iter()
            .any(|d| d.code == "top-level-code" && d.position.line == 2)
    );
}

#[test]
fn clean_policies_have_no_diagnostics() {
    let src = "const T = 0.2;\nfn schedule() { \"0 */4 * * *\" }\nfn on_window(ctx) {\n  let hits = ctx.drift.features.filter(|f| f.value > T);\n  hits.map(|f| annotate(f.feature))\n}";
    assert_eq!(check_source("p.rhai", src), vec![]);
}
