//! `<service> healthcheck`: the container health check every image runs
//! (`["CMD", "/usr/local/bin/<service>", "healthcheck"]`), against the real
//! binaries. The probe runs with nothing but the address variable set, as a
//! health check may not depend on the service's other configuration.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};

use sentori_testkit::{ServiceProcess, TestStack, binary, free_addr};

const SERVICES: [(&str, &str); 5] = [
    ("ingest", "SENTORI_INGEST_ADDR"),
    ("admin-api", "SENTORI_ADMIN_API_ADDR"),
    ("processor", "SENTORI_PROCESSOR_ADDR"),
    ("notifier", "SENTORI_NOTIFIER_ADDR"),
    ("retention", "SENTORI_RETENTION_ADDR"),
];

/// Runs `<bin> healthcheck` with only `addr_var=addr` in its environment.
fn healthcheck(bin: &str, addr_var: &str, addr: &str) -> Output {
    Command::new(binary(bin))
        .arg("healthcheck")
        .env_clear()
        .env(addr_var, addr)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {bin} healthcheck: {e}"))
}

fn describe(output: &Output) -> String {
    format!("{:?}, stderr: {}", output.status, String::from_utf8_lossy(&output.stderr))
}

#[tokio::test]
async fn every_service_answers_its_own_health_check() {
    let stack = TestStack::new().await;
    let env = stack.service_env();
    for (bin, addr_var) in SERVICES {
        let service = ServiceProcess::start(bin, addr_var, &env).await;
        let output = healthcheck(bin, addr_var, &service.addr.to_string());
        assert_eq!(output.status.code(), Some(0), "{bin} healthcheck against its running service: {}", describe(&output));

        // Containers configure the wildcard address; the probe must reach
        // the service over loopback then.
        let wildcard = format!("0.0.0.0:{}", service.addr.port());
        let output = healthcheck(bin, addr_var, &wildcard);
        assert_eq!(output.status.code(), Some(0), "{bin} healthcheck via {wildcard}: {}", describe(&output));
    }
}

#[test]
fn a_closed_port_is_unhealthy() {
    // Bound and released: nothing listens there any more.
    let closed = free_addr();
    for (bin, addr_var) in [SERVICES[0], SERVICES[4]] {
        let output = healthcheck(bin, addr_var, &closed.to_string());
        assert_eq!(output.status.code(), Some(1), "{bin} healthcheck against a closed port: {}", describe(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(&closed.port().to_string()), "the failure names the address: {stderr}");
    }
}

#[test]
fn a_server_answering_anything_but_200_is_unhealthy() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a fake server");
    let addr = listener.local_addr().expect("fake server address");
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("the probe connects");
        let mut request = [0u8; 1024];
        let n = conn.read(&mut request).expect("reading the probe's request");
        conn.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .expect("answering the probe");
        String::from_utf8_lossy(&request[..n]).into_owned()
    });
    let output = healthcheck("ingest", "SENTORI_INGEST_ADDR", &addr.to_string());
    let request = server.join().expect("fake server thread");
    assert!(request.starts_with("GET /healthz HTTP/1.1\r\n"), "the probe asks for /healthz: {request:?}");
    assert_eq!(output.status.code(), Some(1), "a 503 is unhealthy: {}", describe(&output));
}

#[test]
fn an_unparsable_address_is_unhealthy_and_named() {
    let output = healthcheck("processor", "SENTORI_PROCESSOR_ADDR", "not-an-address");
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("SENTORI_PROCESSOR_ADDR"), "{}", describe(&output));
}
