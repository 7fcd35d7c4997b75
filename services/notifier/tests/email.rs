//! The notifier binary against a real PostgreSQL, Valkey and SMTP server
//! (`e2e/smtp_sink.py`, aiosmtpd from the local stack's venv, which stores
//! every message it accepts as a JSON file). Announcements are published on
//! the notify stream exactly as the processor publishes them.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use sentori_queue::{Envelope, ItemKind, PartitionKey, Producer, Stream};
use sentori_testkit::{ServiceProcess, TestStack, eventually, free_addr};
use sqlx::PgPool;
use uuid::Uuid;

const PUBLIC_URL: &str = "https://sentori.example";
const WAIT: Duration = Duration::from_secs(60);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The SMTP sink process; killed when dropped.
struct Sink {
    child: Child,
}

impl Sink {
    /// Starts the sink with `options` (smtp_sink.py's `--reject`, `--tls`, `--auth`, ...).
    fn start(port: u16, dir: &Path, options: &[&str]) -> Self {
        let python = std::env::var("SENTORI_TEST_PYTHON").map(PathBuf::from).unwrap_or_else(|_| workspace().join(".stack/venv/bin/python"));
        let mut child = Command::new(&python)
            .arg(workspace().join("e2e/smtp_sink.py"))
            .args(["--port", &port.to_string(), "--dir"])
            .arg(dir)
            .args(options)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting the SMTP sink with {} (run deploy/local/stack.sh start test): {e}", python.display()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP sink started");
        Self { child }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every message the sink stored, oldest first.
fn mails(dir: &Path) -> Vec<Value> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut names: Vec<PathBuf> =
        entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect();
    names.sort();
    names.iter().map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()).collect()
}

fn mails_to<'a>(all: &'a [Value], who: &str) -> Vec<&'a Value> {
    all.iter().filter(|m| m["rcpts"].as_array().unwrap().iter().any(|r| r == who)).collect()
}

struct Fixture {
    stack: TestStack,
    pool: PgPool,
    project: Uuid,
    org: Uuid,
    mail_dir: PathBuf,
    smtp_port: u16,
}

const ALICE: &str = "alice@example.com"; // new issues and regressions
const BOB: &str = "bob@example.com"; // new issues only
const CAROL: &str = "carol@example.com"; // regressions only

