package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/orgrbac/orgrbac/internal/api"
)

// The decision API's caller: a ServiceAccount of the benchmark's namespace bound
// to the api-caller ClusterRole there.
const (
	callerServiceAccount = "bench-caller"
	tokenLifetime        = 4 * time.Hour
)

// serverTLS is the decision API's TLS configuration (internal/api): TLS 1.2 or
// later, HTTP/1.1 only.
func serverTLS(cert tls.Certificate) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}, Certificates: []tls.Certificate{cert}}
}

// bareBody is the bare handler's constant answer, shaped like a /v1/check answer.
var bareBody = []byte(`{"allowed":true,"role":"staff","roles":["staff"],"reason":"Granted"}`)

// serveBare is the bare net/http handler the decision API is compared with: the
// same TLS and server settings, no authentication, a constant JSON answer. It
// runs as its own process (the benchmark re-executed with --serve-bare) until
// SIGTERM.
func serveBare(addr, certDir string) error {
	cert, err := tls.LoadX509KeyPair(filepath.Join(certDir, "tls.crt"), filepath.Join(certDir, "tls.key"))
	if err != nil {
		return fmt.Errorf("loading the certificate: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(bareBody)
	})
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(tls.NewListener(ln, serverTLS(cert))); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	return nil
}

// bareProc is the bare handler's process.
type bareProc struct {
	cmd    *exec.Cmd
	url    string
	exited chan struct{}
}

// startBare re-executes the benchmark as the bare handler on a free loopback port.
func startBare(certDir, logPath string) (*bareProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding the benchmark's executable: %w", err)
	}
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	p := &bareProc{url: "https://" + addr, exited: make(chan struct{})}
	p.cmd = exec.Command(exe, "--serve-bare="+addr, "--bare-cert-dir="+certDir)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.SysProcAttr = childProcAttr()
	if err := p.cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting the bare handler: %w", err)
	}
	go func() {
		_ = p.cmd.Wait()
		_ = logFile.Close()
		close(p.exited)
	}()
	return p, nil
}

func (p *bareProc) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// loadTLSConfig is the client TLS of the benchmark's calls: it trusts the
// benchmark's own serving certificate and speaks HTTP/1.1 only.
func loadTLSConfig(certPEM []byte) (*tls.Config, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(certPEM) {
		return nil, errors.New("bad serving certificate")
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool, NextProtos: []string{"http/1.1"}}, nil
}

// newAPIHTTPClient is the load generator's client: it trusts the benchmark's
// certificate only, keeps up to conns connections alive, speaks HTTP/1.1.
func newAPIHTTPClient(certPEM []byte, conns int) (*http.Client, error) {
	cfg, err := loadTLSConfig(certPEM)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		TLSClientConfig:     cfg,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}

// setupCaller creates the caller's ServiceAccount, the api-caller ClusterRole
// (config/rbac/api_caller_role.yaml) and a RoleBinding to it in ns, and returns
// n tokens of the ServiceAccount from the TokenRequest API (as n pods of one
// workload would hold).
func setupCaller(ctx context.Context, cs kubernetes.Interface, repo, ns string, n int) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(repo, "config", "rbac", "api_caller_role.yaml"))
	if err != nil {
		return nil, fmt.Errorf("reading the api-caller ClusterRole: %w", err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal(data, &role); err != nil {
		return nil, fmt.Errorf("decoding the api-caller ClusterRole: %w", err)
	}
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("creating ClusterRole %s: %w", role.Name, err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: callerServiceAccount}}
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("creating ServiceAccount %s: %w", sa.Name, err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: callerServiceAccount + "-api"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: callerServiceAccount}},
	}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("creating RoleBinding %s: %w", rb.Name, err)
	}
	seconds := int64(tokenLifetime / time.Second)
	tokens := make([]string, 0, n)
	for range n {
		tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, callerServiceAccount,
			&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &seconds,
				// The manager's default --api-token-audience, as a projected volume asks.
				Audiences: []string{api.DefaultTokenAudience}}}, metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("requesting a token for %s: %w", callerServiceAccount, err)
		}
		tokens = append(tokens, tr.Status.Token)
	}
	return tokens, nil
}

// checkRequest is the body of POST /v1/check.
type checkRequest struct {
	Organization string `json:"organization"`
	User         string `json:"user"`
	Permission   string `json:"permission"`
}

// checkAnswer is the part of a /v1/check answer the benchmark reads.
type checkAnswer struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason"`
}

// apiCaller calls the decision API as the benchmark's ServiceAccount.
type apiCaller struct {
	http   *http.Client
	url    string // https://127.0.0.1:port of the manager's API
	tokens []string
}

// check asks POST /v1/check with the first token.
func (a *apiCaller) check(ctx context.Context, q checkRequest) (checkAnswer, error) {
	body, err := json.Marshal(q)
	if err != nil {
		return checkAnswer{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url+"/v1/check", bytes.NewReader(body))
	if err != nil {
		return checkAnswer{}, err
	}
	req.Header.Set("Authorization", "Bearer "+a.tokens[0])
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return checkAnswer{}, fmt.Errorf("POST /v1/check: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return checkAnswer{}, fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return checkAnswer{}, fmt.Errorf("POST /v1/check: %s: %s", resp.Status, bytes.TrimSpace(data))
	}
	var ans checkAnswer
	if err := json.Unmarshal(data, &ans); err != nil {
		return checkAnswer{}, fmt.Errorf("decoding the answer: %w", err)
	}
	return ans, nil
}
