// grpc-session: one gRPC client connection kept open, calls made one per
// line of stdin, so a test can start a sensor between two calls on the
// same connection (HPACK state from before the sensor):
//
//	echo-peer grpc-session HOST:PORT [tls]
//	stdin:  Unary TEXT | Fail CODE:message | Bench N
//	stdout: one JSON line per call {"method","code","message"?,"responses"};
//	        for Bench, N unary calls timed one by one: {"calls","medianNs","failed"}
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
)

func runSession(target string, withTLS bool) error {
	conn, err := dial(target, withTLS)
	if err != nil {
		return err
	}
	defer conn.Close()
	out := json.NewEncoder(os.Stdout)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		name, arg, _ := strings.Cut(strings.TrimSpace(in.Text()), " ")
		if name == "Bench" {
			if err := out.Encode(bench(conn, arg)); err != nil {
				return err
			}
			continue
		}
		if name != "Unary" && name != "Fail" {
			return fmt.Errorf("grpc-session: want 'Unary TEXT', 'Fail CODE:message' or 'Bench N', got %q", in.Text())
		}
		req, resp := []byte(arg), []byte(nil)
		err := conn.Invoke(context.Background(), method(name), &req, &resp)
		c, m := codeOf(err)
		if err := out.Encode(call{name, c, m, btoi(err == nil)}); err != nil {
			return err
		}
	}
	return in.Err()
}

type benchResult struct {
	Calls    int   `json:"calls"`
	MedianNs int64 `json:"medianNs"`
	Failed   int   `json:"failed"`
}

// bench makes n unary calls of a 64-byte message one after the other and
// times each, client side: the median is what one call costs end to end.
func bench(conn *grpc.ClientConn, arg string) benchResult {
	n, _ := strconv.Atoi(arg)
	req, resp := []byte(strings.Repeat("b", 64)), []byte(nil)
	times := make([]int64, 0, n)
	failed := 0
	for i := 0; i < n; i++ {
		start := time.Now()
		if err := conn.Invoke(context.Background(), method("Unary"), &req, &resp); err != nil {
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
