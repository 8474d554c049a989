//! PostgreSQL row-level security (m0019), the wall behind the store's own tenant filters: as
//! the application role, a connection without a tenant sees no tenant's rows, one with tenant
//! A's sees only A's and cannot write B's, the system sees all. On SQLite there is no row
//! security; these tests check PostgreSQL, which CI runs them on.

use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::Value;
use steward_domain::*;
use steward_migrations::tenant_tables;
use steward_store::Store;
use steward_store::tenancy::{Tenancy, within};
use steward_store::testing::{APP_ROLE, TestDb, query};

use crate::fixtures::*;

fn count(rows: &[Value]) -> i64 {
    rows[0]["n"].as_i64().unwrap()
}

/// Two tenants, each with a model, a version trained on a dataset version (models, versions,
/// datasets, runs and lineage tables get rows).
async fn two_tenants(s: &Store) -> (TenantScope, TenantScope, ModelId) {
    let a = tenant(s, "a").await;
    let b = tenant(s, "b").await;
    let mut b_model = None;
    for (scope, name) in [(&a, "fraud"), (&b, "churn")] {
        let m = model(s, scope, name).await;
        let dv = dataset_version(s, scope, "transactions").await;
        let tx = s.begin_write().await.unwrap();
        let input = new_version(m.id, Some(TrainingRunRef::New(new_run(vec![dv.id], None))));
        s.register_model_version(&tx, scope, "t", &input)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        b_model = Some(m.id);
    }
    (a, b, b_model.unwrap())
}

#[tokio::test]
async fn the_application_role_sees_only_the_tenant_it_declared() {
    let db = TestDb::new().await;
    if !db.url.starts_with("postgres") {
        return;
    }
    let (a, b, b_model) = two_tenants(&db.store).await;
    let app = Store::connect_serving(&db.app_url).await.unwrap();
    assert!(!app.row_security_bypassed().await.unwrap());
    assert!(
        db.store.row_security_bypassed().await.unwrap(),
        "the tests' owner is a superuser"
    );

    // Without a tenant: nothing, in every tenant table, while the owner sees rows in many.
    let mut owner_rows = 0;
    for t in tenant_tables() {
        let sql = format!("SELECT count(*) AS n FROM {t}");
        owner_rows += count(&db.query(&sql).await.unwrap());
        let seen = count(&query(&app, &sql).await.unwrap());
        assert_eq!(seen, 0, "{t}: rows visible without a tenant");
    }
    assert!(
        owner_rows > 20,
        "the fixture wrote rows to check ({owner_rows})"
    );
    // The store's own reads come back empty too, even with the right scope.
    assert!(app.model_by_name(&a, "fraud").await.unwrap().is_none());

    // With tenant A: A's rows, none of B's, through raw SQL as well as the store.
    let (ta, tb) = (a.tenant_id(), b.tenant_id());
    within(Tenancy::Tenant(ta), async {
        let sql = "SELECT count(*) AS n FROM models";
        assert_eq!(count(&query(&app, sql).await.unwrap()), 1);
        let sql = format!("SELECT count(*) AS n FROM model_versions WHERE tenant_id = '{tb}'");
        assert_eq!(count(&query(&app, &sql).await.unwrap()), 0);
        assert!(app.model_by_name(&a, "fraud").await.unwrap().is_some());
        // A wrong scope handed to the store (the bug row security is there for) finds nothing.
        assert!(app.model(&b, b_model).await.unwrap().is_none());
        // Nor can it write B's rows: an insert is refused, updates and deletes touch nothing.
        let tx = app.begin_write().await.unwrap();
        let err = app
            .create_model(&tx, &b, "intruder", &new_model("planted"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("row-level security"), "{err}");
        drop(tx);
        for sql in [
            format!("UPDATE models SET description = 'defaced' WHERE tenant_id = '{tb}'"),
            format!("DELETE FROM training_run_inputs WHERE tenant_id = '{tb}'"),
        ] {
            query(&app, &sql).await.unwrap();
        }
    })
    .await;
    let sql = format!(
        "SELECT count(*) AS n FROM models WHERE tenant_id = '{tb}' AND description = 'test model'"
    );
    assert_eq!(
        count(&db.query(&sql).await.unwrap()),
        1,
        "B's model unchanged"
    );
    let sql = format!("SELECT count(*) AS n FROM training_run_inputs WHERE tenant_id = '{tb}'");
    assert_eq!(
        count(&db.query(&sql).await.unwrap()),
        1,
        "B's run inputs still there"
    );
    let sql = format!(
        "SELECT count(*) AS n FROM models WHERE name = 'planted' OR tenant_id NOT IN ('{ta}', '{tb}')"
    );
    assert_eq!(count(&db.query(&sql).await.unwrap()), 0);

    // The system's passes see every tenant.
    within(Tenancy::System, async {
        let sql = "SELECT count(*) AS n FROM models";
        assert_eq!(count(&query(&app, sql).await.unwrap()), 2);
    })
    .await;
}

#[tokio::test]
async fn a_connection_that_never_set_a_tenant_reads_nothing() {
    let db = TestDb::new().await;
    if !db.url.starts_with("postgres") {
        return;
    }
    two_tenants(&db.store).await;
    // A plain connection, not the store's pool: `steward.tenant` was never set at all.
    let raw = Database::connect(&db.app_url).await.unwrap();
    for t in tenant_tables() {
        let sql = format!("SELECT count(*) AS n FROM {t}");
        let row = raw
            .query_one_raw(Statement::from_string(raw.get_database_backend(), sql))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get::<i64>("", "n").unwrap(), 0, "{t}");
    }
    // Nor can it switch row security off: it owns no table.
    let off = raw
        .execute_raw(Statement::from_string(
            raw.get_database_backend(),
            "ALTER TABLE models DISABLE ROW LEVEL SECURITY".to_string(),
        ))
        .await
        .unwrap_err();
    assert!(off.to_string().contains("must be owner"), "{off}");
}

#[tokio::test]
async fn every_tenant_table_has_row_security_forced() {
    let db = TestDb::new().await;
    if !db.url.starts_with("postgres") {
        return;
    }
    let rows = db
        .query(
            "SELECT c.table_name AS t, k.relrowsecurity AS on, k.relforcerowsecurity AS forced, \
                    t.tableowner AS owner \
             FROM information_schema.columns c \
             JOIN pg_class k ON k.relname = c.table_name AND k.relkind = 'r' \
             JOIN pg_tables t ON t.tablename = c.table_name AND t.schemaname = 'public' \
             WHERE c.column_name = 'tenant_id' AND c.table_schema = 'public'",
        )
        .await
        .unwrap();
    let tables = tenant_tables();
    assert_eq!(rows.len(), tables.len(), "{rows:?}");
    for r in &rows {
        let t = r["t"].as_str().unwrap();
        assert!(tables.contains(&t), "{t} is not in tenant_tables()");
        assert_eq!(r["on"], true, "{t}");
        assert_eq!(r["forced"], true, "{t}");
        assert_ne!(r["owner"], APP_ROLE, "{t}");
    }
    // Down and up again, as an upgrade would.
    db.redo_migrations_since("m0019_row_security")
        .await
        .unwrap();
    let rows = db
        .query("SELECT count(*) AS n FROM pg_class WHERE relforcerowsecurity")
        .await
        .unwrap();
    assert_eq!(count(&rows), tables.len() as i64);
}
