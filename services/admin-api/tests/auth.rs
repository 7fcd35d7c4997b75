//! Login, sessions, CSRF, the login rate limit and token scoping.

use crate::common;

use common::{Api, Auth, PASSWORD, json, session_of};
use reqwest::Method;
use sentori_protocol::{DEV_PROJECT_ID, TokenKind};
use serde_json::json;

#[tokio::test]
async fn login_sets_a_hardened_cookie_and_me_returns_the_same_csrf_token() {
    let api = Api::start().await;
    let (status, body, _) = json(api.get_login("wrong", None).await).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "unauthorized");

    let response = api.get_login(PASSWORD, None).await;
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("sentori_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=604800"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http public URL: no Secure flag: {cookie}");
    let session = session_of(response).await;
    assert!(session.csrf.len() >= 32);

    let (status, me, _) = json(api.get("/me").cookie_only(&session).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(me, json!({"kind": "operator", "csrfToken": session.csrf}));

    // The session row exists server-side and expires in 7 days.
    let days: f64 = sqlx::query_scalar("SELECT (extract(epoch FROM expires_at - now()) / 86400)::float8 FROM admin_sessions")
        .fetch_one(&api.pool)
        .await
        .unwrap();
    assert!((6.9..=7.0).contains(&days), "{days}");
}

#[tokio::test]
async fn over_https_the_cookie_is_host_prefixed_and_secure() {
    let api = Api::start_with(&[("SENTORI_PUBLIC_URL", "https://sentori.example.com")]).await;
    let response = api.get_login(PASSWORD, None).await;
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-sentori_session="), "{cookie}");
    for attribute in ["; Secure", "; Path=/", "; HttpOnly"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains("Domain"), "a __Host- cookie has no Domain: {cookie}");
    let session = session_of(response).await;
    assert_eq!(api.get("/me").cookie_only(&session).send().await.unwrap().status(), 200);
    // The unprefixed name is not read: a cookie planted by a sibling domain cannot pose as the session.
    let value = session.cookie.split_once('=').unwrap().1;
    let plain = common::Session { cookie: format!("sentori_session={value}"), csrf: session.csrf.clone() };
    assert_eq!(api.get("/me").cookie_only(&plain).send().await.unwrap().status(), 401);

    let response = api.request(Method::POST, "/logout").operator(&session).send().await.unwrap();
    let cleared = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cleared.starts_with("__Host-sentori_session=;") && cleared.contains("; Secure"), "{cleared}");
}

