"""HTTPS over Python's ssl module (OpenSSL's libssl through _ssl), for the
sensor's TLS uprobes. Standard library only: any python3 runs it.

    python https.py server PORT CERT KEY
        HTTP/1.1 with keep-alive on 127.0.0.1:PORT until SIGTERM. Answers
        "got N for PATH" (N: request body bytes): 404 for /missing, 500 for
        /fail..., 201 for POST, else 200.
    python https.py client PORT [--hold N] METHOD:PATH[:BODY_BYTES]...
        The requests in order on ONE keep-alive connection (certificate not
        verified). With --hold N: after the first N requests it prints
        "held" and waits for a line on stdin before the rest (a test starts
        a sensor in between: a connection older than the sensor). Prints one
        JSON line: {"statuses": [...], "bodies": [...], "local_port": P}.
    python https.py bio-client PORT METHOD:PATH[:BODY_BYTES]...
        The same over ssl.SSLObject and memory BIOs (asyncio's way): the
        script moves the ciphertext itself. Each request is encrypted and
        sent by a new thread that never read the socket, head and body in
        two SSL_write calls before one socket write; the main thread reads
        and decrypts the answers (grpc core's pool threads do the same).
        Prints the same JSON line.
    python https.py bio-split PORT METHOD:PATH:BODY_BYTES
        One request over memory BIOs on one thread: the head is encrypted,
        then the server's session tickets are read and decrypted, then the
        body is encrypted, and only then is the ciphertext sent. (A read
        ties the SSL* to its socket while the head waits to be sent.)
        Prints the same JSON line.
"""
import http.client
import http.server
import json
import signal
import socket
import ssl
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection, many exchanges

    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        body = b"got %d for %s" % (n, self.path.encode())
        status = 404 if self.path == "/missing" else 500 if self.path.startswith("/fail") else 201 if self.command == "POST" else 200
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = answer

    def log_message(self, *args):
        pass


def serve(port, cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    httpd.serve_forever()


def client(port, hold, specs):
    context = ssl._create_unverified_context()
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context)
    statuses, bodies = [], []
    for i, spec in enumerate(specs):
        if i == hold:
            print("held", flush=True)
            sys.stdin.readline()
        method, path, *size = spec.split(":")
        body = b"x" * int(size[0]) if size else None
        conn.request(method, path, body=body)
        response = conn.getresponse()
        bodies.append(response.read().decode())
        statuses.append(response.status)
    local_port = conn.sock.getsockname()[1]
    conn.close()
    print(json.dumps({"statuses": statuses, "bodies": bodies, "local_port": local_port}), flush=True)


class BioConnection:
    """One TLS connection over memory BIOs: the socket I/O is this class's, not OpenSSL's."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = ssl._create_unverified_context().wrap_bio(self.incoming, self.outgoing, server_hostname="localhost")
        self.pending = b""
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.flush()
                self.feed()
        self.flush()

    def flush(self):
        data = self.outgoing.read()
        if data:
            self.sock.sendall(data)

    def feed(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("server closed the connection")
        self.incoming.write(data)

    def send(self, *parts):
        """Each part encrypted by its own SSL_write, then all sent in one socket write."""
        for part in parts:
            self.tls.write(part)
        self.flush()

    def read_some(self):
        while True:
            try:
                return self.tls.read(65536)
            except ssl.SSLWantReadError:
                self.feed()

    def read_response(self):
        """(status, body) of one HTTP/1.1 response with a Content-Length."""
        while b"\r\n\r\n" not in self.pending:
            self.pending += self.read_some()
        head, self.pending = self.pending.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        length = next(int(v) for k, _, v in (l.partition(":") for l in lines[1:]) if k.lower() == "content-length")
        while len(self.pending) < length:
            self.pending += self.read_some()
        body, self.pending = self.pending[:length], self.pending[length:]
        return int(lines[0].split()[1]), body.decode()


def bio_client(port, specs):
    conn = BioConnection(port)
    statuses, bodies = [], []
    for spec in specs:
        method, path, *size = spec.split(":")
        body = b"x" * int(size[0]) if size else b""
        head = b"%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % (method.encode(), path.encode(), len(body))
        writer = threading.Thread(target=conn.send, args=(head, body) if body else (head,))
        writer.start()
        writer.join()
        status, text = conn.read_response()
        statuses.append(status)
        bodies.append(text)
    local_port = conn.sock.getsockname()[1]
    conn.sock.close()
    print(json.dumps({"statuses": statuses, "bodies": bodies, "local_port": local_port}), flush=True)


def bio_split(port, spec):
    method, path, size = spec.split(":")
    body = b"x" * int(size)
    conn = BioConnection(port)
    conn.tls.write(b"%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % (method.encode(), path.encode(), len(body)))
    # TLS 1.3: the server's tickets follow the handshake; reading them is an SSL_read.
    conn.feed()
    try:
        conn.pending += conn.tls.read(65536)
    except ssl.SSLWantReadError:
        pass
    conn.send(body)
    status, text = conn.read_response()
    local_port = conn.sock.getsockname()[1]
    conn.sock.close()
    print(json.dumps({"statuses": [status], "bodies": [text], "local_port": local_port}), flush=True)


def main(argv):
    if len(argv) >= 5 and argv[1] == "server":
        serve(int(argv[2]), argv[3], argv[4])
    elif len(argv) >= 4 and argv[1] == "client":
        hold = -1
        rest = argv[3:]
        if rest[0] == "--hold":
            hold, rest = int(rest[1]), rest[2:]
        client(int(argv[2]), hold, rest)
    elif len(argv) == 4 and argv[1] == "bio-split":
        bio_split(int(argv[2]), argv[3])
    elif len(argv) >= 4 and argv[1] == "bio-client":
        bio_client(int(argv[2]), argv[3:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
