// Command dnscheck checks the real node's cluster DNS (hack/node): it resolves
// each NAME with Go's own resolver, retrying until -timeout, and exits 1 when
// one did not resolve (or not to the address given after "=").
//
//	dnscheck [-server 10.96.0.10:53] [-timeout 30s] NAME[=IP]...
//
// Without -server it uses /etc/resolv.conf, search domains included: run in a
// Pod (the image localhost/orgrbac/node-dnscheck), it resolves the way the
// Pod's programs do. With -server it asks that server only, for a check from
// the host.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"
)

func main() {
	server := flag.String("server", "", "the DNS server HOST:PORT to ask (default: /etc/resolv.conf)")
	timeout := flag.Duration("timeout", 30*time.Second, "how long to retry each name")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: dnscheck [-server HOST:PORT] [-timeout D] NAME[=IP]...")
		os.Exit(2)
	}

	r := &net.Resolver{PreferGo: true}
	if *server != "" {
		r.Dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, *server)
		}
	}
	failed := false
	for _, arg := range flag.Args() {
		name, want, _ := strings.Cut(arg, "=")
		if err := check(r, name, want, *timeout); err != nil {
			fmt.Fprintf(os.Stderr, "dnscheck: %s: %v\n", name, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

// check resolves name until it has an address (want, if given) or timeout.
func check(r *net.Resolver, name, want string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		addrs, err := r.LookupHost(ctx, name)
		cancel()
		if err == nil && (want == "" || slices.Contains(addrs, want)) {
			fmt.Printf("%s: %s\n", name, strings.Join(addrs, " "))
			return nil
		}
		if err == nil {
			err = fmt.Errorf("resolved to %v, want %s", addrs, want)
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(500 * time.Millisecond)
	}
}
