// The echo peer in Go (grpc-go): `echo-peer server PORT` serves
// hydrophone.test.Echo on 127.0.0.1:PORT; `echo-peer client HOST:PORT`
// runs the scripted calls (see ../README.md) and prints a JSON summary;
// a third argument `tls` makes either side use TLS (self-signed, not verified).
// https-server and https-client (net/http over crypto/tls) are in https.go.
// Messages are raw bytes through a passthrough codec: no protoc needed.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

const service = "hydrophone.test.Echo"

// rawCodec passes []byte through. Named "proto" so the content-type stays
// plain application/grpc(+proto), as for any generated stub.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
	}
	return *b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	*b = append((*b)[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

// ---- server ----

type echoServer interface{}

func unary(handle func(ctx context.Context, req []byte) ([]byte, error)) func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
	return func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
		var req []byte
		if err := dec(&req); err != nil {
			return nil, err
		}
		resp, err := handle(ctx, req)
		if err != nil {
			return nil, err
		}
		return &resp, nil
	}
}

func serverStream(_ any, stream grpc.ServerStream) error {
	var req []byte
	if err := stream.RecvMsg(&req); err != nil {
		return err
	}
	for i := 1; i <= 5; i++ {
		out := []byte(fmt.Sprintf("%s-%d", req, i))
		if err := stream.SendMsg(&out); err != nil {
			return err
		}
	}
	return nil
}

func clientStream(_ any, stream grpc.ServerStream) error {
	var all []byte
	for {
		var req []byte
		err := stream.RecvMsg(&req)
		if errors.Is(err, io.EOF) {
			return stream.SendMsg(&all)
		}
		if err != nil {
			return err
		}
		all = append(all, req...)
	}
}

func bidi(_ any, stream grpc.ServerStream) error {
	for {
		var req []byte
		err := stream.RecvMsg(&req)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.SendMsg(&req); err != nil {
			return err
		}
	}
}

// fail answers "CODE:message" with that status.
func fail(_ context.Context, req []byte) ([]byte, error) {
	code, msg, _ := strings.Cut(string(req), ":")
	n, err := strconv.Atoi(code)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "want CODE:message, got %q", req)
	}
	return nil, status.Error(codes.Code(n), msg)
}

// slow sleeps for the milliseconds it is asked, whatever the deadline says.
func slow(_ context.Context, req []byte) ([]byte, error) {
	ms, _ := strconv.Atoi(string(req))
	time.Sleep(time.Duration(ms) * time.Millisecond)
	return req, nil
}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: service,
	HandlerType: (*echoServer)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Unary", Handler: unary(func(_ context.Context, req []byte) ([]byte, error) { return req, nil })},
		{MethodName: "Fail", Handler: unary(fail)},
		{MethodName: "Slow", Handler: unary(slow)},
	},
	Streams: []grpc.StreamDesc{
		{StreamName: "ServerStream", Handler: serverStream, ServerStreams: true},
		{StreamName: "ClientStream", Handler: clientStream, ClientStreams: true},
		{StreamName: "Bidi", Handler: bidi, ServerStreams: true, ClientStreams: true},
	},
}

// serve listens on 127.0.0.1:port; withTLS: over TLS with a self-signed
// certificate made at start (https.go).
func serve(port string, withTLS bool) error {
	lis, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return err
	}
	opts := []grpc.ServerOption{grpc.ForceServerCodec(rawCodec{})}
	if withTLS {
		cert, err := selfSigned()
		if err != nil {
			return err
		}
		opts = append(opts, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}})))
	}
	srv := grpc.NewServer(opts...)
	srv.RegisterService(&serviceDesc, struct{}{})
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-stop; srv.Stop() }()
	return srv.Serve(lis)
}

// ---- client ----

type call struct {
	Method    string `json:"method"`
	Code      int    `json:"code"`
	Message   string `json:"message,omitempty"`
	Responses int    `json:"responses"`
}

func codeOf(err error) (int, string) {
	s, _ := status.FromError(err)
	return int(s.Code()), s.Message()
}

