"""The echo peer in Python (grpcio, the C core).

    python echo.py server PORT        serves hydrophone.test.Echo on 127.0.0.1:PORT
    python echo.py client HOST:PORT   runs the scripted calls, prints a JSON summary
    python echo.py session HOST:PORT  one channel kept open, one call per line of
                                      stdin ("Unary TEXT" | "Fail CODE:message"),
                                      one JSON line out per call ({"method","code",...});
                                      "Bench N" times N unary calls of 64 bytes:
                                      {"calls","medianNs","failed"}

Each takes `tls CERT KEY` (server) or `tls CERT` (clients) after its address:
TLS through grpcio's own BoringSSL, the client trusting CERT (CN=localhost).

Messages are raw bytes: no (de)serializers, so no protoc. See ../README.md.
"""
import json
import signal
import sys
import threading
import time
from concurrent import futures

import grpc

SERVICE = "hydrophone.test.Echo"


def method(name):
    return f"/{SERVICE}/{name}"


# ---- server ----

def unary(request, context):
    return request


def server_stream(request, context):
    for i in range(1, 6):
        yield request + b"-%d" % i


def client_stream(request_iterator, context):
    return b"".join(request_iterator)


def bidi(request_iterator, context):
    for request in request_iterator:
        yield request


def fail(request, context):
    """Answers b"CODE:message" with that status."""
    code, _, message = request.decode().partition(":")
    wanted = next((c for c in grpc.StatusCode if c.value[0] == int(code)), grpc.StatusCode.UNKNOWN)
    context.abort(wanted, message)


def slow(request, context):
    """Sleeps for the milliseconds it is asked, whatever the deadline says."""
    time.sleep(int(request) / 1000)
    return request


def serve(port, tls=None):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream),
        "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
        "Fail": grpc.unary_unary_rpc_method_handler(fail),
        "Slow": grpc.unary_unary_rpc_method_handler(slow),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    if tls:
        cert, key = (open(f, "rb").read() for f in tls)
        bound = server.add_secure_port(f"127.0.0.1:{port}", grpc.ssl_server_credentials([(key, cert)]))
    else:
        bound = server.add_insecure_port(f"127.0.0.1:{port}")
    if bound == 0:
        sys.exit(f"echo.py: cannot listen on 127.0.0.1:{port}")
    server.start()
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    server.stop(grace=None)


# ---- client ----

def open_channel(target, cert=None):
    if cert is None:
        return grpc.insecure_channel(target)
    creds = grpc.ssl_channel_credentials(root_certificates=open(cert, "rb").read())
    # The test certificate names localhost; the target is an address.
    return grpc.secure_channel(target, creds, options=[("grpc.ssl_target_name_override", "localhost")])


def run_client(target, cert=None):
    calls = []

    def record(name, fn):
        try:
            responses = fn()
            calls.append({"method": name, "code": 0, "responses": responses})
        except grpc.RpcError as e:
            calls.append({"method": name, "code": e.code().value[0], "message": e.details(), "responses": 0})

    with open_channel(target, cert) as channel:
        unary_call = channel.unary_unary(method("Unary"))
        for i in (1, 2):
            req = b"hello-%d" % i

            def once(req=req):
                if unary_call(req) != req:
                    raise RuntimeError("echo mismatch")
                return 1
            record("Unary", once)
        record("ServerStream", lambda: sum(1 for _ in channel.unary_stream(method("ServerStream"))(b"ServerStream-1")))
        record("ClientStream", lambda: len([channel.stream_unary(method("ClientStream"))(iter([b"ClientStream-%d" % i for i in range(1, 5)]))]))
        record("Bidi", lambda: sum(1 for _ in channel.stream_stream(method("Bidi"))(iter([b"Bidi-%d" % i for i in range(1, 4)]))))
        record("Fail", lambda: channel.unary_unary(method("Fail"))(b"5:no such echo") and 0)
        record("Slow", lambda: channel.unary_unary(method("Slow"))(b"1000", timeout=0.2) and 0)
    print(json.dumps({"client": "python", "target": target, "calls": calls}), flush=True)


def bench(channel, n):
    """n unary calls of 64 bytes, one after the other, each timed: their median is one call's cost."""
    call = channel.unary_unary(method("Unary"))
    request = b"b" * 64
    times, failed = [], 0
    for _ in range(n):
        start = time.perf_counter_ns()
        try:
            call(request)
        except grpc.RpcError:
            failed += 1
        times.append(time.perf_counter_ns() - start)
    times.sort()
    return {"calls": n, "medianNs": times[n // 2] if n else 0, "failed": failed}


def run_session(target, cert=None):
    with open_channel(target, cert) as channel:
        for line in sys.stdin:
            name, _, arg = line.strip().partition(" ")
            if name == "Bench":
                print(json.dumps(bench(channel, int(arg))), flush=True)
                continue
            if name not in ("Unary", "Fail"):
                sys.exit(f"echo.py session: want 'Unary TEXT', 'Fail CODE:message' or 'Bench N', got {line.strip()!r}")
            try:
                channel.unary_unary(method(name))(arg.encode())
                result = {"method": name, "code": 0, "responses": 1}
            except grpc.RpcError as e:
                result = {"method": name, "code": e.code().value[0], "message": e.details(), "responses": 0}
            print(json.dumps(result), flush=True)


USAGE = "usage: echo.py server PORT [tls CERT KEY] | echo.py client|session HOST:PORT [tls CERT]"


def main():
    args = sys.argv[1:]
    tls_args = {"server": 2, "client": 1, "session": 1}.get(args[0] if args else "")
    if tls_args is None or len(args) not in (2, 3 + tls_args) or len(args) > 2 and args[2] != "tls":
        sys.exit(USAGE)
    tls = args[3:] if len(args) > 2 else None
    if args[0] == "server":
        serve(args[1], tls)
    elif args[0] == "client":
        run_client(args[1], tls[0] if tls else None)
    else:
        run_session(args[1], tls[0] if tls else None)


if __name__ == "__main__":
    main()
