//! Audit signing-key rotations (m0018): recorded once per outgoing key, read whole for every
//! export bundle. Platform-wide rows, not a tenant's: one signing key serves every log.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, Value};
use steward_audit::{AuditTime, KeyRotation};

use crate::sql::stmt;
use crate::windows::corrupt;
use crate::{Store, StoreError, StoreResult};

impl Store {
    /// Records `rotation`; a second rotation away from the same key is a conflict.
    pub async fn record_key_rotation(
        &self,
        rotation: &KeyRotation,
        recorded_by: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let to = rotation
            .to_key()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let result = self
            .db
            .execute_raw(stmt(
                self.db_backend(),
                "INSERT INTO audit_key_rotations (from_key_id, to_key_id, to_public_key, signed_at, \
                   signature, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (from_key_id) DO NOTHING",
                vec![
                    Value::from(rotation.from_key_id.clone()),
                    Value::from(to.key_id()),
                    Value::from(rotation.to_public_key.clone()),
                    Value::from(rotation.timestamp.to_string()),
                    Value::from(rotation.signature.clone()),
                    Value::from(recorded_by.to_string()),
                    Value::from(at),
                ],
            ))
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "key {} was rotated away from already",
                rotation.from_key_id
            )));
        }
        Ok(())
    }

    /// Every rotation, oldest first.
    pub async fn key_rotations(&self) -> StoreResult<Vec<KeyRotation>> {
        let rows = self
            .db
            .query_all_raw(stmt(
                self.db_backend(),
                "SELECT from_key_id, to_public_key, signed_at, signature FROM audit_key_rotations \
                 ORDER BY recorded_at, from_key_id",
                vec![],
            ))
            .await?;
        rows.iter()
            .map(|r| {
                let signed_at: String = r.try_get("", "signed_at")?;
                Ok(KeyRotation {
                    from_key_id: r.try_get("", "from_key_id")?,
                    to_public_key: r.try_get("", "to_public_key")?,
                    timestamp: AuditTime::parse(&signed_at)
                        .map_err(|e| corrupt("audit_key_rotations.signed_at", e))?,
                    signature: r.try_get("", "signature")?,
                })
            })
            .collect()
    }
}
