package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// What the WorkOS write routes share: the client they write with, how a write
// records its caller, and how the API server's refusals reach the caller.
//
// The route table has already made a SubjectAccessReview for the write's verb
// on the object's resource in the environment's namespace before a handler
// runs, so the API writes nothing its caller could not write with kubectl. The
// write itself is made with the API's own identity (no impersonation: that
// would let the API act as anyone), through the API server, so admission
// (CEL rules, the webhooks, policies) judges it as it judges kubectl's.

// The manager's permissions for these writes are among its RBAC markers
// (internal/controller/rbac.go); the API's own Deployment has the same in
// config/rbac/api_server_role.yaml.

// writeCallTimeout bounds one write to the API server.
const writeCallTimeout = 10 * time.Second

// writeClient returns the client of the API's writes; without one (the API
// was built without Options.Client) it answers 501 and returns false.
func (s *Server) writeClient(w http.ResponseWriter) (client.Client, bool) {
	if s.opts.Client == nil {
		writeError(w, http.StatusNotImplemented, "not_implemented", "This decision API serves no writes.")
		return nil, false
	}
	return s.opts.Client, true
}

// writeOptions are the options of every write: the field manager.
func (s *Server) fieldOwner() client.FieldOwner {
	if s.opts.FieldManager != "" {
		return client.FieldOwner(s.opts.FieldManager)
	}
	return client.FieldOwner(DefaultFieldManager)
}

// writeContext bounds a write by writeCallTimeout and the request's context.
func writeContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), writeCallTimeout)
}

// maxWriterGroups bounds the caller's groups a write records.
const maxWriterGroups = 64

// markWritten records on obj the caller whose request writes it: its user
// name, its groups (those without a comma, at most maxWriterGroups: a group
// left out can only make a policy refuse), and a new request id, which tells
// admission policies this write is made for a caller.
func markWritten(obj metav1.Object, u caller) {
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	groups := make([]string, 0, len(u.groups))
	for _, g := range u.groups {
		if g != "" && !strings.Contains(g, ",") && len(groups) < maxWriterGroups {
			groups = append(groups, g)
		}
	}
	slices.Sort(groups)
	ann[orgrbacv1alpha1.AnnotationWrittenBy] = u.name
	ann[orgrbacv1alpha1.AnnotationWrittenByGroups] = strings.Join(slices.Compact(groups), ",")
	ann[orgrbacv1alpha1.AnnotationWriteRequest] = requestID()
	obj.SetAnnotations(ann)
}

// deleteWritten deletes obj for the caller u: it first records the caller on
// the object (an update admission judges as the caller's, see markWritten),
// then deletes exactly that version of it (preconditions on its UID and
// resourceVersion), so that policies judging writers see who deletes. obj is
// the current object, read through c.
func (s *Server) deleteWritten(ctx context.Context, c client.Client, obj client.Object, u caller) error {
	markWritten(obj, u)
	if err := c.Update(ctx, obj, s.fieldOwner()); err != nil {
		return err
	}
	uid, rv := obj.GetUID(), obj.GetResourceVersion()
	return c.Delete(ctx, obj, client.Preconditions{UID: &uid, ResourceVersion: &rv})
}

// Error codes of the writes, as WorkOS's.
const (
	codeConflict = "conflict"
)

// writeKubeError answers for an error of a write to the API server: what the
// API server refused (invalid: 422 with its causes; forbidden by admission:
// 403; not found: 404; a conflict: 409) in WorkOS's error shape, and anything
// else as 503 after logging it. what and id name the object for the messages.
func (s *Server) writeKubeError(w http.ResponseWriter, err error, what, id string) {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		s.log.Error(err, "Writing an object for a caller", "kind", what, "id", id)
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "The write could not be made; try again.")
		return
	}
	st := status.Status()
	switch {
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		var fields []fieldError
		if st.Details != nil {
			for _, c := range st.Details.Causes {
				fields = append(fields, fieldError{Code: strings.TrimSpace(c.Message), Field: c.Field})
			}
		}
		writeError(w, http.StatusUnprocessableEntity, codeInvalid, admissionMessage(st.Message), fields...)
	case apierrors.IsForbidden(err):
		// The route's SubjectAccessReview allowed the caller, so this is
		// admission (a webhook or a policy) refusing the write itself.
		writeError(w, http.StatusForbidden, codeForbidden, admissionMessage(st.Message))
	case apierrors.IsNotFound(err):
		writeError(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("%s not found: '%s'.", what, id))
	case apierrors.IsAlreadyExists(err), apierrors.IsConflict(err):
		writeError(w, http.StatusConflict, codeConflict, admissionMessage(st.Message))
	default:
		s.log.Error(err, "Writing an object for a caller", "kind", what, "id", id)
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "The write could not be made; try again.")
	}
}

// admissionMessage bounds a message of the API server's (which may quote the
// object) to what an error body carries.
func admissionMessage(m string) string {
	const limit = 1024
	if len(m) > limit {
		return m[:limit] + "…"
	}
	return m
}
