//! The admin API's own SQL, read off the wire and run again straight on
//! PostgreSQL: the baseline of admin-bench's latencies.
//!
//! A baseline has to run the statements the API runs, not a copy of them
//! that drifts when a query changes. So admin-bench starts a second
//! admin-api whose database connections pass through [`SqlCapture`], a
//! proxy that reads the extended-query messages the API sends and records,
//! per API request, every statement with its parameters as bound (their
//! binary encoding and type OIDs). [`replay`] sends them again through sqlx
//! from the bench's own pool: the same SQL, the same parameter bytes, a
//! prepared statement where the API used one and a one-off where it did
//! not (so planned the same way), one after another as the API ran them,
//! and nothing of HTTP, routing, the session cookie or JSON.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{PgArgumentBuffer, PgArguments, PgConnectOptions, PgSslMode, PgTypeInfo, Postgres};
use sqlx::{Arguments, ConnectOptions, Encode, PgPool, Type};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Codes of the untyped requests a client may send before its startup message.
const SSL_REQUEST: u32 = 80_877_103;
const GSS_ENC_REQUEST: u32 = 80_877_104;
/// Parameter format code `binary`; sqlx binds every parameter so.
const BINARY: i16 = 1;

/// One statement as the API ran it.
#[derive(Clone, Debug)]
pub enum Statement {
    /// Extended protocol: Parse (or a statement prepared earlier) and Bind.
    Bound { sql: String, params: Vec<RawParam>, prepared: bool },
    /// Simple protocol.
    Simple(String),
}

/// A parameter exactly as it was bound: its type's OID and its bytes
/// (`None` is SQL `NULL`).
#[derive(Clone, Debug)]
pub struct RawParam {
    oid: u32,
    value: Option<Vec<u8>>,
}

impl Type<Postgres> for RawParam {
    fn type_info() -> PgTypeInfo {
        // Never asked for: `produces` names each value's own type.
        PgTypeInfo::with_oid(Oid(0))
    }
}

impl Encode<'_, Postgres> for RawParam {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        match &self.value {
            Some(bytes) => {
                buf.extend_from_slice(bytes);
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        }
    }

    fn produces(&self) -> Option<PgTypeInfo> {
        Some(PgTypeInfo::with_oid(Oid(self.oid)))
    }

    fn size_hint(&self) -> usize {
        self.value.as_ref().map_or(0, Vec::len)
    }
}

/// Runs `statements` one after another on `pool`; returns the rows they read.
pub async fn replay(pool: &PgPool, statements: &[Statement]) -> usize {
    let mut rows = 0;
    for statement in statements {
        rows += match statement {
            Statement::Bound { sql, params, prepared } => {
                let mut args = PgArguments::default();
                for param in params {
                    args.add(param.clone()).expect("a raw parameter always encodes");
                }
                let read = sqlx::query_with(sql, args).persistent(*prepared).fetch_all(pool).await;
                read.unwrap_or_else(|e| panic!("replaying {sql}: {e}")).len()
            }
            Statement::Simple(sql) => {
                sqlx::raw_sql(sql).execute(pool).await.unwrap_or_else(|e| panic!("replaying {sql}: {e}"));
                0
            }
        };
    }
    rows
}

type Recording = Arc<Mutex<Option<Vec<Statement>>>>;

/// A PostgreSQL proxy that records the statements its clients send.
pub struct SqlCapture {
    recording: Recording,
    accept: JoinHandle<()>,
    /// `database_url` with this proxy as the server, without TLS (a
    /// TLS stream could not be read).
    pub database_url: String,
}