#[tokio::test]
async fn a_session_ends_at_its_lifetime_however_it_is_used() {
    let api = Api::start_with(&[("SENTORI_SESSION_LIFETIME_SECS", "10800")]).await;
    let response = api.get_login(PASSWORD, None).await;
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("Max-Age=10800"), "the lifetime is shorter than the idle timeout: {cookie}");
    let session = session_of(response).await;
    let remaining = || async {
        sqlx::query_scalar::<_, f64>("SELECT extract(epoch FROM expires_at - now())::float8 FROM admin_sessions")
            .fetch_one(&api.pool)
            .await
            .unwrap()
    };
    assert!(remaining().await <= 10800.0);

    // An hour in, a use slides the session only up to the lifetime's end.
    sqlx::query("UPDATE admin_sessions SET created_at = now() - interval '1 hour', expires_at = now() + interval '1 minute'")
        .execute(&api.pool)
        .await
        .unwrap();
    let response = api.get("/projects").cookie_only(&session).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("set-cookie"), "the slid session's cookie is re-issued");
    let left = remaining().await;
    assert!((7000.0..=7200.0).contains(&left), "slid to login + 3 hours, not 7 days: {left}");

    // Past the lifetime the session is over, though its idle expiry is still ahead.
    sqlx::query("UPDATE admin_sessions SET created_at = now() - interval '10801 seconds', expires_at = now() + interval '1 day'")
        .execute(&api.pool)
        .await
        .unwrap();
    assert_eq!(api.get("/me").cookie_only(&session).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn changing_the_admin_password_ends_every_session() {
    let mut api = Api::start().await;
    let session = api.login().await;
    api.restart_with(&[]).await;
    assert_eq!(api.get("/me").cookie_only(&session).send().await.unwrap().status(), 200, "a restart alone keeps sessions");

    api.restart_with(&[("SENTORI_ADMIN_PASSWORD", "a-brand-new-password")]).await;
    let (status, body, _) = json(api.get("/me").cookie_only(&session).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("unauthorized")), "the old password's cookie");
    assert_eq!(api.get_login(PASSWORD, None).await.status(), 401);
    let fresh = session_of(api.get_login("a-brand-new-password", None).await).await;
    assert_eq!(api.get("/me").cookie_only(&fresh).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn every_admin_api_answer_says_no_store() {
    let api = Api::start().await;
    let session = api.login().await;
    let login = api.get_login(PASSWORD, None).await;
    let answers = [
        ("login", login),
        ("me", api.get("/me").cookie_only(&session).send().await.unwrap()),
        ("unauthorized", api.get("/projects").send().await.unwrap()),
        ("unknown route", api.get("/no-such-route").send().await.unwrap()),
        ("openapi", api.get("/openapi.json").send().await.unwrap()),
    ];
    for (what, response) in answers {
        assert_eq!(response.headers().get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"), "{what}");
    }
}

#[tokio::test]
async fn logout_ends_the_session_on_the_server() {
    let api = Api::start().await;
    let session = api.login().await;
    // Without the CSRF header a live session cannot be logged out by another site.
    let response = api.request(Method::POST, "/logout").cookie_only(&session).send().await.unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(api.get("/me").cookie_only(&session).send().await.unwrap().status(), 200);

    let response = api.request(Method::POST, "/logout").operator(&session).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let cleared = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // The old cookie, replayed, is dead: the server revoked the session.
    let (status, body, _) = json(api.get("/me").cookie_only(&session).send().await.unwrap()).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "unauthorized");
    assert_eq!(api.get("/projects").cookie_only(&session).send().await.unwrap().status(), 401);
    // Logging out again is still fine.
    let response = api.request(Method::POST, "/logout").send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn expired_or_tampered_sessions_are_refused_and_used_ones_slide() {
    let api = Api::start().await;
    let session = api.login().await;
    // A session last extended more than an hour ago slides to 7 days from now.
    sqlx::query("UPDATE admin_sessions SET expires_at = now() + interval '2 days'").execute(&api.pool).await.unwrap();
    let response = api.get("/projects").cookie_only(&session).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let renewed = response.headers().get("set-cookie").expect("the slid session's cookie is re-issued");
    assert!(renewed.to_str().unwrap().starts_with("sentori_session="));
    let days: f64 = sqlx::query_scalar("SELECT (extract(epoch FROM expires_at - now()) / 86400)::float8 FROM admin_sessions")
        .fetch_one(&api.pool)
        .await
        .unwrap();
    assert!(days > 6.9, "slid to 7 days: {days}");

    // A tampered signature or id is refused without a database lookup mattering.
    let mut forged = session.clone();
    forged.cookie.pop();
    forged.cookie.push('x');
    assert_eq!(api.get("/me").cookie_only(&forged).send().await.unwrap().status(), 401);
    let garbage = common::Session { cookie: "sentori_session=abc.def.ghi".into(), csrf: String::new() };
    assert_eq!(api.get("/me").cookie_only(&garbage).send().await.unwrap().status(), 401);

    // Expired on the server: refused although the cookie's own expiry is ahead.
    sqlx::query("UPDATE admin_sessions SET expires_at = now() - interval '1 second'").execute(&api.pool).await.unwrap();
    assert_eq!(api.get("/me").cookie_only(&session).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn cookie_mutations_need_the_csrf_header_and_the_dashboards_origin() {
    let api = Api::start().await;
    let session = api.login().await;
    let create = |name: &str| api.request(Method::POST, "/projects").json(&json!({ "name": name }));

    let (status, body, _) = json(create("a").cookie_only(&session).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("csrfFailed")));
    let wrong = create("b").cookie_only(&session).header("X-Sentori-Csrf", "not-the-token").send().await.unwrap();
    assert_eq!(wrong.status(), 403);
    let foreign = create("c").operator(&session).header("Origin", "https://evil.example").send().await.unwrap();
    assert_eq!(foreign.status(), 403);
    let own = create("d").operator(&session).header("Origin", "http://sentori.test:8000").send().await.unwrap();
    assert_eq!(own.status(), 201);
    let no_origin = create("e").operator(&session).send().await.unwrap();
    assert_eq!(no_origin.status(), 201);
    // Reads need no CSRF header.
    assert_eq!(api.get("/projects").cookie_only(&session).send().await.unwrap().status(), 200);
    // A bearer call needs neither header nor origin.
    let project = api.project("bearer").await;
    let token = api.token(project, TokenKind::Admin).await;
    let response = api
        .request(Method::POST, &format!("/projects/{project}/recipients"))
        .bearer_auth(&token)
        .header("Origin", "https://evil.example")
        .json(&json!({"email": "ops@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn ten_failed_logins_a_minute_per_client_then_429() {
    let api = Api::start().await;
    // The test client connects from 127.0.0.1, like nginx: X-Real-IP names the client.
    for attempt in 0..10 {
        let response = api.get_login("wrong", Some("203.0.113.7")).await;
        assert_eq!(response.status(), 401, "attempt {attempt}");
    }
    let (status, body, headers) = json(api.get_login("wrong", Some("203.0.113.7")).await).await;
    assert_eq!(status, 429);
    assert_eq!(body["error"], "rateLimited");
    assert!(body["retryAfterMs"].as_u64().unwrap() <= 60_000);
    assert!(headers.contains_key("retry-after"));
    // Even the right password waits out the window: guessing gains nothing.
    assert_eq!(api.get_login(PASSWORD, Some("203.0.113.7")).await.status(), 429);
    // Another client is not affected.
    assert_eq!(api.get_login("wrong", Some("203.0.113.8")).await.status(), 401);
    assert_eq!(api.get_login(PASSWORD, Some("203.0.113.8")).await.status(), 200);
}

#[tokio::test]
async fn fifty_parallel_wrong_passwords_reach_the_comparison_at_most_the_limit() {
    const LIMIT: usize = 10;
    let api = std::sync::Arc::new(Api::start().await);
    let mut guesses = tokio::task::JoinSet::new();
    for n in 0..50 {
        let api = api.clone();
        guesses.spawn(async move { api.get_login(&format!("guess-{n}"), Some("203.0.113.50")).await.status().as_u16() });
    }
    let statuses = guesses.join_all().await;
    let compared = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((compared, refused), (LIMIT, 50 - LIMIT), "every try is counted before the comparison: {statuses:?}");
}

#[tokio::test]
async fn ipv6_clients_are_limited_by_their_64() {
    let api = Api::start().await;
    for host in 1..=10 {
        let response = api.get_login("wrong", Some(&format!("2001:db8:1:2::{host:x}"))).await;
        assert_eq!(response.status(), 401, "host {host}");
    }
    assert_eq!(api.get_login("wrong", Some("2001:db8:1:2:ffff::1")).await.status(), 429, "another address of the same /64");
    assert_eq!(api.get_login("wrong", Some("2001:db8:1:3::1")).await.status(), 401, "the next /64 is another client");
}

#[tokio::test]
async fn past_the_global_limit_every_client_waits() {
    let api = Api::start_with(&[("SENTORI_LOGIN_GLOBAL_TRIES_PER_MIN", "5")]).await;
    for client in 1..=5 {
        assert_eq!(api.get_login("wrong", Some(&format!("198.51.100.{client}"))).await.status(), 401, "client {client}");
    }
    let (status, body, headers) = json(api.get_login("wrong", Some("198.51.100.6")).await).await;
    assert_eq!((status, body["error"].as_str()), (429, Some("rateLimited")));
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after > 60, "the back-off outlasts the window: {retry_after}");
    // A client that never tried, with the right password, waits too.
    assert_eq!(api.get_login(PASSWORD, Some("192.0.2.77")).await.status(), 429);
}

#[tokio::test]
async fn only_tokens_the_operator_created_may_create_admin_tokens() {
    let api = Api::start().await;
    let session = api.login().await;
    let project = api.project("chain").await;
    let create = |kind: &str| {
        api.request(Method::POST, &format!("/projects/{project}/tokens")).json(&json!({"kind": kind, "label": kind}))
    };
    let (status, first, _) = json(create("admin").operator(&session).send().await.unwrap()).await;
    assert_eq!((status, first["createdBy"].as_str()), (201, Some("operator")));
    let first_token = first["token"].as_str().unwrap();
    let first_id = first["id"].as_str().unwrap();

    // A token of the operator's may create admin tokens; those record their creator.
    let (status, second, _) = json(create("admin").bearer_auth(first_token).send().await.unwrap()).await;
    assert_eq!((status, second["createdBy"].as_str()), (201, Some(first_id)));
    let second_token = second["token"].as_str().unwrap();
    // ... which may create public tokens, but no further admin tokens.
    let (status, public, _) = json(create("public").bearer_auth(second_token).send().await.unwrap()).await;
    assert_eq!((status, public["createdBy"].as_str()), (201, second["id"].as_str()));
    let (status, body, _) = json(create("admin").bearer_auth(second_token).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("forbidden")));
    assert!(body["hint"].as_str().unwrap().contains("created by another token"), "{body}");

    // The dev token is the operator's own.
    let dev_project = DEV_PROJECT_ID;
    let (status, dev_made, _) = json(
        api.request(Method::POST, &format!("/projects/{dev_project}/tokens"))
            .bearer_auth(&api.stack.dev_token)
            .json(&json!({"kind": "admin"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, dev_made["createdBy"].as_str()), (201, Some("operator")));

    // The list says who created each token.
    let (_, tokens, _) = json(api.get(&format!("/projects/{project}/tokens")).cookie_only(&session).send().await.unwrap()).await;
    let creator_of = |id: &str| tokens.as_array().unwrap().iter().find(|t| t["id"] == id).unwrap()["createdBy"].clone();
    assert_eq!(creator_of(first_id), "operator");
    assert_eq!(creator_of(second["id"].as_str().unwrap()), first_id);
    assert_eq!(tokens.as_array().unwrap().len(), 3, "the refused admin token was not created: {tokens}");
}

#[tokio::test]
async fn tokens_are_scoped_public_ones_refused_and_the_dev_token_is_the_dev_projects_admin() {
    let mut api = Api::start().await;
    let a = api.project("alpha").await;
    let b = api.project("beta").await;
    let admin_a = api.token(a, TokenKind::Admin).await;
    let public_a = api.token(a, TokenKind::Public).await;

    let (status, me, _) = json(api.get("/me").bearer_auth(&admin_a).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(me, json!({"kind": "token", "projectId": a}));
    let (status, body, _) = json(api.get(&format!("/projects/{a}/issues")).bearer_auth(&public_a).send().await.unwrap()).await;
    assert_eq!(status, 403);
    assert!(body["hint"].as_str().unwrap().contains("public ingest token"), "{body}");
    assert_eq!(api.get(&format!("/projects/{a}/issues")).bearer_auth(&admin_a).send().await.unwrap().status(), 200);
    assert_eq!(api.get(&format!("/projects/{b}/issues")).bearer_auth(&admin_a).send().await.unwrap().status(), 404);
    // The project list shows a token only its own project.
    let (_, projects, _) = json(api.get("/projects").bearer_auth(&admin_a).send().await.unwrap()).await;
    let ids: Vec<&str> = projects.as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![a.to_string().as_str()]);
    // Operator-only routes.
    assert_eq!(api.get("/status").bearer_auth(&admin_a).send().await.unwrap().status(), 403);
    let create = api.request(Method::POST, "/projects").bearer_auth(&admin_a).json(&json!({"name": "x"}));
    assert_eq!(create.send().await.unwrap().status(), 403);
    // Unknown and malformed credentials.
    assert_eq!(api.get("/projects").bearer_auth("st_pk_00000000000000000000000000").send().await.unwrap().status(), 401);
    assert_eq!(api.get("/projects").header("Authorization", "Basic abc").send().await.unwrap().status(), 401);

    let dev = &api.stack.dev_token;
    let (status, me, _) = json(api.get("/me").bearer_auth(dev).send().await.unwrap()).await;
    assert_eq!((status, me["projectId"].as_str()), (200, Some(DEV_PROJECT_ID.to_string().as_str())));
    let dev_issues = api.get(&format!("/projects/{DEV_PROJECT_ID}/issues")).bearer_auth(dev).send().await.unwrap();
    assert_eq!(dev_issues.status(), 200);
    assert_eq!(api.get(&format!("/projects/{a}/issues")).bearer_auth(dev).send().await.unwrap().status(), 404);

    // A revoked token stops working once the token cache entry expires;
    // the revocation itself is visible at once.
    let (_, created, _) = json(
        api.request(Method::POST, &format!("/projects/{a}/tokens"))
            .bearer_auth(&admin_a)
            .json(&json!({"kind": "admin", "label": "ci"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(created["kind"], "admin");
    assert!(created["token"].as_str().unwrap().starts_with("st_pk_"));
    let revoked = created["token"].as_str().unwrap();
    let tid = created["id"].as_str().unwrap();
    let issues = format!("/projects/{a}/issues");
    // Used once, so the token cache vouches for it from here on.
    assert_eq!(api.get(&issues).bearer_auth(revoked).send().await.unwrap().status(), 200);
    let (status, _, _) =
        json(api.request(Method::DELETE, &format!("/projects/{a}/tokens/{tid}")).bearer_auth(&admin_a).send().await.unwrap())
            .await;
    assert_eq!(status, 200);
    let (_, tokens, _) = json(api.get(&format!("/projects/{a}/tokens")).bearer_auth(&admin_a).send().await.unwrap()).await;
    let row = tokens.as_array().unwrap().iter().find(|t| t["id"] == tid).unwrap().clone();
    assert!(row["revokedAt"].is_string());
    assert_eq!(row["label"], "ci");
    assert_eq!(row["last4"].as_str().unwrap(), &revoked[28..]);
    // Making tokens checks the caller's own token in PostgreSQL: refused at once, cache or not.
    let (status, body, _) = json(
        api.request(Method::POST, &format!("/projects/{a}/tokens"))
            .bearer_auth(revoked)
            .json(&json!({"kind": "public"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (401, Some("unauthorized")));
    // An admin-api without the cache entry (restarted here; elsewhere the
    // entry expires) refuses it everywhere, while the token that revoked it still works.
    api.restart_with(&[]).await;
    let (status, body, _) = json(api.get(&issues).bearer_auth(revoked).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("unauthorized")));
    assert_eq!(api.get(&issues).bearer_auth(&admin_a).send().await.unwrap().status(), 200);
}
