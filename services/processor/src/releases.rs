//! Release rows: created by a release's first event, session, deploy or
//! upload. Their first-seen time orders releases for regression decisions, so
//! it is set once and never moved.

use std::collections::{BTreeMap, HashMap};

use sqlx::{Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

/// Records the releases seen (earliest time each) and returns every one's first-seen time.
pub async fn record_seen<'a>(
    tx: &mut Transaction<'_, Postgres>,
    project_id: Uuid,
    seen: impl Iterator<Item = (&'a str, OffsetDateTime)>,
) -> Result<HashMap<String, OffsetDateTime>, sqlx::Error> {
    let mut earliest: BTreeMap<&str, OffsetDateTime> = BTreeMap::new();
    for (name, at) in seen {
        let entry = earliest.entry(name).or_insert(at);
        *entry = (*entry).min(at);
    }
    let names: Vec<&str> = earliest.keys().copied().collect();
    let ids: Vec<Uuid> = names.iter().map(|name| sentori_protocol::release_id(project_id, name)).collect();
    let times: Vec<OffsetDateTime> = earliest.values().copied().collect();
    let rows: Vec<(String, OffsetDateTime)> = sqlx::query_as(
        "WITH incoming AS (SELECT * FROM UNNEST($2::uuid[], $3::text[], $4::timestamptz[]) AS u(id, name, first_seen)),
              inserted AS (
                  INSERT INTO releases (project_id, id, name, first_seen)
                  SELECT $1, id, name, first_seen FROM incoming
                  ON CONFLICT (project_id, name) DO NOTHING
                  RETURNING name, first_seen)
         SELECT name, first_seen FROM inserted
         UNION ALL
         SELECT r.name, r.first_seen FROM releases r JOIN incoming i ON r.name = i.name
          WHERE r.project_id = $1",
    )
    .bind(project_id)
    .bind(&ids)
    .bind(&names)
    .bind(&times)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().collect())
}

/// A deploy: creates the release if needed and sets (or refreshes) its deploy time.
pub async fn record_deploy(
    tx: &mut Transaction<'_, Postgres>,
    project_id: Uuid,
    name: &str,
    environment: Option<&str>,
    deployed_at: OffsetDateTime,
    received_at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO releases (project_id, id, name, first_seen, deploy_at, environment)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (project_id, name) DO UPDATE
            SET deploy_at = EXCLUDED.deploy_at,
                environment = COALESCE(EXCLUDED.environment, releases.environment)",
    )
    .bind(project_id)
    .bind(sentori_protocol::release_id(project_id, name))
    .bind(name)
    .bind(received_at)
    .bind(deployed_at)
    .bind(environment)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
