//! Raw statements for what the query builder cannot say (recursive CTEs, `UPDATE .. RETURNING`),
//! written once with `$n` placeholders and adapted to the backend.

use sea_orm::{DbBackend, Statement, Value};

/// Builds a statement from SQL written with PostgreSQL-style `$1, $2 ...` placeholders. SQLite
/// gets `?1, ?2 ...`, which it binds by number, so a placeholder may be used more than once.
pub(crate) fn stmt(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_string(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}
