//! Diagnostics for `steward policy check`: syntax errors, unknown hooks, unknown functions
//! and decisions, wrong arity. Every diagnostic carries a line and a column.
//!
//! The linter walks the AST rhai built without optimisation, so every call the author wrote
//! is still there with its position. Function names are checked against the script's own
//! functions and the natives registered in the engine (decisions, helpers, rhai's packages).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use rhai::{AST, ASTNode, Expr, FnCallExpr, Stmt};
use serde::{Deserialize, Serialize};

use crate::decision::CONSTRUCTORS;
use crate::error::Position;

/// How serious a diagnostic is. Errors make compilation fail; warnings do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Error,
    Warning,
}

/// One finding of the compiler or the linter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// The policy (file) name the diagnostic is about.
    pub policy: String,
    pub level: Level,
    /// A stable short code: `syntax`, `unknown-hook`, `hook-arity`, `unknown-function`,
    /// `arity`, `forbidden`, `no-hooks`, `shadowed-builtin`, `unknown-method`, `top-level-code`.
    pub code: String,
    pub message: String,
    pub position: Position,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.level == Level::Error
    }

    pub(crate) fn new(
        policy: &str,
        level: Level,
        code: &str,
        message: String,
        position: Position,
    ) -> Self {
        Self {
            policy: policy.to_string(),
            level,
            code: code.to_string(),
            message,
            position,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {level}[{}]: {}",
            self.policy, self.position.line, self.position.column, self.code, self.message
        )
    }
}

/// The hooks a policy may define, with their parameter counts.
pub const HOOKS: [(&str, usize); 3] = [("on_window", 1), ("on_promotion", 1), ("schedule", 0)];

/// Names rhai treats as language keywords rather than registered functions.
const KEYWORD_FUNCTIONS: [&str; 9] = [
    "print",
    "debug",
    "type_of",
    "Fn",
    "call",
    "curry",
    "is_def_var",
    "is_def_fn",
    "is_shared",
];

/// Functions rhai ships that policies may not use, with the reason shown to the author.
pub(crate) const FORBIDDEN: [(&str, &str); 3] = [
    (
        "sleep",
        "blocks the evaluation thread; policies must not wait",
    ),
    (
        "exit",
        "ends the script without a result; return decisions instead",
    ),
    (
        "timestamp",
        "reads the clock; use `now(ctx)` or `ctx.window.end` so replays are reproducible",
    ),
];

/// The natives an engine offers: name -> accepted parameter counts.
#[derive(Clone, Debug, Default)]
pub(crate) struct KnownFunctions(BTreeMap<String, BTreeSet<usize>>);

impl KnownFunctions {
    pub fn from_engine(engine: &rhai::Engine) -> Self {
        let mut known: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
        for (name, arity) in engine.collect_fn_metadata(
            None,
            |f| Some((f.metadata.name.to_string(), f.metadata.num_params)),
            true,
        ) {
            known.entry(name).or_default().insert(arity);
        }
        Self(known)
    }
}

/// Lints a compiled (unoptimised) AST. `source` is used to locate function definitions.
pub(crate) fn lint(
    policy: &str,
    source: &str,
    ast: &AST,
    known: &KnownFunctions,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let script: BTreeMap<String, BTreeSet<usize>> =
        ast.iter_functions().fold(BTreeMap::new(), |mut m, f| {
            m.entry(f.name.to_string())
                .or_default()
                .insert(f.params.len());
            m
        });

    lint_definitions(policy, source, ast, known, &mut out);

    ast.walk(&mut |path: &[ASTNode]| {
        let (call, pos, is_method) = match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(call, pos)))
            | Some(ASTNode::Stmt(Stmt::FnCall(call, pos))) => (call, *pos, false),
            Some(ASTNode::Expr(Expr::MethodCall(call, pos))) => (call, *pos, true),
            _ => return true,
        };
        if let Some(d) = lint_call(policy, call, pos, is_method, &script, known) {
            out.push(d);
        }
        true
    });

    out.sort_by(|a, b| (a.position, &a.code).cmp(&(b.position, &b.code)));
    out.dedup();
    out
}

