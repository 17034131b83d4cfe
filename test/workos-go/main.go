// Command workos-go drives the official WorkOS Go SDK (github.com/workos/workos-go)
// against the orgrbac decision API for internal/api/workos_go_sdk_test.go.
//
// It is its own module so that the operator's module does not depend on the
// SDK. It reads one command per line on stdin, makes the SDK call the command
// names and writes one JSON answer per line on stdout, so that the test can
// check the cluster between two calls. It imports nothing of orgrbac.
//
// Environment:
//
//	WORKOS_PORT     the API's port on 127.0.0.1 (HTTPS)
//	WORKOS_CA_FILE  the PEM certificate the API's serving certificate is verified with
//	WORKOS_TOKENS   a JSON object of caller name to bearer token (ServiceAccount tokens
//	                for the decision API's audience), used as the SDK's API key
//
// A command is {"as": caller, "op": operation, "args": {...}}; the answer is
// {"ok": true, "value": ...} with what the SDK returned, encoded with the SDK's
// own JSON field names, or {"ok": false, "error": {...}} with the SDK's error
// (its Go type, the HTTP status and WorkOS code it carries).
//
// `workos-go receive` is instead a webhook receiver verifying deliveries with
// the SDK's WebhookVerifier (receive.go), for internal/webhooks' envtest suite.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/workos/workos-go/v9"
)

// args are the arguments of every operation; each uses the fields it needs.
type args struct {
	ID                 string   `json:"id"`
	OrganizationID     string   `json:"organizationId"`
	UserID             string   `json:"userId"`
	RoleSlug           string   `json:"roleSlug"`
	RoleSlugs          []string `json:"roleSlugs"`
	Statuses           []string `json:"statuses"`
	Slug               string   `json:"slug"`
	Name               *string  `json:"name"`
	Description        *string  `json:"description"`
	PermissionSlug     string   `json:"permissionSlug"`
	Permissions        []string `json:"permissions"`
	ExternalID         string   `json:"externalId"`
	ClientID           string   `json:"clientId"`
	ResourceExternalID string   `json:"resourceExternalId"`
	ResourceTypeSlug   string   `json:"resourceTypeSlug"`
	// Organization and User are the body of POST /v1/tokens.
	Organization string `json:"organization"`
	User         string `json:"user"`
	eventArgs           // listEvents (events.go)
}

type command struct {
	As   string `json:"as"`
	Op   string `json:"op"`
	Args args   `json:"args"`
}

type sdkError struct {
	Type    string `json:"type"`
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

type answer struct {
	OK    bool      `json:"ok"`
	Value any       `json:"value,omitempty"`
	Error *sdkError `json:"error,omitempty"`
}

// driver holds one SDK client per caller, all trusting the API's CA.
type driver struct {
	baseURL string
	httpc   *http.Client
	tokens  map[string]string
	clients map[string]*workos.Client
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "receive" {
		if err := receive(os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "workos-go receive:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "workos-go:", err)
		os.Exit(1)
	}
}

func env(name string) (string, error) {
	v := os.Getenv(name)
	if v == "" {
		return "", fmt.Errorf("%s is not set", name)
	}
	return v, nil
}

func newDriver() (*driver, error) {
	port, err := env("WORKOS_PORT")
	if err != nil {
		return nil, err
	}
	caFile, err := env("WORKOS_CA_FILE")
	if err != nil {
		return nil, err
	}
	rawTokens, err := env("WORKOS_TOKENS")
	if err != nil {
		return nil, err
	}
	pem, err := os.ReadFile(caFile) //nolint:gosec // the test names the file
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	d := &driver{
		baseURL: "https://127.0.0.1:" + port,
		// Verified TLS: only the API's certificate is trusted.
		httpc: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}},
		clients: map[string]*workos.Client{},
	}
	if err := json.Unmarshal([]byte(rawTokens), &d.tokens); err != nil {
		return nil, fmt.Errorf("WORKOS_TOKENS: %w", err)
	}
	return d, nil
}

// client is the SDK client of a caller, with the SDK's base-URL and HTTP
// client options.
func (d *driver) client(as string) (*workos.Client, error) {
	if c, ok := d.clients[as]; ok {
		return c, nil
	}
	token, ok := d.tokens[as]
	if !ok {
		return nil, fmt.Errorf("no token for caller %q", as)
	}
	c := workos.NewClient(token, workos.WithBaseURL(d.baseURL), workos.WithHTTPClient(d.httpc))
	d.clients[as] = c
	return c, nil
}