func method(name string) string { return "/" + service + "/" + name }

// dial opens the client connection every client mode uses: raw bytes as
// messages, TLS without verification (test certificates) or cleartext h2c.
func dial(target string, withTLS bool) (*grpc.ClientConn, error) {
	creds := insecure.NewCredentials()
	if withTLS {
		creds = credentials.NewTLS(&tls.Config{InsecureSkipVerify: true})
	}
	return grpc.NewClient(target,
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
}

func runClient(target string, withTLS bool) error {
	conn, err := dial(target, withTLS)
	if err != nil {
		return err
	}
	defer conn.Close()
	bg := context.Background()
	var calls []call
	record := func(name string, err error, responses int) {
		c, m := codeOf(err)
		calls = append(calls, call{name, c, m, responses})
	}

	for i := 1; i <= 2; i++ {
		req, resp := []byte(fmt.Sprintf("hello-%d", i)), []byte(nil)
		err := conn.Invoke(bg, method("Unary"), &req, &resp)
		if err == nil && string(resp) != string(req) {
			err = status.Errorf(codes.DataLoss, "echo %q != %q", resp, req)
		}
		record("Unary", err, btoi(err == nil))
	}

	streamCall := func(name string, desc *grpc.StreamDesc, sends int) {
		ctx, cancel := context.WithCancel(bg)
		defer cancel()
		s, err := conn.NewStream(ctx, desc, method(name))
		if err != nil {
			record(name, err, 0)
			return
		}
		for i := 1; i <= sends && err == nil; i++ {
			m := []byte(fmt.Sprintf("%s-%d", name, i))
			err = s.SendMsg(&m)
		}
		if err == nil {
			err = s.CloseSend()
		}
		n := 0
		for err == nil {
			var resp []byte
			if err = s.RecvMsg(&resp); err == nil {
				n++
			}
		}
		if errors.Is(err, io.EOF) {
			err = nil
		}
		record(name, err, n)
	}
	streamCall("ServerStream", &grpc.StreamDesc{ServerStreams: true}, 1)
	streamCall("ClientStream", &grpc.StreamDesc{ClientStreams: true}, 4)
	streamCall("Bidi", &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, 3)

	req, resp := []byte("5:no such echo"), []byte(nil)
	err = conn.Invoke(bg, method("Fail"), &req, &resp)
	record("Fail", err, 0)

	ctx, cancel := context.WithTimeout(bg, 200*time.Millisecond)
	req = []byte("1000")
	err = conn.Invoke(ctx, method("Slow"), &req, &resp)
	cancel()
	record("Slow", err, 0)

	return json.NewEncoder(os.Stdout).Encode(map[string]any{"client": "go", "target": target, "calls": calls})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func main() {
	var err error
	switch {
	case (len(os.Args) == 3 || len(os.Args) == 4 && os.Args[3] == "tls") && os.Args[1] == "server":
		err = serve(os.Args[2], len(os.Args) == 4)
	case (len(os.Args) == 3 || len(os.Args) == 4 && os.Args[3] == "tls") && os.Args[1] == "client":
		err = runClient(os.Args[2], len(os.Args) == 4)
	case (len(os.Args) == 3 || len(os.Args) == 4 && os.Args[3] == "tls") && os.Args[1] == "grpc-session":
		err = runSession(os.Args[2], len(os.Args) == 4)
	case len(os.Args) == 3 && os.Args[1] == "https-server":
		err = serveHTTPS(os.Args[2])
	case len(os.Args) == 4 && os.Args[1] == "https-client":
		err = runHTTPSClient(os.Args[2], os.Args[3])
	default:
		fmt.Fprintln(os.Stderr, "usage: echo-peer server PORT [tls] | echo-peer client HOST:PORT [tls] | echo-peer grpc-session HOST:PORT [tls] (calls on stdin) | echo-peer https-server PORT | echo-peer https-client https://HOST:PORT h1|h2 (requests on stdin)")
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo-peer:", err)
		os.Exit(1)
	}
}
