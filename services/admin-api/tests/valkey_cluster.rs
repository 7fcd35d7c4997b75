//! The admin API on a Valkey Cluster: the login limit's script (three keys
//! under one hash tag) runs there, and `/status` adds up every partition
//! of every stream.

use crate::common;

use common::{Api, Auth, json};
use sentori_testkit::ValkeyCluster;

#[tokio::test]
async fn logins_and_the_status_page_work_on_a_cluster() {
    let cluster = ValkeyCluster::start(3).await;
    let api = Api::start_with(&[("SENTORI_VALKEY_URL", &cluster.url()), ("SENTORI_STREAM_SHARDS", "16")]).await;
    let session = api.login().await;
    let (status, body, _) = json(api.get("/status").cookie_only(&session).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["valkeyMs"].is_number(), "{body}");
    let streams = body["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 5, "{body}");
    assert!(streams.iter().all(|s| s["partitions"] == 16 && s["length"] == 0), "{body}");
}
