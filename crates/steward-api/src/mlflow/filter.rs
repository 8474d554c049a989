//! The search filters the MLflow client sends: conditions joined by `AND`, each
//! `name <op> 'text'` (`=`, `!=`, `LIKE`, `ILIKE`), `` tag.`key` <op> 'text' `` (`=`, `!=`,
//! `LIKE`, `ILIKE`), `version_number <op> N`, or `run_id IN ('a', 'b')`. The client appends
//! `` tag.`mlflow.prompt.is_prompt` != 'true' `` to every model search. Anything else is an
//! `INVALID_PARAMETER_VALUE` naming what was not understood.

/// A compared attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attr {
    Name,
    Tag(String),
    RunId,
    VersionNumber,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Like,
    ILike,
    In,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Cond {
    pub attr: Attr,
    pub op: Op,
    pub values: Vec<String>,
}

/// A parsed filter: every condition must hold.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter(pub Vec<Cond>);

fn err(at: &str, what: &str) -> String {
    format!(
        "filter: {what} at `{}`",
        at.chars().take(40).collect::<String>()
    )
}

/// A quoted string at the start of `s` (single or double quotes, `\` escaping); the string and
/// the rest.
fn quoted(s: &str) -> Result<(String, &str), String> {
    let mut chars = s.char_indices();
    let Some((_, q)) = chars.next().filter(|(_, c)| *c == '\'' || *c == '"') else {
        return Err(err(s, "expected a quoted string"));
    };
    let mut out = String::new();
    let mut escaped = false;
    for (i, c) in chars {
        if escaped {
            out.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == q {
            return Ok((out, &s[i + c.len_utf8()..]));
        } else {
            out.push(c);
        }
    }
    Err(err(s, "unterminated string"))
}

/// An identifier or a backquoted key at the start of `s`.
fn key(s: &str) -> Result<(String, &str), String> {
    if let Some(rest) = s.strip_prefix('`') {
        let end = rest.find('`').ok_or_else(|| err(s, "unterminated `key`"))?;
        return Ok((rest[..end].to_string(), &rest[end + 1..]));
    }
    if s.starts_with('"') || s.starts_with('\'') {
        return quoted(s);
    }
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        .unwrap_or(s.len());
    if end == 0 {
        return Err(err(s, "expected a key"));
    }
    Ok((s[..end].to_string(), &s[end..]))
}

fn op(s: &str) -> Result<(Op, &str), String> {
    let upper = s.to_ascii_uppercase();
    for (text, op) in [
        ("!=", Op::Ne),
        ("=", Op::Eq),
        ("ILIKE", Op::ILike),
        ("LIKE", Op::Like),
        ("IN", Op::In),
    ] {
        if upper.starts_with(text) {
            return Ok((op, &s[text.len()..]));
        }
    }
    Err(err(s, "expected =, !=, LIKE, ILIKE or IN"))
}

/// One condition at the start of `s`; the rest.
fn cond(s: &str) -> Result<(Cond, &str), String> {
    let s = s.trim_start();
    let (word, rest) = key(s)?;
    let (attr, rest) = match word.as_str() {
        "name" => (Attr::Name, rest),
        "run_id" => (Attr::RunId, rest),
        "version_number" => (Attr::VersionNumber, rest),
        "tag" | "tags" => {
            let rest = rest
                .strip_prefix('.')
                .ok_or_else(|| err(rest, "expected tag.`key`"))?;
            let (k, rest) = key(rest)?;
            (Attr::Tag(k), rest)
        }
        "tag." | "tags." => {
            let (k, rest) = key(rest)?;
            (Attr::Tag(k), rest)
        }
        w if w.starts_with("tag.") || w.starts_with("tags.") => (
            Attr::Tag(
                w.split_once('.')
                    .map(|x| x.1)
                    .unwrap_or_default()
                    .to_string(),
            ),
            rest,
        ),
        _ => {
            return Err(err(
                s,
                "unknown attribute (name, tag.`key`, run_id, version_number)",
            ));
        }
    };
    let (op, rest) = op(rest.trim_start())?;
    let rest = rest.trim_start();
    if op == Op::In {
        let mut rest = rest
            .strip_prefix('(')
            .ok_or_else(|| err(rest, "expected ( after IN"))?;
        let mut values = Vec::new();
        loop {
            let (v, r) = quoted(rest.trim_start())?;
            values.push(v);
            let r = r.trim_start();
            if let Some(r) = r.strip_prefix(',') {
                rest = r;
            } else if let Some(r) = r.strip_prefix(')') {
                return Ok((Cond { attr, op, values }, r));
            } else {
                return Err(err(r, "expected , or )"));
            }
        }
    }
    if attr == Attr::VersionNumber {
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if end == 0 {
            return Err(err(rest, "expected a number"));
        }
        let values = vec![rest[..end].to_string()];
        return Ok((Cond { attr, op, values }, &rest[end..]));
    }
    let (v, rest) = quoted(rest)?;
    Ok((
        Cond {
            attr,
            op,
            values: vec![v],
        },
        rest,
    ))
}

impl Filter {
    pub fn parse(text: Option<&str>) -> Result<Filter, String> {
        let Some(mut s) = text.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(Filter::default());
        };
        let mut out = Vec::new();
        loop {
            let (c, rest) = cond(s)?;
            out.push(c);
            let rest = rest.trim_start();
            if rest.is_empty() {
                return Ok(Filter(out));
            }
            let upper = rest.get(..4).map(str::to_ascii_uppercase);
            if upper.as_deref() != Some("AND ") {
                return Err(err(rest, "expected AND"));
            }
            s = &rest[4..];
        }
    }
}

