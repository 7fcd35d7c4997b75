//! `SENTORI_DATABASE_READ_URL`: the issue list comes from a streaming
//! replica, an issue itself from the primary. Replay is paused on the
//! replica to tell the two apart. The primary is a server of the test's
//! own, so the base backup copies one database, not every test's.

use crate::common;

use common::{Api, Auth, IssueSeed, Session, insert_issue, json};
use sentori_testkit::PgServer;
use sqlx::PgPool;
use uuid::Uuid;

async fn listed(api: &Api, session: &Session, pid: Uuid) -> Vec<String> {
    let (status, body, _) = json(api.get(&format!("/projects/{pid}/issues")).cookie_only(session).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let mut titles: Vec<String> = body.as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap().to_owned()).collect();
    titles.sort();
    titles
}

#[tokio::test]
async fn the_issue_list_is_read_from_the_replica_and_an_issue_from_the_primary() {
    let primary = PgServer::primary().await;
    let replica = PgServer::replica_of(&primary).await;
    let (primary_url, replica_url) = (primary.url("postgres"), replica.url("postgres"));
    let api = Api::start_with(&[("SENTORI_DATABASE_URL", &primary_url), ("SENTORI_DATABASE_READ_URL", &replica_url)]).await;
    let (writes, standby) = (PgPool::connect(&primary_url).await.unwrap(), PgPool::connect(&replica_url).await.unwrap());
    let pid = Uuid::now_v7();
    sqlx::query("INSERT INTO projects (id, org_id, name) VALUES ($1, $2, 'shop')")
        .bind(pid)
        .bind(sentori_protocol::DEV_ORG_ID)
        .execute(&writes)
        .await
        .unwrap();
    insert_issue(&writes, pid, IssueSeed { title: "first", ..Default::default() }).await;
    PgServer::wait_caught_up(&writes, &standby).await;
    let session = api.login().await;
    assert_eq!(listed(&api, &session, pid).await, ["TypeError: first"]);

    // While the replica stands still, a new issue exists only on the primary.
    sqlx::query("SELECT pg_wal_replay_pause()").execute(&standby).await.unwrap();
    let second = insert_issue(&writes, pid, IssueSeed { title: "second", ..Default::default() }).await;
    assert_eq!(listed(&api, &session, pid).await, ["TypeError: first"], "the list is read from the replica");
    let (status, issue, _) = json(api.get(&format!("/projects/{pid}/issues/{second}")).cookie_only(&session).send().await.unwrap()).await;
    assert_eq!((status, issue["title"].as_str()), (200, Some("TypeError: second")), "an issue is read from the primary");

    sqlx::query("SELECT pg_wal_replay_resume()").execute(&standby).await.unwrap();
    PgServer::wait_caught_up(&writes, &standby).await;
    assert_eq!(listed(&api, &session, pid).await, ["TypeError: first", "TypeError: second"]);
}