impl SqlCapture {
    pub async fn start(database_url: &str) -> Self {
        let options: PgConnectOptions = database_url.parse().expect("a PostgreSQL URL");
        let upstream = format!("{}:{}", options.get_host(), options.get_port());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding the capture proxy");
        let local: SocketAddr = listener.local_addr().expect("the proxy's address");
        let database_url = options.host("127.0.0.1").port(local.port()).ssl_mode(PgSslMode::Disable).to_url_lossy().to_string();
        let recording: Recording = Arc::default();
        let accept = tokio::spawn({
            let recording = recording.clone();
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    let (recording, upstream) = (recording.clone(), upstream.clone());
                    tokio::spawn(async move {
                        // A connection ends when either side closes it.
                        let _ = relay(client, &upstream, recording).await;
                    });
                }
            }
        });
        Self { recording, accept, database_url }
    }

    /// Runs `request` and returns, with its output, every statement the
    /// proxy's clients sent meanwhile. A statement is recorded before it is
    /// passed on, so all of an answered request's statements are in.
    pub async fn record<T>(&self, request: impl Future<Output = T>) -> (T, Vec<Statement>) {
        *self.recording.lock().unwrap() = Some(Vec::new());
        let output = request.await;
        let statements = self.recording.lock().unwrap().take().unwrap_or_default();
        (output, statements)
    }
}

impl Drop for SqlCapture {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Passes one client connection through to `upstream`, reading what the
/// client sends. The server's side is copied as it is.
async fn relay(client: TcpStream, upstream: &str, recording: Recording) -> io::Result<()> {
    let server = TcpStream::connect(upstream).await?;
    let (client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    tokio::spawn(async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    });
    let mut client_read = BufReader::new(client_read);
    // The startup message has no type byte, nor has an encryption request before it.
    loop {
        let length = client_read.read_u32().await?;
        let mut body = vec![0; (length as usize).saturating_sub(4)];
        client_read.read_exact(&mut body).await?;
        server_write.write_all(&length.to_be_bytes()).await?;
        server_write.write_all(&body).await?;
        let code = body.get(..4).map_or(0, |c| u32::from_be_bytes(c.try_into().unwrap()));
        if code != SSL_REQUEST && code != GSS_ENC_REQUEST {
            break;
        }
    }
    let mut statements = Statements::default();
    loop {
        let (kind, body) = read_message(&mut client_read).await?;
        if let Some(statement) = statements.read(kind, &body)
            && let Some(recorded) = recording.lock().unwrap().as_mut()
        {
            recorded.push(statement);
        }
        server_write.write_all(&[kind]).await?;
        server_write.write_all(&(body.len() as u32 + 4).to_be_bytes()).await?;
        server_write.write_all(&body).await?;
    }
}

async fn read_message(reader: &mut (impl AsyncRead + Unpin)) -> io::Result<(u8, Vec<u8>)> {
    let kind = reader.read_u8().await?;
    let length = reader.read_u32().await? as usize;
    let mut body = vec![0; length.saturating_sub(4)];
    reader.read_exact(&mut body).await?;
    Ok((kind, body))
}

/// The statements one connection has prepared, by name ("" is the unnamed one).
#[derive(Default)]
struct Statements(HashMap<String, (String, Vec<u32>)>);

impl Statements {
    /// Takes in one client message; a Bind or a simple query is a statement run.
    fn read(&mut self, kind: u8, body: &[u8]) -> Option<Statement> {
        let mut r = Reader(body);
        match kind {
            b'P' => {
                let (name, sql) = (r.text(), r.text());
                let oids = (0..r.i16()).map(|_| r.u32()).collect();
                self.0.insert(name, (sql, oids));
                None
            }
            b'B' => {
                let (_portal, name) = (r.text(), r.text());
                let formats: Vec<i16> = (0..r.i16()).map(|_| r.i16()).collect();
                let count = r.i16() as usize;
                assert!(
                    count == 0 || (!formats.is_empty() && formats.iter().all(|f| *f == BINARY)),
                    "a parameter bound as text ({formats:?}): the replay binds binary, as sqlx does"
                );
                let (sql, oids) = self.0.get(&name).unwrap_or_else(|| panic!("Bind of {name:?}, which was never parsed")).clone();
                let params = (0..count)
                    .map(|i| {
                        let length = r.i32();
                        let value = (length >= 0).then(|| r.bytes(length as usize).to_vec());
                        RawParam { oid: oids.get(i).copied().unwrap_or(0), value }
                    })
                    .collect();
                Some(Statement::Bound { sql, params, prepared: !name.is_empty() })
            }
            b'C' => {
                if r.u8() == b'S' {
                    self.0.remove(&r.text());
                }
                None
            }
            b'Q' => Some(Statement::Simple(r.text())),
            _ => None,
        }
    }
}

/// Reads the fields of a protocol message body, big-endian.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }

    fn u8(&mut self) -> u8 {
        self.bytes(1)[0]
    }

    fn i16(&mut self) -> i16 {
        i16::from_be_bytes(self.bytes(2).try_into().unwrap())
    }

    fn i32(&mut self) -> i32 {
        i32::from_be_bytes(self.bytes(4).try_into().unwrap())
    }

    fn u32(&mut self) -> u32 {
        u32::from_be_bytes(self.bytes(4).try_into().unwrap())
    }

    /// A NUL-terminated string.
    fn text(&mut self) -> String {
        let end = self.0.iter().position(|b| *b == 0).expect("a terminated string");
        let text = String::from_utf8_lossy(&self.0[..end]).into_owned();
        self.0 = &self.0[end + 1..];
        text
    }
}

#[cfg(test)]
mod tests {
    use sentori_testkit::TestStack;
    use time::OffsetDateTime;
    use uuid::Uuid;

    use super::*;

    #[tokio::test]
    async fn statements_recorded_through_the_proxy_read_the_same_rows_when_replayed() {
        let stack = TestStack::new().await;
        let direct = stack.pool().await;
        sqlx::query("CREATE TABLE t (id uuid, at timestamptz, tags text[], n bigint)").execute(&direct).await.unwrap();
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
        for (n, id) in ids.iter().enumerate() {
            sqlx::query("INSERT INTO t VALUES ($1, now(), $2, $3)")
                .bind(id)
                .bind(vec![format!("tag{}", n % 2)])
                .bind(n as i64)
                .execute(&direct)
                .await
                .unwrap();
        }
        let capture = SqlCapture::start(&stack.database_url).await;
        let proxied = PgPool::connect(&capture.database_url).await.unwrap();
        let wanted = vec!["tag1".to_owned()];
        let query = |n: i64| {
            sqlx::query_scalar::<_, Uuid>("SELECT id FROM t WHERE $1 = ANY(tags) AND n >= $2 AND at <= $3 AND id <> $4 ORDER BY n")
                .bind(&wanted[0])
                .bind(n)
                .bind(OffsetDateTime::now_utc())
                .bind(ids[4])
        };
        // Prepared once, then run from the connection's cache; and a one-off.
        query(0).fetch_all(&proxied).await.unwrap();
        let (read, statements) = capture
            .record(async {
                let cached = query(2).fetch_all(&proxied).await.unwrap();
                let once: i64 = sqlx::query_scalar("SELECT count(*) FROM t WHERE tags = $1 OR $2::text IS NULL")
                    .bind(&wanted)
                    .bind(None::<String>)
                    .persistent(false)
                    .fetch_one(&proxied)
                    .await
                    .unwrap();
                (cached, once)
            })
            .await;
        assert_eq!(read, (vec![ids[3]], 5));
        assert_eq!(statements.len(), 2, "{statements:?}");
        assert!(matches!(&statements[0], Statement::Bound { prepared: true, params, .. } if params.len() == 4));
        assert!(matches!(&statements[1], Statement::Bound { prepared: false, params, .. } if params[1].value.is_none()));
        assert_eq!(replay(&direct, &statements[..1]).await, 1);
        assert_eq!(replay(&direct, &statements).await, 2);
    }
}
