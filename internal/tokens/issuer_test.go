package tokens_test

import (
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/orgrbac/orgrbac/internal/api"
	"github.com/orgrbac/orgrbac/internal/tokens"
)

// The KeySet is the decision API's token issuer, and both runnables are
// manager runnables that say where they run.
var (
	_ api.TokenIssuer                = (*tokens.KeySet)(nil)
	_ manager.Runnable               = (*tokens.KeySet)(nil)
	_ manager.LeaderElectionRunnable = (*tokens.KeySet)(nil)
	_ manager.Runnable               = (*tokens.Rotator)(nil)
	_ manager.LeaderElectionRunnable = (*tokens.Rotator)(nil)
)
