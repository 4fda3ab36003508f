//! The same HTTPS server and client on tokio with tokio-rustls (a
//! multi-threaded runtime: a connection's task may move between threads
//! from one poll to the next, but each poll reads or writes its socket
//! on the thread that calls rustls). Messages go out as head and body in
//! one vectored write, as hyper sends them.
use std::io::{self, IoSlice};
use std::sync::Arc;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::{answer, client_config, server_config};

/// Writes head and body with write_vectored until all is sent.
async fn write_message(w: &mut (impl tokio::io::AsyncWrite + Unpin), message: &str) -> io::Result<()> {
    let split = message.find("\r\n\r\n").map_or(message.len(), |i| i + 4);
    let (mut head, mut body) = message.as_bytes().split_at(split);
    while !head.is_empty() || !body.is_empty() {
        let n = w.write_vectored(&[IoSlice::new(head), IoSlice::new(body)]).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        let from_head = n.min(head.len());
        head = &head[from_head..];
        body = &body[n - from_head..];
    }
    w.flush().await
}

/// One HTTP/1.1 message head and its Content-Length body; None at a clean end of stream.
async fn read_message(r: &mut (impl AsyncBufRead + Unpin)) -> io::Result<Option<(String, Vec<u8>)>> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            return if head.is_empty() { Ok(None) } else { Err(io::ErrorKind::UnexpectedEof.into()) };
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let mut body = vec![0; crate::content_length(&head)?];
    r.read_exact(&mut body).await?;
    Ok(Some((head, body)))
}

pub fn serve(port: &str, cert: &str, key: &str) -> io::Result<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config(cert, key)?));
    runtime()?.block_on(async move {
        let listener = TcpListener::bind(format!("127.0.0.1:{port}")).await?;
        loop {
            let (sock, _) = listener.accept().await?;
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(sock).await else { return };
                let mut tls = BufReader::new(tls);
                while let Ok(Some((head, body))) = read_message(&mut tls).await {
                    if write_message(tls.get_mut(), &answer(&head, body.len())).await.is_err() {
                        break;
                    }
                }
            });
        }
    })
}

pub fn client(port: &str, ca: &str) -> io::Result<()> {
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config(ca)?));
    runtime()?.block_on(async move {
        let sock = TcpStream::connect(format!("127.0.0.1:{port}")).await?;
        let tls = connector.connect(ServerName::try_from("localhost").unwrap(), sock).await?;
        let mut tls = BufReader::new(tls);
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        let mut stdout = tokio::io::stdout();
        while let Some(line) = lines.next_line().await? {
            if let Some(n) = line.strip_prefix("BENCH ") {
                let n: usize = n.trim().parse().unwrap_or(0);
                let mut times = Vec::with_capacity(n);
                let mut failed = 0;
                for _ in 0..n {
                    let start = std::time::Instant::now();
                    write_message(tls.get_mut(), &crate::request("GET /bench", port)).await?;
                    let ok = matches!(read_message(&mut tls).await?, Some((head, _)) if head.split_whitespace().nth(1) == Some("200"));
                    failed += usize::from(!ok);
                    times.push(start.elapsed().as_nanos());
                }
                stdout.write_all(format!("{}\n", crate::bench_line(times, failed)).as_bytes()).await?;
                stdout.flush().await?;
                continue;
            }
            write_message(tls.get_mut(), &crate::request(&line, port)).await?;
            let (head, body) = read_message(&mut tls).await?.ok_or(io::ErrorKind::UnexpectedEof)?;
            let status = head.split_whitespace().nth(1).unwrap_or("?").to_string();
            stdout.write_all(format!("{status} {}\n", body.len()).as_bytes()).await?;
            stdout.flush().await?;
        }
        Ok(())
    })
}

fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_io().build()
}
