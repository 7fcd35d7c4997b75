//! `releases`: the only writer of the table. A release row is created by
//! its first event, session or deploy (the processor) or upload (the admin
//! API). Its first-seen time orders releases for regression decisions, so
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
    insert_missing(tx, project_id, &ids, &names, &times).await?;
    // A statement of its own, so it sees rows that a concurrent batch committed
    // while the insert waited for it.
    let rows = sqlx::query!("SELECT name, first_seen FROM releases WHERE project_id = $1 AND name = ANY($2)", project_id, &names as _)
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows.into_iter().map(|row| (row.name, row.first_seen)).collect())
}

/// Inserts the releases not stored yet, leaving existing rows untouched.
///
/// The conflict clause names no constraint on purpose: a release is unique
/// both by id and by name, and a named target covers only one of them, so
/// two batches creating the same release at once would fail on the other.
async fn insert_missing(
    tx: &mut Transaction<'_, Postgres>,
    project_id: Uuid,
    ids: &[Uuid],
    names: &[&str],
    first_seen: &[OffsetDateTime],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO releases (project_id, id, name, first_seen)
         SELECT $1, u.* FROM UNNEST($2::uuid[], $3::text[], $4::timestamptz[]) AS u
         ON CONFLICT DO NOTHING",
        project_id,
        ids,
        names as _,
        first_seen,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records one release if it is new (an upload names it before any event).
pub async fn ensure(
    tx: &mut Transaction<'_, Postgres>,
    project_id: Uuid,
    name: &str,
    first_seen: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    let id = sentori_protocol::release_id(project_id, name);
    insert_missing(tx, project_id, &[id], &[name], &[first_seen]).await
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
    let id = sentori_protocol::release_id(project_id, name);
    insert_missing(tx, project_id, &[id], &[name], &[received_at]).await?;
    sqlx::query!(
        "UPDATE releases SET deploy_at = $3, environment = COALESCE($4, environment)
          WHERE project_id = $1 AND name = $2",
        project_id,
        name,
        deployed_at,
        environment,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sentori_testkit::TestStack;
    use sqlx::PgPool;

    use super::*;

    async fn project(pool: &PgPool) -> Uuid {
        let (org, project) = (Uuid::now_v7(), Uuid::now_v7());
        sqlx::query("INSERT INTO orgs (id, name) VALUES ($1, 'org')").bind(org).execute(pool).await.unwrap();
        sqlx::query("INSERT INTO projects (id, org_id, name) VALUES ($1, $2, 'app')")
            .bind(project)
            .bind(org)
            .execute(pool)
            .await
            .unwrap();
        project
    }

    /// Two batches meeting a new release at once: the second waits for the
    /// first, then reads the first-seen time the first stored.
    #[tokio::test]
    async fn concurrent_batches_creating_one_release_both_succeed() {
        let stack = TestStack::new().await;
        let pool = stack.pool().await;
        let project_id = project(&pool).await;
        let earlier = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() - time::Duration::hours(1);

        let mut first = pool.begin().await.unwrap();
        record_seen(&mut first, project_id, std::iter::once(("app@1.0", earlier))).await.unwrap();
        let second = tokio::spawn({
            let pool = pool.clone();
            async move {
                let mut tx = pool.begin().await.unwrap();
                let seen = record_seen(&mut tx, project_id, std::iter::once(("app@1.0", OffsetDateTime::now_utc()))).await;
                record_deploy(&mut tx, project_id, "app@1.0", Some("prod"), earlier, earlier).await?;
                tx.commit().await?;
                seen
            }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!second.is_finished(), "the second batch waits for the first to commit");
        first.commit().await.unwrap();

        let seen = second.await.unwrap().expect("the second batch succeeds");
        assert_eq!(seen.get("app@1.0"), Some(&earlier), "the first batch's first-seen time stands");
        let (count, deploy_env): (i64, Option<String>) =
            sqlx::query_as("SELECT count(*), max(environment) FROM releases WHERE project_id = $1")
                .bind(project_id)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!((count, deploy_env.as_deref()), (1, Some("prod")));
    }

    /// Batches meeting a new release at the same instant: checked only
    /// against the name, the insert of one failed on the id of the other.
    #[tokio::test]
    async fn simultaneous_batches_creating_one_release_both_succeed() {
        let stack = TestStack::new().await;
        let pool = stack.pool().await;
        let project_id = project(&pool).await;
        for round in 0..40 {
            let name = format!("app@{round}");
            let start = std::sync::Arc::new(tokio::sync::Barrier::new(6));
            let batches: Vec<_> = (0..6)
                .map(|_| {
                    let (pool, name, start) = (pool.clone(), name.clone(), start.clone());
                    tokio::spawn(async move {
                        let mut tx = pool.begin().await?;
                        start.wait().await;
                        let seen = record_seen(&mut tx, project_id, std::iter::once((name.as_str(), OffsetDateTime::now_utc()))).await?;
                        tx.commit().await?;
                        Ok::<_, sqlx::Error>(seen.contains_key(&name))
                    })
                })
                .collect();
            for batch in batches {
                assert!(batch.await.unwrap().expect("every batch succeeds"), "every batch reads the release");
            }
        }
    }
}
