//! `projects`: the only writer of the table. The admin API creates a
//! project; the processor reserves its issues' short numbers.

use sqlx::PgPool;
use uuid::Uuid;

/// Creates a project in the install's org and returns its id; `None` when
/// no org exists. A single-tenant install has one org, the oldest (the dev
/// org the migrations create), which every new project joins.
pub async fn create(pool: &PgPool, name: &str, platform: Option<&str>) -> Result<Option<Uuid>, sqlx::Error> {
    let id = Uuid::now_v7();
    let inserted = sqlx::query!(
        "INSERT INTO projects (id, org_id, name, platform)
         SELECT $1, o.id, $2, $3 FROM orgs o ORDER BY o.created_at, o.id LIMIT 1",
        id,
        name,
        platform,
    )
    .execute(pool)
    .await?;
    Ok((inserted.rows_affected() == 1).then_some(id))
}

/// The org a project belongs to (`None`: no such project).
pub async fn org_of(pool: &PgPool, project_id: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!("SELECT org_id FROM projects WHERE id = $1", project_id).fetch_optional(pool).await
}

/// The first of `count` numbers for new issues of the project (`None`: no
/// such project). Reserved with a short statement of its own, because
/// holding the project row until a batch commits would serialise every
/// processor working on the project; an issue created concurrently by
/// another processor just leaves a gap.
pub async fn reserve_short_ids(pool: &PgPool, project_id: Uuid, count: usize) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"UPDATE projects SET next_short_id = next_short_id + $2 WHERE id = $1 RETURNING next_short_id - $2 AS "first!""#,
        project_id,
        count as i64,
    )
    .fetch_optional(pool)
    .await
}

#[cfg(test)]
mod tests {
    use sentori_testkit::TestStack;

    use super::*;

    #[tokio::test]
    async fn a_new_project_numbers_its_issues_from_one_without_reuse() {
        let stack = TestStack::new().await;
        let pool = stack.pool().await;
        let id = create(&pool, "shop", Some("javascript")).await.unwrap().expect("the dev org holds it");
        assert_eq!(reserve_short_ids(&pool, id, 3).await.unwrap(), Some(1));
        assert_eq!(reserve_short_ids(&pool, id, 1).await.unwrap(), Some(4));
        assert_eq!(reserve_short_ids(&pool, Uuid::now_v7(), 1).await.unwrap(), None, "no such project");
    }
}