func run(in io.Reader, out io.Writer) error {
	d, err := newDriver()
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	enc := json.NewEncoder(out)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var cmd command
		if err := json.Unmarshal(sc.Bytes(), &cmd); err != nil {
			return fmt.Errorf("command %q: %w", sc.Text(), err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		value, err := d.do(ctx, cmd)
		cancel()
		a := answer{OK: err == nil, Value: value}
		if err != nil {
			a.Value, a.Error = nil, describe(err)
		}
		if err := enc.Encode(a); err != nil {
			return err
		}
	}
	return sc.Err()
}

// describe is what the test sees of an SDK error.
func describe(err error) *sdkError {
	e := &sdkError{Type: fmt.Sprintf("%T", err), Message: err.Error()}
	var api *workos.APIError
	if errors.As(err, &api) {
		e.Status, e.Code = api.StatusCode, api.Code
	}
	return e
}

// do makes the SDK call of one command.
func (d *driver) do(ctx context.Context, cmd command) (any, error) {
	if cmd.Op == "version" {
		return map[string]string{"sdk": workos.Version}, nil
	}
	c, err := d.client(cmd.As)
	if err != nil {
		return nil, err
	}
	a := cmd.Args
	role := func() workos.OrganizationMembershipRole {
		switch {
		case a.RoleSlugs != nil:
			return workos.OrganizationMembershipRoleMultiple{Slugs: a.RoleSlugs}
		case a.RoleSlug != "":
			return workos.OrganizationMembershipRoleSingle{Slug: a.RoleSlug}
		}
		return nil
	}
	switch cmd.Op {
	// Organization memberships.
	case "createMembership":
		return c.OrganizationMembership().Create(ctx, &workos.OrganizationMembershipCreateParams{
			OrganizationID: a.OrganizationID, UserID: a.UserID, Role: role()})
	case "updateMembership":
		return c.OrganizationMembership().Update(ctx, a.ID, &workos.OrganizationMembershipUpdateParams{Role: role()})
	case "deactivateMembership":
		return c.OrganizationMembership().Deactivate(ctx, a.ID)
	case "reactivateMembership":
		return c.OrganizationMembership().Reactivate(ctx, a.ID)
	case "deleteMembership":
		return nil, c.OrganizationMembership().Delete(ctx, a.ID)
	case "getMembership":
		return c.OrganizationMembership().Get(ctx, a.ID)
	case "listMemberships":
		p := &workos.OrganizationMembershipListParams{}
		if a.OrganizationID != "" {
			p.OrganizationID = &a.OrganizationID
		}
		if a.UserID != "" {
			p.UserID = &a.UserID
		}
		for _, s := range a.Statuses {
			p.Statuses = append(p.Statuses, workos.UserManagementOrganizationMembershipStatuses(s))
		}
		return all(c.OrganizationMembership().List(ctx, p))

	// Organization roles.
	case "createOrganizationRole":
		return c.Authorization().CreateOrganizationRole(ctx, a.OrganizationID, &workos.AuthorizationCreateOrganizationRoleParams{
			Slug: &a.Slug, Name: deref(a.Name), Description: a.Description})
	case "updateOrganizationRole":
		return c.Authorization().UpdateOrganizationRole(ctx, a.OrganizationID, a.Slug,
			&workos.AuthorizationUpdateOrganizationRoleParams{Name: a.Name, Description: a.Description})
	case "addOrganizationRolePermission":
		return c.Authorization().AddOrganizationRolePermission(ctx, a.OrganizationID, a.Slug,
			&workos.AuthorizationAddOrganizationRolePermissionParams{Slug: a.PermissionSlug})
	case "setOrganizationRolePermissions":
		return c.Authorization().SetOrganizationRolePermissions(ctx, a.OrganizationID, a.Slug,
			&workos.AuthorizationSetOrganizationRolePermissionsParams{Permissions: a.Permissions})
	case "removeOrganizationRolePermission":
		return nil, c.Authorization().RemoveOrganizationRolePermission(ctx, a.OrganizationID, a.Slug, a.PermissionSlug)
	case "deleteOrganizationRole":
		return nil, c.Authorization().DeleteOrganizationRole(ctx, a.OrganizationID, a.Slug)
	case "getOrganizationRole":
		return c.Authorization().GetOrganizationRole(ctx, a.OrganizationID, a.Slug)
	case "listOrganizationRoles":
		l, err := c.Authorization().ListOrganizationRoles(ctx, a.OrganizationID)
		if err != nil {
			return nil, err
		}
		return l.Data, nil

	// Checks.
	case "check":
		p := &workos.AuthorizationCheckParams{PermissionSlug: a.PermissionSlug}
		if a.ResourceExternalID != "" || a.ResourceTypeSlug != "" {
			p.ResourceTarget = workos.AuthorizationResourceTargetByExternalID{
				ResourceExternalID: a.ResourceExternalID, ResourceTypeSlug: a.ResourceTypeSlug}
		}
		return c.Authorization().Check(ctx, a.ID, p)

	// Organizations.
	case "getOrganization":
		return c.Organizations().Get(ctx, a.ID)
	case "getOrganizationByExternalId":
		return c.Organizations().GetByExternalID(ctx, a.ExternalID)
	case "listOrganizations":
		return all(c.Organizations().List(ctx, &workos.OrganizationsListParams{}))

	// Access tokens: the SDK builds the key set's URL and fetches the key
	// set; minting is a plain POST with the caller's bearer (no SDK has it).
	case "jwksUrl":
		return map[string]string{
			"url":        workos.GetJWKSURL(d.baseURL, a.ClientID),
			"fromClient": workos.NewClient("", workos.WithBaseURL(d.baseURL), workos.WithClientID(a.ClientID)).JWKSURLFromClient(),
		}, nil
	case "getJwks":
		return c.UserManagement().GetJWKS(ctx, a.ClientID)
	case "mintToken":
		return d.mint(ctx, cmd.As, a)
	}
	return d.moreOps(ctx, c, cmd)
}

// all drains an SDK iterator (it follows list_metadata.after by itself).
func all[T any](it *workos.Iterator[T]) ([]T, error) {
	items := []T{}
	for it.Next() {
		items = append(items, *it.Current())
	}
	return items, it.Err()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// minted is the HTTP answer of POST /v1/tokens.
type minted struct {
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

func (d *driver) mint(ctx context.Context, as string, a args) (*minted, error) {
	body, err := json.Marshal(map[string]string{"organization": a.Organization, "user": a.User})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.baseURL+"/v1/tokens", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+d.tokens[as])
	req.Header.Set("Content-Type", "application/json")
	res, err := d.httpc.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = res.Body.Close() }()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if !json.Valid(data) {
		return nil, fmt.Errorf("POST /v1/tokens answered %d with a body that is not JSON: %q", res.StatusCode, data)
	}
	return &minted{Status: res.StatusCode, Body: data}, nil
}
