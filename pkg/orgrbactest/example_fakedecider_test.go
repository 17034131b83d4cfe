package orgrbactest_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/orgrbac/orgrbac/pkg/authz"
	"github.com/orgrbac/orgrbac/pkg/orgrbactest"
)

// A workload's unit test needs no cluster: the fake decider stands in for the
// mounted snapshot or the decision API.
func ExampleFakeDecider() {
	decider := orgrbactest.NewFakeDecider().Grant("acme", "user_alice", "videos:delete")
	identify := func(r *http.Request) (string, string, error) {
		return r.Header.Get("X-Org"), r.Header.Get("X-User"), nil
	}
	deleteVideo := authz.Middleware(decider, "videos:delete", identify)(
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "deleted") }))

	for _, user := range []string{"user_alice", "user_bob"} {
		req := httptest.NewRequest(http.MethodDelete, "/videos/1", nil)
		req.Header.Set("X-Org", "acme")
		req.Header.Set("X-User", user)
		rec := httptest.NewRecorder()
		deleteVideo.ServeHTTP(rec, req)
		fmt.Println(user, rec.Code)
	}
	decider.FailWith(errors.New("no snapshot yet"))
	fmt.Println("unsure:", decider.Allowed("acme", "user_alice", "videos:delete"))
	// Output:
	// user_alice 200
	// user_bob 403
	// unsure: false
}
