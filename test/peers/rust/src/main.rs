//! HTTPS over rustls (std::net, one thread per connection), for the
//! sensor's rustls uprobes:
//!
//!   rustls-peer https-server PORT CERT.der KEY.der
//!       HTTP/1.1 keep-alive on 127.0.0.1:PORT: 404 for /missing, 500 for
//!       /fail..., 201 for POST, else 200; the body is "got N for PATH", N
//!       the request body's size (as test/peers/python/https.py answers).
//!   rustls-peer https-client PORT CA.der
//!       one keep-alive connection to 127.0.0.1:PORT (name "localhost");
//!       one request per line of stdin, "METHOD PATH [BODYBYTES]"; prints
//!       "STATUS BODYBYTES" per answer. "BENCH N" times N "GET /bench" one
//!       after the other: {"calls","medianNs","failed"} (bench/tlsStackCost.ts).
//!   rustls-peer tokio-https-server | tokio-https-client (same arguments)
//!       the same on tokio with tokio-rustls (src/tokio_https.rs).
use std::io::{self, BufRead, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

mod tokio_https;

fn usage() -> ! {
    eprintln!("usage: rustls-peer [tokio-]https-server PORT CERT.der KEY.der | rustls-peer [tokio-]https-client PORT CA.der");
    std::process::exit(2)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// One HTTP/1.1 message head and its Content-Length body; None at a clean end of stream.
fn read_message(r: &mut impl BufRead) -> io::Result<Option<(String, Vec<u8>)>> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return if head.is_empty() { Ok(None) } else { Err(io::ErrorKind::UnexpectedEof.into()) };
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let mut body = vec![0; content_length(&head)?];
    r.read_exact(&mut body)?;
    Ok(Some((head, body)))
}

/// The Content-Length of a message head (0 without one).
fn content_length(head: &str) -> io::Result<usize> {
    Ok(head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")).map(|(_, v)| v.trim().parse::<usize>()))
        .transpose()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad content-length"))?
        .unwrap_or(0))
}

/// The server's whole answer to a request head with a body of `size` bytes.
fn answer(head: &str, size: usize) -> String {
    let mut words = head.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let status = if path == "/missing" { "404 Not Found" } else if path.starts_with("/fail") { "500 Internal Server Error" } else if method == "POST" { "201 Created" } else { "200 OK" };
    let text = format!("got {size} for {path}");
    format!("HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{text}", text.len())
}

/// The request for one stdin line "METHOD PATH [BODYBYTES]".
fn request(line: &str, port: &str) -> String {
    let mut words = line.split_whitespace();
    let (method, path) = (words.next().unwrap_or("GET"), words.next().unwrap_or("/"));
    let size: usize = words.next().map(|n| n.parse().unwrap_or(0)).unwrap_or(0);
    format!("{method} {path} HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Length: {size}\r\n\r\n{}", "x".repeat(size))
}

fn server_config(cert: &str, key: &str) -> io::Result<rustls::ServerConfig> {
    let cert = CertificateDer::from(std::fs::read(cert)?);
    let key = PrivateKeyDer::try_from(std::fs::read(key)?).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(vec![cert], key))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
}

fn client_config(ca: &str) -> io::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(std::fs::read(ca)?)).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn serve(port: &str, cert: &str, key: &str) -> io::Result<()> {
    let config = Arc::new(server_config(cert, key)?);
    let listener = TcpListener::bind(format!("127.0.0.1:{port}"))?;
    for sock in listener.incoming() {
        let sock = sock?;
        let config = config.clone();
        std::thread::spawn(move || {
            let conn = match rustls::ServerConnection::new(config) {
                Ok(c) => c,
                Err(e) => return eprintln!("rustls-peer: {e}"),
            };
            let mut tls = io::BufReader::new(rustls::StreamOwned::new(conn, sock));
            while let Ok(Some((head, body))) = read_message(&mut tls) {
                let out = answer(&head, body.len());
                let stream = tls.get_mut();
                if stream.write_all(out.as_bytes()).and_then(|_| stream.flush()).is_err() {
                    break;
                }
            }
        });
    }
    Ok(())
}

fn client(port: &str, ca: &str) -> io::Result<()> {
    let conn = rustls::ClientConnection::new(Arc::new(client_config(ca)?), ServerName::try_from("localhost").unwrap())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let sock = TcpStream::connect(format!("127.0.0.1:{port}"))?;
    let mut tls = io::BufReader::new(rustls::StreamOwned::new(conn, sock));
    let mut exchange = |line: &str| -> io::Result<(String, usize)> {
        let stream = tls.get_mut();
        stream.write_all(request(line, port).as_bytes())?;
        stream.flush()?;
        let (head, body) = read_message(&mut tls)?.ok_or(io::ErrorKind::UnexpectedEof)?;
        Ok((head.split_whitespace().nth(1).unwrap_or("?").to_string(), body.len()))
    };
    for line in io::stdin().lock().lines() {
        let line = line?;
        if let Some(n) = line.strip_prefix("BENCH ") {
            let n: usize = n.trim().parse().unwrap_or(0);
            let mut times = Vec::with_capacity(n);
            let mut failed = 0;
            for _ in 0..n {
                let start = std::time::Instant::now();
                if !matches!(exchange("GET /bench"), Ok((status, _)) if status == "200") {
                    failed += 1;
                }
                times.push(start.elapsed().as_nanos());
            }
            println!("{}", bench_line(times, failed));
        } else {
            let (status, size) = exchange(&line)?;
            println!("{status} {size}");
        }
        io::stdout().flush()?;
    }
    Ok(())
}

/// The BENCH answer: {"calls","medianNs","failed"}.
fn bench_line(mut times: Vec<u128>, failed: usize) -> String {
    times.sort_unstable();
    let median = times.get(times.len() / 2).copied().unwrap_or(0);
    format!("{{\"calls\":{},\"medianNs\":{median},\"failed\":{failed}}}", times.len())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[1..] {
        ["https-server", port, cert, key] => serve(port, cert, key),
        ["https-client", port, ca] => client(port, ca),
        ["tokio-https-server", port, cert, key] => tokio_https::serve(port, cert, key),
        ["tokio-https-client", port, ca] => tokio_https::client(port, ca),
        _ => usage(),
    };
    if let Err(e) = result {
        eprintln!("rustls-peer: {e}");
        std::process::exit(1);
    }
}
