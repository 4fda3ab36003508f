// HTTPS modes of the Go peer (net/http over crypto/tls), for the Go TLS
// uprobes: `echo-peer https-server PORT` and `echo-peer https-client URL
// h1|h2`. The server makes a self-signed certificate at start (nothing on
// disk); the client trusts any certificate.
//
// The client reads one request a line from stdin, "METHOD PATH [BODYBYTES]",
// sends it on one keep-alive connection and prints "STATUS PROTO BODYBYTES"
// for it, so a test decides when each request goes out (before or after
// the sensor starts). "PAR N METHOD PATH" sends N such requests at once
// (PATH/1 ... PATH/N: concurrent streams of one HTTP/2 connection) and
// prints their statuses on one line, in that order. "BENCH N" sends N
// GET /bench one after the other, timing each, and prints
// {"calls","medianNs","failed"} (as grpc-session's Bench). It exits at the
// end of stdin.
package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// httpsHandler: /fail... answers 500, /missing 404, anything else 200 with
// "got N for PATH" (N: request body bytes).
func httpsHandler(w http.ResponseWriter, r *http.Request) {
	n, _ := io.Copy(io.Discard, r.Body)
	switch {
	case strings.HasPrefix(r.URL.Path, "/fail"):
		w.WriteHeader(http.StatusInternalServerError)
	case r.URL.Path == "/missing":
		w.WriteHeader(http.StatusNotFound)
	}
	fmt.Fprintf(w, "got %d for %s", n, r.URL.Path)
}

// serveHTTPS serves HTTP/1.1 and HTTP/2 (ALPN) on 127.0.0.1:port until SIGTERM.
func serveHTTPS(port string) error {
	cert, err := selfSigned()
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:   http.HandlerFunc(httpsHandler),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-stop; srv.Close() }()
	if err := srv.ServeTLS(lis, "", ""); err != http.ErrServerClosed {
		return err
	}
	return nil
}

// runHTTPSClient sends the requests read from stdin on one connection.
func runHTTPSClient(base, proto string) error {
	var protocols http.Protocols
	switch proto {
	case "h1":
		protocols.SetHTTP1(true)
	case "h2":
		protocols.SetHTTP2(true)
	default:
		return fmt.Errorf("protocol must be h1 or h2, got %q", proto)
	}
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true},
		Protocols:           &protocols,
		MaxIdleConnsPerHost: 1,
		MaxConnsPerHost:     1,
	}}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		fields := strings.Fields(in.Text())
		if len(fields) == 0 {
			continue
		}
		if len(fields) == 2 && fields[0] == "BENCH" {
			if err := json.NewEncoder(os.Stdout).Encode(benchHTTPS(client, base, fields[1])); err != nil {
				return err
			}
			continue
		}
		if len(fields) == 4 && fields[0] == "PAR" {
			if err := sendConcurrently(client, base, fields[1], fields[2], fields[3]); err != nil {
				return err
			}
			continue
		}
		if len(fields) < 2 {
			return fmt.Errorf("want METHOD PATH [BODYBYTES], got %q", in.Text())
		}
		var body io.Reader
		if len(fields) > 2 {
			n, err := strconv.Atoi(fields[2])
			if err != nil {
				return fmt.Errorf("body size %q: %v", fields[2], err)
			}
			body = strings.NewReader(strings.Repeat("x", n))
		}
		req, err := http.NewRequest(fields[0], base+fields[1], body)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		fmt.Printf("%d %s %d\n", resp.StatusCode, resp.Proto, n)
	}
	return in.Err()
}

// sendConcurrently sends n requests METHOD PATH/i at once; prints their statuses.
func sendConcurrently(client *http.Client, base, count, method, path string) error {
	n, err := strconv.Atoi(count)
	if err != nil || n < 1 {
		return fmt.Errorf("PAR wants a count, got %q", count)
	}
	statuses := make([]string, n)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			req, err := http.NewRequest(method, fmt.Sprintf("%s%s/%d", base, path, i+1), nil)
			if err != nil {
				errs <- err
				return
			}
			resp, err := client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[i] = strconv.Itoa(resp.StatusCode)
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			return err
		}
	}
	fmt.Println(strings.Join(statuses, " "))
	return nil
}

// benchHTTPS sends n GET /bench one after the other and times each, client side.
func benchHTTPS(client *http.Client, base, count string) benchResult {
	n, _ := strconv.Atoi(count)
	times := make([]int64, 0, n)
	failed := 0
	for i := 0; i < n; i++ {
		start := time.Now()
		resp, err := client.Get(base + "/bench")
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if err != nil || resp.StatusCode != http.StatusOK {
			failed++
		}
		times = append(times, time.Since(start).Nanoseconds())
	}
	sort.Slice(times, func(a, b int) bool { return times[a] < times[b] })
	median := int64(0)
	if n > 0 {
		median = times[n/2]
	}
	return benchResult{n, median, failed}
}