/// SQL `LIKE`: `%` any run, `_` one character.
pub fn like(pattern: &str, text: &str, fold: bool) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = if fold {
        (
            pattern.to_lowercase().chars().collect(),
            text.to_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    // Iterative matching with backtracking to the last `%`.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < t.len() {
        if i < p.len() && (p[i] == '_' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '%' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    while i < p.len() && p[i] == '%' {
        i += 1;
    }
    i == p.len()
}

impl Cond {
    /// Whether the condition holds for `value` (`None`: the attribute is absent, as a tag the
    /// object does not have; `!=` holds then, the others do not).
    pub fn holds(&self, value: Option<&str>) -> bool {
        let Some(v) = value else {
            return self.op == Op::Ne;
        };
        let first = self.values.first().map(String::as_str).unwrap_or_default();
        match self.op {
            Op::Eq => v == first,
            Op::Ne => v != first,
            Op::Like => like(first, v, false),
            Op::ILike => like(first, v, true),
            Op::In => self.values.iter().any(|x| x == v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clients_filters_parse() {
        let f = Filter::parse(Some(
            "name LIKE 'fraud%' AND tag.`mlflow.prompt.is_prompt` != 'true'",
        ))
        .unwrap();
        assert_eq!(f.0.len(), 2);
        assert_eq!(f.0[1].attr, Attr::Tag("mlflow.prompt.is_prompt".into()));
        assert!(
            f.0[1].holds(None),
            "a tag the model does not have is != 'true'"
        );
        let f = Filter::parse(Some("tags.`mlflow.prompt.is_prompt` != 'true'")).unwrap();
        assert_eq!(f.0[0].attr, Attr::Tag("mlflow.prompt.is_prompt".into()));
        let f = Filter::parse(Some("tag.team = 'risk'")).unwrap();
        assert_eq!(f.0[0].attr, Attr::Tag("team".into()));
        let f = Filter::parse(Some("run_id IN ('a', \"b\")")).unwrap();
        assert_eq!(f.0[0].values, ["a", "b"]);
        let f = Filter::parse(Some("name='it''s'")).unwrap_err();
        assert!(f.contains("expected AND"), "{f}");
        assert!(
            Filter::parse(Some("colour = 'red'"))
                .unwrap_err()
                .contains("unknown attribute")
        );
        assert!(Filter::parse(Some("name = 'x' OR name = 'y'")).is_err());
        assert_eq!(Filter::parse(Some("  ")).unwrap(), Filter::default());
    }

    #[test]
    fn like_follows_sql() {
        assert!(like("fraud%", "fraud-detector", false));
        assert!(like("%det%", "fraud-detector", false));
        assert!(like("fr_ud%", "fraud", false));
        assert!(!like("Fraud%", "fraud", false));
        assert!(like("Fraud%", "fraud", true));
        assert!(!like("fraud", "fraud-detector", false));
        assert!(like("%", "", false));
    }
}
