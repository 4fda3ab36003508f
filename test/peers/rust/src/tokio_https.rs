//! The same HTTPS server and client on tokio with tokio-rustls (a
//! multi-threaded runtime: a connection's task may move between threads
//! from one poll to the next, but each poll reads or writes its socket
//! on the thread that calls rustls).
use std::io;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::{answer, client_config, server_config};

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
                    let out = answer(&head, body.len());
                    let stream = tls.get_mut();
                    if stream.write_all(out.as_bytes()).await.is_err() || stream.flush().await.is_err() {
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
            let request = crate::request(&line, port);
            let stream = tls.get_mut();
            stream.write_all(request.as_bytes()).await?;
            stream.flush().await?;
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
