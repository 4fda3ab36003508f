// The Go TLS-cost load, the counterpart of ../sslLoop.c for Go's
// crypto/tls: one process, one loopback TCP pair with a tls.Client on one
// end and a tls.Server on the other, and a loop of client.Write(size) +
// server.Read until those bytes arrived, each call timed on its own.
//
// The key and certificate are made in memory (ECDSA P-256: no openssl CLI
// needed); the handshake runs before "ready <pid>" is printed, and the loop
// waits for a line on stdin, so that a sensor filtered to this pid attaches
// between the two. Prints one JSON line: {"size", "iterations", "warmup",
// "writeNs", "readNs", "writeCalls", "readCalls", "cipher", "library",
// "cpuSeconds"}; the call counts include the warm-up, the times do not.
//
// usage: goTlsLoop <size> <iterations> [warmup]
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
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

type totals struct {
	writeNs, readNs int64
	writes, reads   int64
}

func die(what string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
	os.Exit(1)
}

func selfSigned() tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		die("key", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		die("certificate", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// pair connects a tls.Client to a tls.Server over loopback and completes both handshakes.
func pair() (*tls.Conn, *tls.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		die("listen", err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			die("accept", err)
		}
		accepted <- c
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		die("dial", err)
	}
	// Tickets would sit unread on the client side: none.
	server := tls.Server(<-accepted, &tls.Config{Certificates: []tls.Certificate{selfSigned()}, SessionTicketsDisabled: true, MinVersion: tls.VersionTLS13})
	client := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
	done := make(chan error, 1)
	go func() { done <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		die("client handshake", err)
	}
	if err := <-done; err != nil {
		die("server handshake", err)
	}
	return client, server
}

func roundTrips(client, server *tls.Conn, msg, buf []byte, n int, t *totals) {
	for i := 0; i < n; i++ {
		a := time.Now()
		if w, err := client.Write(msg); err != nil || w != len(msg) {
			die("Write", err)
		}
		t.writeNs += int64(time.Since(a))
		t.writes++
		for got := 0; got < len(buf); {
			c := time.Now()
			r, err := server.Read(buf[got:])
			t.readNs += int64(time.Since(c))
			if err != nil && err != io.EOF || r == 0 {
				die("Read", err)
			}
			got += r
			t.reads++
		}
	}
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintf(os.Stderr, "usage: %s <size> <iterations> [warmup]\n", os.Args[0])
		os.Exit(2)
	}
	size, err1 := strconv.Atoi(os.Args[1])
	iterations, err2 := strconv.Atoi(os.Args[2])
	warmup := iterations / 10
	var err3 error
	if len(os.Args) > 3 {
		warmup, err3 = strconv.Atoi(os.Args[3])
	}
	if err1 != nil || err2 != nil || err3 != nil || size < 1 || size > 16384 || iterations < 1 || warmup < 0 {
		fmt.Fprintln(os.Stderr, "bad arguments (size 1..16384, iterations > 0)")
		os.Exit(2)
	}
	// One goroutine does the whole loop, on one thread, like the C load.
	runtime.LockOSThread()
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = byte('a' + i%26)
	}
	buf := make([]byte, size)
	client, server := pair()
	fmt.Printf("ready %d\n", os.Getpid())
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		os.Exit(1)
	}
	var warm, timed totals
	roundTrips(client, server, msg, buf, warmup, &warm)
	roundTrips(client, server, msg, buf, iterations, &timed)
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	state := client.ConnectionState()
	out, _ := json.Marshal(map[string]any{
		"size":       size,
		"iterations": iterations,
		"warmup":     warmup,
		"writeNs":    float64(timed.writeNs) / float64(timed.writes),
		"readNs":     float64(timed.readNs) / float64(timed.reads),
		"writeCalls": warm.writes + timed.writes,
		"readCalls":  warm.reads + timed.reads,
		"cipher":     tls.VersionName(state.Version) + " " + tls.CipherSuiteName(state.CipherSuite),
		"library":    runtime.Version() + " crypto/tls",
		"cpuSeconds": float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9,
	})
	fmt.Println(string(out))
}
