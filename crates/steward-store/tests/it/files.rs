//! The SQLite database and its side files are private to the server's user: created 0600 in a
//! directory created 0700, and narrowed when found readable by others.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use steward_store::Store;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

async fn open_and_write(db: &Path) -> Store {
    let store = Store::connect(&format!("sqlite://{}?mode=rwc", db.display()))
        .await
        .expect("open");
    store.migrate().await.expect("migrate");
    crate::fixtures::tenant(&store, "acme").await;
    store
}

#[tokio::test]
async fn database_files_are_created_private() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data").join("steward");
    let db = dir.join("steward.db");
    let store = open_and_write(&db).await;
    assert_eq!(mode(&dir), 0o700, "the directory Steward created");
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", db.display());
        assert_eq!(mode(Path::new(&file)), 0o600, "{file}");
    }
    drop(store);
}

#[tokio::test]
async fn a_world_readable_database_is_narrowed_on_open() {
    let root = tempfile::tempdir().unwrap();
    let db = root.path().join("steward.db");
    drop(open_and_write(&db).await);
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = Store::connect(&format!("sqlite://{}?mode=rwc", db.display()))
        .await
        .expect("reopen");
    assert_eq!(mode(&db), 0o600);
    drop(store);
}