impl Fixture {
    async fn new() -> Self {
        let stack = TestStack::new().await;
        let pool = stack.pool().await;
        let org = Uuid::now_v7();
        let project = Uuid::now_v7();
        sqlx::query("INSERT INTO orgs (id, name) VALUES ($1, 'Acme')").bind(org).execute(&pool).await.unwrap();
        sqlx::query("INSERT INTO projects (id, org_id, name) VALUES ($1, $2, 'Shop <Web>')")
            .bind(project)
            .bind(org)
            .execute(&pool)
            .await
            .unwrap();
        for (email, on_new, on_regression) in [(ALICE, true, true), (BOB, true, false), (CAROL, false, true)] {
            sqlx::query("INSERT INTO recipients (project_id, id, email, on_new_issue, on_regression) VALUES ($1, $2, $3, $4, $5)")
                .bind(project)
                .bind(Uuid::now_v7())
                .bind(email)
                .bind(on_new)
                .bind(on_regression)
                .execute(&pool)
                .await
                .unwrap();
        }
        let mail_dir = std::env::temp_dir().join(format!("sentori-mails-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&mail_dir).unwrap();
        Self { stack, pool, project, org, mail_dir, smtp_port: free_addr().port() }
    }

    fn sink(&self) -> Sink {
        Sink::start(self.smtp_port, &self.mail_dir, &[])
    }

    async fn add_recipient(&self, email: &str) {
        sqlx::query("INSERT INTO recipients (project_id, id, email) VALUES ($1, $2, $3)")
            .bind(self.project)
            .bind(Uuid::now_v7())
            .bind(email)
            .execute(&self.pool)
            .await
            .unwrap();
    }

    fn mails(&self) -> Vec<Value> {
        mails(&self.mail_dir)
    }

    async fn notifier(&self, extra: &[(&str, &str)]) -> ServiceProcess {
        let mut env = self.stack.service_env();
        env.extend(
            [
                ("SENTORI_SMTP_HOST", "127.0.0.1".to_owned()),
                ("SENTORI_SMTP_PORT", self.smtp_port.to_string()),
                ("SENTORI_SMTP_TLS", "none".to_owned()),
                ("SENTORI_SMTP_FROM", "Sentori <alerts@sentori.example>".to_owned()),
                ("SENTORI_PUBLIC_URL", PUBLIC_URL.to_owned()),
                ("SENTORI_SMTP_RETRY_BASE_MS", "100".to_owned()),
                ("SENTORI_SMTP_RETRY_MAX_MS", "500".to_owned()),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        ServiceProcess::start("notifier", "SENTORI_NOTIFIER_ADDR", &env).await
    }

    async fn issue(&self, title: &str, status: &str) -> Uuid {
        let id = Uuid::now_v7();
        let short_id: i64 = sqlx::query_scalar("SELECT count(*) + 1 FROM issues").fetch_one(&self.pool).await.unwrap();
        sqlx::query(
            "INSERT INTO issues (project_id, id, short_id, fingerprint, components, title, culprit, type, kind, level, status,
                                 first_seen, last_seen, first_release, last_release, last_environment, event_count, user_count)
             VALUES ($1, $2, $3, $4, '[]', $5, 'render (src/<cart>.js)', 'TypeError', 'error', 'error', $6,
                     '2026-11-26T10:00:00Z', '2026-11-26T10:05:00Z', 'shop@1.0.0', 'shop@1.1.0', 'production', 7, 2)",
        )
        .bind(self.project)
        .bind(id)
        .bind(short_id)
        .bind(id.simple().to_string())
        .bind(title)
        .bind(status)
        .execute(&self.pool)
        .await
        .unwrap();
        id
    }

    /// Publishes announcements as the processor does.
    async fn announce(&self, items: &[(Uuid, &str, i64)]) {
        let conn = sentori_queue::connect(&self.stack.valkey_url, Duration::from_secs(5)).await.unwrap();
        let producer = Producer::new(conn, self.stack.keys());
        let envelopes: Vec<Envelope> = items
            .iter()
            .map(|(issue, reason, occurrence)| {
                Envelope::new(ItemKind::Notification, self.project, self.org, time::OffsetDateTime::now_utc())
                    .with_payload(json!({"issueId": issue, "reason": reason, "occurrence": occurrence}))
            })
            .collect();
        producer.append(Stream::Notify, PartitionKey::any(), &envelopes).await.unwrap();
    }

    async fn xlen(&self, key: String) -> i64 {
        let mut conn = self.stack.valkey().await;
        redis::cmd("XLEN").arg(key).query_async(&mut conn).await.unwrap()
    }

    /// Entries not yet acknowledged (acknowledged ones are deleted).
    async fn backlog(&self) -> i64 {
        self.xlen(self.stack.keys().stream(Stream::Notify)).await
    }

    async fn dead_letters(&self) -> i64 {
        self.xlen(self.stack.keys().dead_letters(Stream::Notify)).await
    }

    async fn drained(&self) {
        eventually("the notify stream is drained", WAIT, || async { (self.backlog().await == 0).then_some(()) }).await;
    }

    async fn deliveries(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM deliveries").fetch_one(&self.pool).await.unwrap()
    }

    /// Waits until nothing is left that could still send mail: every
    /// announcement acknowledged (after its mail was accepted, or as already
    /// sent) and none held back for a digest.
    async fn settled(&self) {
        self.drained().await;
        eventually("no held digest items", WAIT, || async { (self.held_for_digest().await == 0).then_some(()) }).await;
    }

    async fn held_for_digest(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM notify_digest_items").fetch_one(&self.pool).await.unwrap()
    }

    async fn wait_for_mails(&self, count: usize) -> Vec<Value> {
        eventually(&format!("{count} emails"), WAIT, || async {
            let all = self.mails();
            (all.len() >= count).then_some(all)
        })
        .await
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.mail_dir);
    }
}

#[tokio::test]
async fn a_new_issue_mails_each_matching_recipient_once_and_a_redelivery_nothing_more() {
    let f = Fixture::new().await;
    let _sink = f.sink();
    let _notifier = f.notifier(&[]).await;
    let issue = f.issue("TypeError: <img src=x onerror=alert(1)>", "active").await;
    let silenced = f.issue("SilencedError: nobody wants this", "silenced").await;

    f.announce(&[(issue, "new", 0), (silenced, "new", 0)]).await;
    let all = f.wait_for_mails(2).await;
    f.drained().await;
    assert_eq!(f.mails().len(), 2, "one email each to alice and bob, none for the silenced issue: {all:?}");
    for who in [ALICE, BOB] {
        let theirs = mails_to(&all, who);
        assert_eq!(theirs.len(), 1, "{who} gets exactly one email");
        let mail = theirs[0];
        assert_eq!(mail["subject"], "[Sentori] New issue in Shop <Web>: TypeError: <img src=x onerror=alert(1)>");
        let link = format!("{PUBLIC_URL}/projects/{}/issues/{issue}", f.project);
        let text = mail["text"].as_str().unwrap();
        for expected in [
            "TypeError: <img src=x onerror=alert(1)>",
            "Culprit: render (src/<cart>.js)",
            "Release: shop@1.0.0",
            "Environment: production",
            "First seen: 2026-11-26T10:00:00Z",
            "Events: 7",
            link.as_str(),
        ] {
            assert!(text.contains(expected), "the text part has {expected:?}: {text}");
        }
        let html = mail["html"].as_str().unwrap();
        assert!(!html.contains("<img") && html.contains("&lt;img src=x onerror=alert(1)&gt;"), "SDK data is escaped: {html}");
        assert!(html.contains("Shop &lt;Web&gt;") && html.contains(&format!("href=\"{link}\"")), "{html}");
        assert!(mail["raw"].as_str().unwrap().contains("alerts@sentori.example"), "sent from SENTORI_SMTP_FROM");
    }
    assert_eq!(f.deliveries().await, 2);
    assert!(!all.iter().any(|m| m["subject"].as_str().unwrap().contains("SilencedError")));

    // The same announcement again (a processor that crashed after
    // publishing republishes its outbox): nothing more is sent.
    f.announce(&[(issue, "new", 0), (issue, "new", 0)]).await;
    f.drained().await;
    assert_eq!(f.mails().len(), 2, "a redelivered announcement mails nothing");
    assert_eq!(f.deliveries().await, 2);
    assert_eq!(f.dead_letters().await, 0);
}

/// Operators who followed the old self-hosting guide add recipients with
/// its SQL statement, under the table's old name.
#[tokio::test]
async fn a_recipient_added_with_the_guides_sql_statement_is_mailed() {
    const DAVE: &str = "dave@example.com";
    let f = Fixture::new().await;
    let statement = format!(
        "INSERT INTO notification_recipients (id, project_id, email, on_new_issue) VALUES (gen_random_uuid(), '{}', '{DAVE}', true)",
        f.project
    );
    sqlx::raw_sql(&statement).execute(&f.pool).await.unwrap();
    let on_regression: bool =
        sqlx::query_scalar("SELECT on_regression FROM recipients WHERE email = $1").bind(DAVE).fetch_one(&f.pool).await.unwrap();
    assert!(on_regression, "a column the statement leaves out takes the table's default");

    let _sink = f.sink();
    let _notifier = f.notifier(&[]).await;
    let issue = f.issue("TypeError: x is undefined", "active").await;
    f.announce(&[(issue, "new", 0)]).await;
    let all = f.wait_for_mails(3).await;
    f.drained().await;
    assert_eq!(mails_to(&all, DAVE).len(), 1, "alice, bob and dave get the new issue: {all:?}");
}

#[tokio::test]
async fn a_regression_mails_only_the_on_regression_recipients_once_per_occurrence() {
    let f = Fixture::new().await;
    let _sink = f.sink();
    let _notifier = f.notifier(&[]).await;
    let issue = f.issue("RangeError: index out of bounds", "regressed").await;

    f.announce(&[(issue, "regressed", 1)]).await;
    let all = f.wait_for_mails(2).await;
    f.drained().await;
    let mut to: Vec<String> = f.mails().iter().flat_map(|m| m["rcpts"].as_array().unwrap().clone()).map(|r| r.as_str().unwrap().to_owned()).collect();
    to.sort();
    assert_eq!(to, [ALICE, CAROL], "bob switched regressions off: {all:?}");
    for mail in &all {
        assert_eq!(mail["subject"], "[Sentori] Regression in Shop <Web>: RangeError: index out of bounds");
        assert!(mail["text"].as_str().unwrap().contains("Release: shop@1.1.0"), "the release it came back in");
    }

    // The same regression again sends nothing; the next one (occurrence 2) does.
    f.announce(&[(issue, "regressed", 1)]).await;
    f.drained().await;
    assert_eq!(f.mails().len(), 2);
    f.announce(&[(issue, "regressed", 2)]).await;
    f.wait_for_mails(4).await;
    f.drained().await;
    assert_eq!(f.mails().len(), 4);
    assert_eq!(f.deliveries().await, 4);
}

#[tokio::test]
async fn smtp_down_then_up_delivers_exactly_once() {
    let f = Fixture::new().await;
    let notifier = f.notifier(&[("SENTORI_SMTP_MAX_ATTEMPTS", "1000")]).await;
    let issue = f.issue("Error: the mail server is down", "active").await;
    f.announce(&[(issue, "new", 0)]).await;

    // Nothing listens on the SMTP port: the notifier keeps the announcement
    // (unacknowledged) and retries; nothing is recorded as sent. A second
    // failed attempt shows the first one's outcome is final.
    wait_for_failed_attempts(&notifier, 2).await;
    assert_eq!(f.deliveries().await, 0, "nothing is recorded while SMTP is down");
    assert_eq!(f.backlog().await, 1, "the announcement is kept while SMTP is down");
    assert_eq!(f.dead_letters().await, 0);

    let _sink = f.sink();
    let all = f.wait_for_mails(2).await;
    f.drained().await;
    let all_now = f.mails();
    assert_eq!(all_now.len(), 2, "alice and bob, once each: {all:?}");
    assert_eq!(mails_to(&all_now, ALICE).len(), 1);
    assert_eq!(mails_to(&all_now, BOB).len(), 1);
    assert_eq!(f.deliveries().await, 2);
}

#[tokio::test]
async fn an_announcement_that_cannot_be_sent_ends_on_the_dead_letter_stream() {
    let f = Fixture::new().await;
    let _notifier = f.notifier(&[("SENTORI_SMTP_MAX_ATTEMPTS", "3")]).await;
    let issue = f.issue("Error: nobody is listening", "active").await;
    f.announce(&[(issue, "new", 0)]).await;

    eventually("the announcement on the dead-letter stream", WAIT, || async { (f.dead_letters().await == 1).then_some(()) }).await;
    assert_eq!(f.backlog().await, 0, "moved, not copied");
    assert_eq!(f.deliveries().await, 0);
    let mut valkey = f.stack.valkey().await;
    let entries: redis::streams::StreamRangeReply =
        redis::cmd("XRANGE").arg(f.stack.keys().dead_letters(Stream::Notify)).arg("-").arg("+").query_async(&mut valkey).await.unwrap();
    let error: String = entries.ids[0].get("error").unwrap();
    assert!(error.contains("not sent after 3 attempts"), "{error}");
}

#[tokio::test]
async fn without_an_smtp_host_announcements_are_acknowledged_unsent() {
    let f = Fixture::new().await;
    let _sink = f.sink();
    let env = f.stack.service_env();
    let _notifier = ServiceProcess::start("notifier", "SENTORI_NOTIFIER_ADDR", &env).await;
    let issue = f.issue("Error: email is off", "active").await;
    f.announce(&[(issue, "new", 0)]).await;
    f.drained().await;
    assert_eq!(f.deliveries().await, 0);
    assert_eq!(f.dead_letters().await, 0);
    assert!(f.mails().is_empty());
}

#[tokio::test]
async fn a_burst_of_new_issues_becomes_a_digest() {
    let f = Fixture::new().await;
    let _sink = f.sink();
    let _notifier = f.notifier(&[("SENTORI_NOTIFY_DIGEST_THRESHOLD", "2"), ("SENTORI_NOTIFY_DIGEST_WINDOW_SECS", "5")]).await;
    let mut issues = Vec::new();
    for n in 1..=6 {
        issues.push(f.issue(&format!("BurstError{n}: storm"), "active").await);
    }
    let announcements: Vec<(Uuid, &str, i64)> = issues.iter().map(|i| (*i, "new", 0)).collect();
    f.announce(&announcements).await;

    // Per recipient: the first two one by one, the other four in one digest.
    let all = f.wait_for_mails(6).await;
    f.settled().await;
    let all_now = f.mails();
    assert_eq!(all_now.len(), 6, "{all:?}");
    for who in [ALICE, BOB] {
        let theirs = mails_to(&all_now, who);
        assert_eq!(theirs.len(), 3, "{who}: two emails and one digest");
        let singles: Vec<&str> =
            theirs.iter().map(|m| m["subject"].as_str().unwrap()).filter(|s| s.starts_with("[Sentori] New issue in")).collect();
        assert_eq!(singles.len(), 2, "{singles:?}");
        let digest = theirs.iter().find(|m| m["subject"] == "[Sentori] 4 new issues in Shop <Web>").expect("a digest of four");
        let text = digest["text"].as_str().unwrap();
        let html = digest["html"].as_str().unwrap();
        let mut listed = 0;
        for (n, issue) in issues.iter().enumerate() {
            let title = format!("BurstError{}: storm", n + 1);
            let in_single = singles.iter().any(|s| s.contains(&title));
            let in_digest = text.contains(&title);
            assert!(in_single != in_digest, "{title} is in exactly one of {who}'s emails");
            if in_digest {
                listed += 1;
                assert!(html.contains(&format!("{PUBLIC_URL}/projects/{}/issues/{issue}", f.project)), "the digest links {title}");
            }
        }
        assert_eq!(listed, 4);
    }
    assert_eq!(f.deliveries().await, 12, "every issue is in the delivery log for each recipient");

    // The whole burst redelivered: nothing more, and nothing held back for
    // a later digest (handled and acknowledged, so this is final).
    f.announce(&announcements).await;
    f.drained().await;
    assert_eq!(f.held_for_digest().await, 0);
    assert_eq!(f.mails().len(), 6);
    assert_eq!(f.deliveries().await, 12);
}

#[tokio::test]
async fn a_refused_recipient_does_not_hold_back_the_others_and_is_dead_lettered_at_once() {
    let f = Fixture::new().await;
    f.add_recipient("nobody@example.com").await;
    let _sink = Sink::start(f.smtp_port, &f.mail_dir, &["--reject", "nobody@example.com"]);
    // Many attempts allowed: a permanent refusal must not use them up.
    let _notifier = f.notifier(&[("SENTORI_SMTP_MAX_ATTEMPTS", "1000")]).await;
    let first = f.issue("Error: first", "active").await;
    let second = f.issue("Error: second", "active").await;
    f.announce(&[(first, "new", 0), (second, "new", 0)]).await;

    eventually("both announcements on the dead-letter stream", WAIT, || async { (f.dead_letters().await == 2).then_some(()) }).await;
    f.drained().await;
    let all = f.mails();
    assert_eq!(all.len(), 4, "alice and bob still hear about both issues: {all:?}");
    assert_eq!(mails_to(&all, ALICE).len(), 2);
    assert_eq!(mails_to(&all, BOB).len(), 2);
    assert_eq!(f.deliveries().await, 4, "the refused address has no delivery row");
    let mut valkey = f.stack.valkey().await;
    let entries: redis::streams::StreamRangeReply =
        redis::cmd("XRANGE").arg(f.stack.keys().dead_letters(Stream::Notify)).arg("-").arg("+").query_async(&mut valkey).await.unwrap();
    let error: String = entries.ids[0].get("error").unwrap();
    assert!(error.contains("refused") && error.contains("nobody@example.com"), "{error}");
}

/// Sending attempts that failed and will be retried, from the notifier's `/metrics`.
async fn transient_failures(notifier: &ServiceProcess) -> u64 {
    let text = reqwest::get(notifier.url("/metrics")).await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("sentori_emails_failed_total{kind=\"transient\"} "))
        .map_or(0, |value| value.trim().parse().expect("a counter value"))
}

/// Waits until `notifier` has failed at least `attempts` times to send.
async fn wait_for_failed_attempts(notifier: &ServiceProcess, attempts: u64) {
    eventually(&format!("{attempts} failed sending attempts"), WAIT, || async {
        (transient_failures(notifier).await >= attempts).then_some(())
    })
    .await;
}

/// The pending entry of the notify stream: (consumer, times delivered).
async fn pending_entry(f: &Fixture) -> Option<(String, u64)> {
    let mut valkey = f.stack.valkey().await;
    let pending: redis::streams::StreamPendingCountReply = redis::cmd("XPENDING")
        .arg(f.stack.keys().stream(Stream::Notify))
        .arg("notifier")
        .arg("-")
        .arg("+")
        .arg(10)
        .query_async(&mut valkey)
        .await
        .ok()?;
    pending.ids.first().map(|p| (p.consumer.clone(), p.times_delivered as u64))
}

#[tokio::test]
async fn a_notifier_killed_while_retrying_leaves_the_announcement_to_another() {
    let f = Fixture::new().await;
    // Retries at least a second apart: fourteen failed attempts span at
    // least thirteen seconds, well over two claim timeouts, and their loop
    // turns run the claim check (due every half timeout) in that time.
    let settings = [
        ("SENTORI_SMTP_MAX_ATTEMPTS", "1000"),
        ("SENTORI_CLAIM_IDLE_MS", "5000"),
        ("SENTORI_SMTP_RETRY_BASE_MS", "1000"),
        ("SENTORI_SMTP_RETRY_MAX_MS", "1000"),
    ];
    let mut first = f.notifier(&settings).await;
    let issue = f.issue("Error: the notifier dies", "active").await;
    f.announce(&[(issue, "new", 0)]).await;

    // SMTP is down: the first notifier holds the entry and retries. Across
    // those attempts it keeps the entry as its own (refreshed, not
    // redelivered), so no consumer, itself included, claims it meanwhile.
    let (owner, _) = eventually("the first notifier to take the announcement", WAIT, || async { pending_entry(&f).await }).await;
    wait_for_failed_attempts(&first, 14).await;
    assert_eq!(pending_entry(&f).await, Some((owner.clone(), 1)), "still the first notifier's, delivered once");

    // It dies; SMTP comes back; a second notifier claims the entry once it
    // has been idle for the claim timeout and sends it, once per recipient.
    first.kill();
    let _sink = f.sink();
    let _second = f.notifier(&settings).await;
    let all = f.wait_for_mails(2).await;
    f.drained().await;
    assert_eq!(f.mails().len(), 2, "{all:?}");
    assert_eq!(mails_to(&all, ALICE).len(), 1);
    assert_eq!(mails_to(&all, BOB).len(), 1);
    assert_eq!(f.deliveries().await, 2);
    assert_eq!(f.dead_letters().await, 0);
}

/// A private CA and a server certificate for 127.0.0.1 it signed, made with
/// the `openssl` command for one test: the notifier trusts the CA through
/// `SENTORI_SMTP_CA_FILE`, the sink serves the certificate.
struct ServerCertificate {
    ca: String,
    cert: String,
    key: String,
}

impl ServerCertificate {
    fn new(dir: &Path) -> Self {
        let path = |name: &str| dir.join(name).display().to_string();
        let (ca, ca_key, cert, key, request, extensions) =
            (path("ca.pem"), path("ca-key.pem"), path("server.pem"), path("server-key.pem"), path("server.csr"), path("server.ext"));
        std::fs::write(&extensions, "subjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n").unwrap();
        for args in [
            vec!["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=Sentori test CA", "-keyout", &ca_key, "-out", &ca],
            vec!["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", &key, "-out", &request],
            vec!["x509", "-req", "-days", "1", "-in", &request, "-CA", &ca, "-CAkey", &ca_key, "-CAcreateserial"],
        ] {
            let mut openssl = Command::new("openssl");
            openssl.args(&args).stdout(Stdio::null()).stderr(Stdio::null());
            if args[0] == "x509" {
                openssl.args(["-extfile", &extensions, "-out", &cert]);
            }
            let status = openssl.status().expect("running openssl to make test certificates");
            assert!(status.success(), "openssl {args:?}");
        }
        Self { ca, cert, key }
    }

