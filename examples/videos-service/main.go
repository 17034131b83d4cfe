// Command videos-service is a tiny workload guarded by orgrbac: it answers
// DELETE /videos/{id} only for users holding videos:delete in their organization,
// reading the permissions orgrbac publishes into the mounted ConfigMaps (hot
// reload, no API call per request), or asking the decision API with
// --decision-api.
//
// The caller's organization and user come from the X-Org and X-User headers here;
// a real service takes them from its authenticated session.
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/orgrbac/orgrbac/pkg/authz"
)

func main() {
	dir := flag.String("snapshot-dir", "/etc/orgrbac", "Folder where the orgrbac-permissions ConfigMaps are mounted.")
	api := flag.String("decision-api", "", "URL of the orgrbac decision API (e.g. https://orgrbac-api.orgrbac-system.svc:8082); empty: use the mounted snapshot.")
	caFile := flag.String("decision-api-ca", "", "CA bundle of the decision API's serving certificate.")
	addr := flag.String("listen", ":8080", "Address to serve on.")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var decider authz.Decider
	if *api != "" {
		src, err := authz.NewHTTPSource(authz.HTTPSourceOptions{URL: *api, CAFile: *caFile})
		if err != nil {
			log.Fatalf("decision API: %v", err)
		}
		decider = src
	} else {
		src := authz.NewFileSource(*dir, authz.FileSourceOptions{
			OnReload: func(rev int64, err error) {
				if err != nil {
					log.Printf("keeping snapshot revision %d: %v", rev, err)
					return
				}
				log.Printf("loaded snapshot revision %d", rev)
			},
		})
		go func() {
			if err := src.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				log.Printf("snapshot watcher stopped: %v", err)
			}
		}()
		decider = src
	}

	identify := func(r *http.Request) (string, string, error) {
		org, user := r.Header.Get("X-Org"), r.Header.Get("X-User")
		if org == "" || user == "" {
			return "", "", errors.New("no identity")
		}
		return org, user, nil
	}
	mux := http.NewServeMux()
	mux.Handle("DELETE /videos/{id}", authz.Middleware(decider, "videos:delete", identify)(
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		})))
	mux.Handle("GET /videos/{id}", authz.Middleware(decider, "videos:view", identify)(
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"title":"a video"}`))
		})))

	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("serving on %s", *addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