fn lint_definitions(
    policy: &str,
    source: &str,
    ast: &AST,
    known: &KnownFunctions,
    out: &mut Vec<Diagnostic>,
) {
    let mut hooks = 0;
    for f in ast.iter_functions() {
        if f.name.starts_with("anon$") {
            continue; // closures
        }
        let pos = find_fn_definition(source, f.name);
        let arity = f.params.len();
        if let Some((_, expected)) = HOOKS.iter().find(|(h, _)| *h == f.name) {
            hooks += 1;
            if arity != *expected {
                let params = if *expected == 1 {
                    "one parameter (ctx)"
                } else {
                    "no parameters"
                };
                let message = format!("hook `{}` must take {params}, but takes {arity}", f.name);
                out.push(Diagnostic::new(
                    policy,
                    Level::Error,
                    "hook-arity",
                    message,
                    pos,
                ));
            }
        } else if f.name.starts_with("on_") {
            let mut message = format!(
                "unknown hook `{}`; hooks are on_window(ctx), on_promotion(ctx) and schedule()",
                f.name
            );
            if let Some(s) = suggest(f.name, HOOKS.iter().map(|(h, _)| *h)) {
                message.push_str(&format!(" (did you mean `{s}`?)"));
            }
            out.push(Diagnostic::new(
                policy,
                Level::Error,
                "unknown-hook",
                message,
                pos,
            ));
        } else if known.0.contains_key(f.name) {
            let message = format!(
                "function `{}` shadows the built-in of the same name",
                f.name
            );
            out.push(Diagnostic::new(
                policy,
                Level::Warning,
                "shadowed-builtin",
                message,
                pos,
            ));
        }
    }
    if hooks == 0 {
        let message =
            "policy defines no hook; define on_window(ctx), on_promotion(ctx) or schedule()"
                .to_string();
        out.push(Diagnostic::new(
            policy,
            Level::Error,
            "no-hooks",
            message,
            Position { line: 1, column: 1 },
        ));
    }
    for stmt in ast.statements() {
        let is_declaration = matches!(stmt, Stmt::Var(..) | Stmt::Noop(..));
        if !is_declaration {
            let pos =
                Position::from_rhai(stmt.position()).unwrap_or(Position { line: 1, column: 1 });
            let message = "top-level code is not run; put statements inside a hook (top-level `const` values may be used in hooks)".to_string();
            out.push(Diagnostic::new(
                policy,
                Level::Warning,
                "top-level-code",
                message,
                pos,
            ));
        }
    }
}

fn lint_call(
    policy: &str,
    call: &FnCallExpr,
    pos: rhai::Position,
    is_method: bool,
    script: &BTreeMap<String, BTreeSet<usize>>,
    known: &KnownFunctions,
) -> Option<Diagnostic> {
    if call.is_operator_call() || call.is_qualified() || call.name.starts_with("anon$") {
        return None;
    }
    let name = call.name.as_str();
    let pos = Position::from_rhai(pos).unwrap_or(Position { line: 1, column: 1 });
    if let Some((_, why)) = FORBIDDEN.iter().find(|(f, _)| *f == name) {
        return Some(Diagnostic::new(
            policy,
            Level::Error,
            "forbidden",
            format!("`{name}` is not available in policies: it {why}"),
            pos,
        ));
    }
    if KEYWORD_FUNCTIONS.contains(&name) {
        return None;
    }
    let script_arities = script.get(name);
    let native_arities = known.0.get(name);
    if is_method {
        // Methods receive their object as a hidden first argument; script functions called
        // as methods see it as `this`. Only the name is checked: arity rules differ.
        if script_arities.is_none() && native_arities.is_none() {
            return Some(Diagnostic::new(
                policy,
                Level::Warning,
                "unknown-method",
                format!("unknown method `{name}`"),
                pos,
            ));
        }
        return None;
    }
    let arity = call.args.len();
    let mut accepted: BTreeSet<usize> = BTreeSet::new();
    accepted.extend(script_arities.into_iter().flatten());
    accepted.extend(native_arities.into_iter().flatten());
    if accepted.is_empty() {
        let kind = if name.starts_with("on_") {
            "hook"
        } else {
            "function or decision"
        };
        let mut message = format!("unknown {kind} `{name}`");
        let candidates = CONSTRUCTORS
            .iter()
            .map(|(n, _)| *n)
            .chain(script.keys().map(String::as_str));
        if let Some(s) = suggest(name, candidates) {
            message.push_str(&format!(" (did you mean `{s}`?)"));
        }
        return Some(Diagnostic::new(
            policy,
            Level::Error,
            "unknown-function",
            message,
            pos,
        ));
    }
    if !accepted.contains(&arity) {
        let expected: Vec<String> = accepted.iter().map(ToString::to_string).collect();
        let message = format!(
            "`{name}` takes {} argument(s), but {arity} were given",
            expected.join(" or ")
        );
        return Some(Diagnostic::new(policy, Level::Error, "arity", message, pos));
    }
    None
}

/// Locates `fn name` in the source (outside comments, roughly) for definition diagnostics.
fn find_fn_definition(source: &str, name: &str) -> Position {
    for (i, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut search = 0;
        while let Some(found) = code[search..].find("fn ") {
            let start = search + found;
            let rest = code[start + 3..].trim_start();
            let boundary =
                start == 0 || !code[..start].ends_with(|c: char| c.is_alphanumeric() || c == '_');
            let name_matches = rest.starts_with(name)
                && !rest[name.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_');
            if boundary && name_matches {
                return Position {
                    line: i + 1,
                    column: start + 1,
                };
            }
            search = start + 3;
        }
    }
    Position { line: 1, column: 1 }
}

/// The candidate within edit distance 2 of `name`, if any.
fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(current + 1);
            prev = current;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_and_suggestions() {
        assert_eq!(edit_distance("alrt", "alert"), 1);
        assert_eq!(
            suggest("rollbak", CONSTRUCTORS.iter().map(|(n, _)| *n)),
            Some("rollback")
        );
        assert_eq!(
            suggest("frobnicate", CONSTRUCTORS.iter().map(|(n, _)| *n)),
            None
        );
    }

    #[test]
    fn finds_definitions_not_mentions() {
        let src = "// fn on_window is below\nfn on_windows(c) {}\n  fn on_window(ctx) {}";
        assert_eq!(
            find_fn_definition(src, "on_window"),
            Position { line: 3, column: 3 }
        );
        assert_eq!(
            find_fn_definition(src, "on_windows"),
            Position { line: 2, column: 1 }
        );
    }
}