    /// The sink's options to serve `mode` (`starttls` or `implicit`) with
    /// this certificate and require AUTH as `SMTP_USER`/`SMTP_PASS`.
    fn sink_options<'a>(&'a self, mode: &'a str) -> [&'a str; 8] {
        ["--tls", mode, "--tls-cert", &self.cert, "--tls-key", &self.key, "--auth", SMTP_LOGIN]
    }
}

const SMTP_USER: &str = "sentori";
const SMTP_PASS: &str = "s3cret";
const SMTP_LOGIN: &str = "sentori:s3cret";

async fn mail_goes_over(sink_mode: &str, notifier_mode: &str) {
    let f = Fixture::new().await;
    let certificate = ServerCertificate::new(&f.mail_dir);
    let _sink = Sink::start(f.smtp_port, &f.mail_dir, &certificate.sink_options(sink_mode));
    let _notifier = f
        .notifier(&[
            ("SENTORI_SMTP_TLS", notifier_mode),
            ("SENTORI_SMTP_CA_FILE", &certificate.ca),
            ("SENTORI_SMTP_USER", SMTP_USER),
            ("SENTORI_SMTP_PASS", SMTP_PASS),
        ])
        .await;
    let issue = f.issue("Error: sent securely", "active").await;
    f.announce(&[(issue, "new", 0)]).await;
    f.wait_for_mails(2).await;
    f.settled().await;
    let all = f.mails();
    assert_eq!(all.len(), 2, "{all:?}");
    for mail in &all {
        assert_eq!((&mail["tls"], &mail["login"]), (&json!(true), &json!(SMTP_USER)), "over TLS, after AUTH");
    }
    assert_eq!(f.deliveries().await, 2);
}

