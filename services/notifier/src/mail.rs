//! The emails: rendering (plain text and HTML) and the SMTP transport.
//!
//! Everything that comes from an SDK (titles, culprits, releases,
//! environments) and from the dashboard (project names) is untrusted. Every
//! such field goes through [`printable`] before it is printed anywhere (the
//! subject, the plain text, the HTML), so an event can neither inject headers
//! nor forge lines, terminal escapes or right-to-left spoofs in a mail
//! client; the HTML part escapes it as well, so it cannot inject markup.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sentori_model::Reason;
use time::OffsetDateTime;
use uuid::Uuid;

/// How the connection to the SMTP server is secured (`SENTORI_SMTP_TLS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: a relay on localhost or a test sink.
    None,
}

impl std::str::FromStr for TlsMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "starttls" => Ok(TlsMode::StartTls),
            "tls" => Ok(TlsMode::Tls),
            "none" => Ok(TlsMode::None),
            _ => Err("expected starttls, tls or none".into()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub credentials: Option<(String, String)>,
    pub from: Mailbox,
    pub tls: TlsMode,
    /// PEM certificates trusted for the server besides the public roots
    /// (`SENTORI_SMTP_CA_FILE`): a relay with a private CA or a self-signed
    /// certificate, verified rather than accepted blindly.
    pub extra_roots_pem: Option<Vec<u8>>,
}

