//! Slow and silent clients: connections that send nothing, trickle their headers, stall
//! their body or wait for a slow answer time out, and past the connection cap they give
//! way, so a client that sends its request at once is served at once.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::app;
use crate::common::{self, Client, Setup};

/// The server's address, from its base URL.
fn addr(base: &str) -> &str {
    base.trim_start_matches("http://")
}

/// Reads until the server closes the connection (or resets it), at most `within`; the
/// bytes read, or `None` if it was still open then.
async fn until_closed(stream: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| got)
}

const CAP: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_silent_connections_past_the_cap_do_not_keep_a_client_out() {
    let _alone = common::alone().await;
    let server = common::start(Setup {
        limits: app::Limits {
            max_connections: CAP,
            ..app::Limits::default()
        },
        ..Setup::default()
    })
    .await;
    let to = addr(&server.base).to_owned();
    // Three times the cap of silent connections, then the cap again of connections that
    // trickle a request head, a header line every 100 ms, never ending it.
    let mut silent = Vec::new();
    for _ in 0..3 * CAP {
        silent.push(TcpStream::connect(&to).await.unwrap());
    }
    // Every slow connection is open before the legitimate clients come: they are the newest
    // connections, as they would be when they arrive past the cap.
    let mut trickling_streams = Vec::new();
    for _ in 0..CAP {
        let mut s = TcpStream::connect(&to).await.unwrap();
        let _ = s
            .write_all(b"GET /auth/status HTTP/1.1\r\nHost: x\r\n")
            .await;
        trickling_streams.push(s);
    }
    let trickling: Vec<_> = trickling_streams
        .into_iter()
        .map(|mut s| {
            tokio::spawn(async move {
                for i in 0..600 {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    if s.write_all(format!("X-Slow-{i}: a\r\n").as_bytes())
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            })
        })
        .collect();
    let opened = 4 * CAP;

    // Clients that send their request at once, each on a new connection.
    let mut latencies = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let r = http
            .get(format!("{}/app.js", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let _ = r.bytes().await.unwrap();
        latencies.push(started.elapsed());
    }
    let worst = latencies.iter().max().copied().unwrap();
    eprintln!(
        "slow clients: {} silent and {CAP} trickling connections with a cap of {CAP}: 5 \
         requests on new connections answered in {latencies:.1?} (worst {worst:.1?})",
        3 * CAP
    );
    assert!(worst < Duration::from_secs(1), "{latencies:?}");

    // The oldest silent connections were closed to make room.
    let mut closed = 0;
    for s in &mut silent[..opened - CAP] {
        if until_closed(s, Duration::from_secs(5)).await.is_some() {
            closed += 1;
        }
    }
    assert_eq!(closed, opened - CAP);
    for t in trickling {
        t.abort();
    }
}

#[tokio::test]
async fn a_silent_connection_and_an_idle_keep_alive_one_are_closed_at_the_header_timeout() {
    let _turn = common::shared().await;
    let timeout = Duration::from_millis(500);
    let server = common::start(Setup {
        limits: app::Limits {
            header_read_timeout: timeout,
            ..app::Limits::default()
        },
        ..Setup::default()
    })
    .await;
    let to = addr(&server.base);
    // Silent from the start.
    let started = Instant::now();
    let mut silent = TcpStream::connect(to).await.unwrap();
    assert!(
        until_closed(&mut silent, Duration::from_secs(10))
            .await
            .is_some()
    );
    let waited = started.elapsed();
    assert!(waited >= timeout - Duration::from_millis(50), "{waited:?}");
    // One request, then idle.
    let mut idle = TcpStream::connect(to).await.unwrap();
    idle.write_all(b"GET /app.css HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let answer = until_closed(&mut idle, Duration::from_secs(10))
        .await
        .unwrap();
    let waited = started.elapsed();
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert!(waited >= timeout - Duration::from_millis(50), "{waited:?}");
    eprintln!(
        "header timeout {timeout:?}: a silent connection closed after the timeout, an idle keep-alive one {waited:.2?} after its request"
    );
}

#[tokio::test]
async fn a_stalled_body_and_a_slow_answer_time_out_as_json() {
    let _turn = common::shared().await;
    // A finance service that answers only when told to.
    let (release, wait) = mpsc::channel::<()>();
    let server = common::start(Setup {
        limits: app::Limits {
            request_timeout: Duration::from_millis(500),
            body_timeout: Duration::from_millis(300),
            ..app::Limits::default()
        },
        finance: Arc::new(Stuck(std::sync::Mutex::new(wait))),
        ..Setup::default()
    })
    .await;
    // A body announced as 100 bytes, 10 sent, then nothing.
    let mut stream = TcpStream::connect(addr(&server.base)).await.unwrap();
    stream
        .write_all(
            b"POST /auth/unlock HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"passphr",
        )
        .await
        .unwrap();
    let started = Instant::now();
    let answer = until_closed(&mut stream, Duration::from_secs(10))
        .await
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""error":"body_timeout""#), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // A login the finance service takes too long to check.
    let mut client = Client::arrived(&server).await;
    let a = client
        .post(
            "/auth/login",
            json!({ "email": "a@example.com", "password": "pw" }),
        )
        .await;
    a.assert_error(408, "request_timeout");
    release.send(()).unwrap();
}

/// A finance service that waits (at most 10 s) to be released.
#[derive(Debug)]
struct Stuck(std::sync::Mutex<mpsc::Receiver<()>>);

impl app::FinanceService for Stuck {
    fn check(&self, _login: &app::pending::LoginAttempt) -> Result<(), String> {
        let _ = self.0.lock().unwrap().recv_timeout(Duration::from_secs(10));
        Ok(())
    }
}