#[tokio::test]
async fn mail_goes_over_starttls_after_auth() {
    mail_goes_over("starttls", "starttls").await;
}

#[tokio::test]
async fn mail_goes_over_tls_from_the_first_byte_after_auth() {
    mail_goes_over("implicit", "tls").await;
}

/// Announces one issue to a notifier that must not get its mail through:
/// nothing reaches the sink, and the announcement ends on the dead-letter
/// stream with the error it returns.
async fn refused_delivery(f: &Fixture, sink_options: &[&str], notifier_settings: &[(&str, &str)]) -> String {
    let _sink = Sink::start(f.smtp_port, &f.mail_dir, sink_options);
    let mut settings = vec![("SENTORI_SMTP_MAX_ATTEMPTS", "1")];
    settings.extend_from_slice(notifier_settings);
    let _notifier = f.notifier(&settings).await;
    let issue = f.issue("Error: must not be sent", "active").await;
    f.announce(&[(issue, "new", 0)]).await;
    eventually("the announcement dead-lettered or a mail sent", WAIT, || async {
        (f.dead_letters().await == 1 || !f.mails().is_empty()).then_some(())
    })
    .await;
    assert!(f.mails().is_empty(), "{:?}", f.mails());
    assert_eq!(f.dead_letters().await, 1);
    assert_eq!(f.deliveries().await, 0);
    let mut valkey = f.stack.valkey().await;
    let entries: redis::streams::StreamRangeReply =
        redis::cmd("XRANGE").arg(f.stack.keys().dead_letters(Stream::Notify)).arg("-").arg("+").query_async(&mut valkey).await.unwrap();
    entries.ids[0].get("error").unwrap()
}