/// What a failed send means for a retry.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The server refused for good (5xx, or an address that cannot be one):
    /// retrying the same email cannot help.
    #[error("permanently refused: {0}")]
    Permanent(String),
    /// Connection refused, timeout, 4xx: worth retrying later.
    #[error("{0}")]
    Transient(String),
}

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(config: &SmtpConfig) -> Result<Self, lettre::transport::smtp::Error> {
        let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host);
        let builder = match config.tls {
            TlsMode::StartTls => builder.tls(Tls::Required(tls_parameters(config)?)),
            TlsMode::Tls => builder.tls(Tls::Wrapper(tls_parameters(config)?)),
            TlsMode::None => builder,
        };
        let mut builder = builder.port(config.port).timeout(Some(Duration::from_secs(30)));
        if let Some((user, pass)) = &config.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
        }
        Ok(Self { transport: builder.build(), from: config.from.clone() })
    }

    /// Hands one email to the SMTP server.
    pub async fn send(&self, to: &str, email: &Email) -> Result<(), SendError> {
        let to: Mailbox = to.parse().map_err(|e| SendError::Permanent(format!("recipient {to:?} is not an email address: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .multipart(MultiPart::alternative_plain_html(email.text.clone(), email.html.clone()))
            .map_err(|e| SendError::Permanent(format!("building the message failed: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(err) if err.is_permanent() => Err(SendError::Permanent(err.to_string())),
            Err(err) => Err(SendError::Transient(err.to_string())),
        }
    }
}

/// The server's certificate must be valid for `host` and chain to a public
/// root or to one of `SENTORI_SMTP_CA_FILE`'s certificates.
fn tls_parameters(config: &SmtpConfig) -> Result<TlsParameters, lettre::transport::smtp::Error> {
    let mut builder = TlsParameters::builder(config.host.clone());
    if let Some(pem) = &config.extra_roots_pem {
        builder = builder.add_root_certificate(Certificate::from_pem(pem)?);
    }
    builder.build()
}

/// What an email says about one issue (loaded from `issues` and `projects`).
#[derive(Debug, Clone)]
pub struct IssueFacts {
    pub project_id: Uuid,
    pub project_name: String,
    pub issue_id: Uuid,
    pub title: String,
    pub culprit: Option<String>,
    pub status: String,
    pub first_release: Option<String>,
    pub last_release: Option<String>,
    pub environment: Option<String>,
    pub first_seen: OffsetDateTime,
    pub event_count: i64,
}

impl IssueFacts {
    /// The release worth naming: where it first appeared for a new issue,
    /// where it came back for a regression.
    fn release(&self, reason: Reason) -> Option<&str> {
        match reason {
            Reason::New => self.first_release.as_deref().or(self.last_release.as_deref()),
            Reason::Regressed => self.last_release.as_deref().or(self.first_release.as_deref()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The dashboard link of an issue.
pub fn issue_link(public_url: &str, project_id: Uuid, issue_id: Uuid) -> String {
    format!("{}/projects/{project_id}/issues/{issue_id}", public_url.trim_end_matches('/'))
}

/// The email about one new or regressed issue.
pub fn issue_email(issue: &IssueFacts, reason: Reason, public_url: &str) -> Email {
    let what = match reason {
        Reason::New => "New issue",
        Reason::Regressed => "Regression",
    };
    let project_name = printable(&issue.project_name);
    let title = printable(&issue.title);
    let subject = format!("[Sentori] {what} in {}: {}", header_text(&issue.project_name, 60), header_text(&issue.title, 150));
    let link = issue_link(public_url, issue.project_id, issue.issue_id);
    let rows = [
        ("Project", project_name.clone()),
        ("Title", title),
        ("Culprit", printable_or_dash(issue.culprit.as_deref())),
        ("Release", printable_or_dash(issue.release(reason))),
        ("Environment", printable_or_dash(issue.environment.as_deref())),
        ("First seen", rfc3339(issue.first_seen)),
        ("Events", issue.event_count.to_string()),
    ];
    let intro = match reason {
        Reason::New => "A new issue appeared",
        Reason::Regressed => "A resolved issue is happening again",
    };
    let mut text = format!("{intro} in {project_name}.\n\n");
    for (label, value) in &rows {
        text.push_str(&format!("{label}: {value}\n"));
    }
    text.push_str(&format!("\nOpen it: {link}\n"));

    let mut html = format!("<p>{} in <strong>{}</strong>.</p>\n<table>\n", escape_html(intro), escape_html(&project_name));
    for (label, value) in &rows {
        html.push_str(&format!("<tr><th align=\"left\">{}</th><td>{}</td></tr>\n", escape_html(label), escape_html(value)));
    }
    html.push_str(&format!("</table>\n<p><a href=\"{0}\">Open the issue in Sentori</a></p>\n", escape_html(&link)));
    Email { subject, text, html }
}

/// One email listing the new issues a storm held back.
pub fn digest_email(project_name: &str, issues: &[IssueFacts], public_url: &str) -> Email {
    let project_name = printable(project_name);
    let subject = format!("[Sentori] {} new issues in {}", issues.len(), header_text(&project_name, 60));
    let mut text = format!(
        "{} new issues appeared in {project_name} within a short time; they are listed together instead of one email each.\n\n",
        issues.len()
    );
    let mut html = format!(
        "<p>{} new issues appeared in <strong>{}</strong> within a short time; they are listed together instead of one email each.</p>\n<ul>\n",
        issues.len(),
        escape_html(&project_name)
    );
    for issue in issues {
        let link = issue_link(public_url, issue.project_id, issue.issue_id);
        let title = printable(&issue.title);
        let culprit = printable_or_dash(issue.culprit.as_deref());
        let release = printable_or_dash(issue.release(Reason::New));
        let environment = printable_or_dash(issue.environment.as_deref());
        text.push_str(&format!(
            "- {title}\n  Culprit: {culprit}\n  Release: {release}  Environment: {environment}\n  First seen: {}  Events: {}\n  {link}\n\n",
            rfc3339(issue.first_seen),
            issue.event_count
        ));
        html.push_str(&format!(
            "<li><a href=\"{}\">{}</a><br>Culprit: {}<br>Release: {} &middot; Environment: {}<br>First seen: {} &middot; Events: {}</li>\n",
            escape_html(&link),
            escape_html(&title),
            escape_html(&culprit),
            escape_html(&release),
            escape_html(&environment),
            escape_html(&rfc3339(issue.first_seen)),
            issue.event_count
        ));
    }
    html.push_str("</ul>\n");
    Email { subject, text, html }
}

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Untrusted text as one safe line: control characters (line breaks,
/// terminal escapes, NUL) and the line and paragraph separators become
/// spaces, and the bidirectional embeddings, overrides and isolates
/// (U+202A–U+202E, U+2066–U+2069) are dropped, since they reorder what a
/// reader sees (a U+202E can make `exe.txt` read as `txt.exe`).
fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
        .map(|c| if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') { ' ' } else { c })
        .collect()
}

/// An optional field, [`printable`], or `-` when absent.
fn printable_or_dash(s: Option<&str>) -> String {
    s.map_or_else(|| "-".to_owned(), printable)
}

/// A [`printable`] value cut to at most `max` characters for a header.
fn header_text(s: &str, max: usize) -> String {
    let cleaned = printable(s);
    let cleaned = cleaned.trim();
    if cleaned.chars().count() > max {
        let cut: String = cleaned.chars().take(max - 1).collect();
        format!("{cut}…")
    } else {
        cleaned.to_owned()
    }
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn facts(title: &str) -> IssueFacts {
        IssueFacts {
            project_id: Uuid::nil(),
            project_name: "shop <web>".into(),
            issue_id: Uuid::max(),
            title: title.into(),
            culprit: Some("render (<script>alert(1)</script>.js)".into()),
            status: "active".into(),
            first_release: Some("shop@1.0".into()),
            last_release: Some("shop@1.1".into()),
            environment: Some("prod".into()),
            first_seen: datetime!(2026-11-26 10:00 UTC),
            event_count: 3,
        }
    }

    #[test]
    fn sdk_data_is_escaped_in_html_and_kept_in_text() {
        let email = issue_email(&facts("TypeError: <img src=x onerror=alert(1)>"), Reason::New, "https://sentori.example/");
        assert!(!email.html.contains("<img"), "{}", email.html);
        assert!(!email.html.contains("<script>"), "{}", email.html);
        assert!(email.html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(email.text.contains("TypeError: <img src=x onerror=alert(1)>"));
        let link = format!("https://sentori.example/projects/{}/issues/{}", Uuid::nil(), Uuid::max());
        assert!(email.text.contains(&link) && email.html.contains(&link));
        assert!(email.text.contains("Release: shop@1.0"));
        assert!(email.text.contains("Events: 3"));
        assert!(email.text.contains("First seen: 2026-11-26T10:00:00Z"));
    }

    #[test]
    fn subjects_name_the_reason_and_cannot_break_headers() {
        let email = issue_email(&facts("Boom\r\nBcc: victim@example.com"), Reason::Regressed, "http://localhost:8000");
        assert_eq!(email.subject, "[Sentori] Regression in shop <web>: Boom  Bcc: victim@example.com");
        assert!(email.text.contains("Release: shop@1.1"));
        let long = issue_email(&facts(&"x".repeat(500)), Reason::New, "http://localhost:8000");
        assert!(long.subject.starts_with("[Sentori] New issue in shop <web>: xxx"));
        assert!(long.subject.chars().count() < 200);
    }

    /// Every kind of character [`printable`] must remove, in one string.
    const HOSTILE: &str = "a\r\nBcc: x@example.com\x1b[31m\u{202E}gpj.exe\u{2066}\u{2069}\u{0}\u{7f}\u{85}\u{2028}z";

    fn assert_clean(text: &str) {
        for c in text.chars().filter(|c| *c != '\n') {
            assert!(!c.is_control(), "control character {c:?} in {text:?}");
            assert!(
                !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}'),
                "{c:?} in {text:?}"
            );
        }
    }

    fn hostile_facts() -> IssueFacts {
        let field = |name: &str| format!("{name}{HOSTILE}");
        IssueFacts {
            project_name: field("project"),
            title: field("title"),
            culprit: Some(field("culprit")),
            first_release: Some(field("release")),
            last_release: Some(field("release")),
            environment: Some(field("environment")),
            ..facts("")
        }
    }

    #[test]
    fn every_printed_field_loses_control_and_bidi_characters() {
        assert_eq!(printable(HOSTILE), "a  Bcc: x@example.com [31mgpj.exe    z");
        let issue = hostile_facts();
        for reason in [Reason::New, Reason::Regressed] {
            let email = issue_email(&issue, reason, "http://localhost:8000");
            for part in [&email.subject, &email.text, &email.html] {
                assert_clean(part);
            }
            // Only the template's own line breaks are left: one per row.
            assert_eq!(email.text.lines().filter(|line| line.contains("Bcc")).count(), 6, "{}", email.text);
            for name in ["project", "title", "culprit", "release", "environment"] {
                assert!(email.text.contains(&format!("{name}a  Bcc: x@example.com [31mgpj.exe")), "{name}: {}", email.text);
            }
        }
        let digest = digest_email(&issue.project_name, &[issue.clone(), issue.clone()], "http://localhost:8000");
        for part in [&digest.subject, &digest.text, &digest.html] {
            assert_clean(part);
        }
    }

    #[test]
    fn every_tls_mode_builds_a_transport() {
        for tls in [TlsMode::StartTls, TlsMode::Tls, TlsMode::None] {
            let config = SmtpConfig {
                host: "mail.example.com".into(),
                port: 587,
                credentials: Some(("user".into(), "secret".into())),
                from: "sentori@localhost".parse().unwrap(),
                tls,
                extra_roots_pem: None,
            };
            assert!(Mailer::new(&config).is_ok(), "{tls:?}");
        }
        assert_eq!("STARTTLS".parse::<TlsMode>(), Ok(TlsMode::StartTls));
        assert!("ssl".parse::<TlsMode>().is_err());
    }

    #[test]
    fn a_digest_lists_every_issue() {
        let issues = [facts("First <b>"), facts("Second")];
        let email = digest_email("shop", &issues, "http://localhost:8000");
        assert_eq!(email.subject, "[Sentori] 2 new issues in shop");
        assert!(email.text.contains("- First <b>") && email.text.contains("- Second"));
        assert!(email.html.contains("First &lt;b&gt;"));
    }
}