#[tokio::test]
async fn a_wrong_password_is_refused_for_good() {
    let f = Fixture::new().await;
    let certificate = ServerCertificate::new(&f.mail_dir);
    let settings = [
        ("SENTORI_SMTP_TLS", "starttls"),
        ("SENTORI_SMTP_CA_FILE", certificate.ca.as_str()),
        ("SENTORI_SMTP_USER", SMTP_USER),
        ("SENTORI_SMTP_PASS", "not-the-password"),
    ];
    let error = refused_delivery(&f, &certificate.sink_options("starttls"), &settings).await;
    assert!(error.contains("refused by the SMTP server") && error.contains("535"), "{error}");
}

#[tokio::test]
async fn a_certificate_the_notifier_does_not_trust_gets_no_mail() {
    let f = Fixture::new().await;
    let certificate = ServerCertificate::new(&f.mail_dir);
    let settings = [("SENTORI_SMTP_TLS", "starttls"), ("SENTORI_SMTP_USER", SMTP_USER), ("SENTORI_SMTP_PASS", SMTP_PASS)];
    let error = refused_delivery(&f, &certificate.sink_options("starttls"), &settings).await;
    assert!(error.contains("not sent after 1 attempts"), "{error}");
}

#[tokio::test]
async fn starttls_is_required_not_merely_tried() {
    let f = Fixture::new().await;
    let certificate = ServerCertificate::new(&f.mail_dir);
    // A server that offers no STARTTLS (and would take the mail in clear).
    let settings = [("SENTORI_SMTP_TLS", "starttls"), ("SENTORI_SMTP_CA_FILE", certificate.ca.as_str())];
    let error = refused_delivery(&f, &[], &settings).await;
    assert!(error.contains("not sent after 1 attempts"), "{error}");
}
