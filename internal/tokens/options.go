package tokens

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"
)

// Defaults of Options.
const (
	// DefaultSecretName is the name of the signing keys' Secret.
	DefaultSecretName = "orgrbac-token-signing-keys" //nolint:gosec // G101: the Secret's name, not a credential
	// DefaultRotationPeriod is how long a key signs before the next one does.
	DefaultRotationPeriod = 24 * time.Hour
	// DefaultOverlap is how long a key stays in the public set after its
	// successor starts signing.
	DefaultOverlap = time.Hour
	// DefaultTokenTTL is the access tokens' lifetime (WorkOS's five minutes).
	DefaultTokenTTL = 5 * time.Minute
	// DefaultPublishDelay is how long a new key is published before it signs.
	DefaultPublishDelay = time.Minute
)

// maxRetainedKeys bounds the keys of the Secret: the Options may not make the
// Rotator keep more, and a Secret holding more is refused.
const maxRetainedKeys = 16

// Options configure a Rotator and a KeySet (both take the same).
type Options struct {
	// Namespace and SecretName locate the Secret (SecretName defaults to
	// DefaultSecretName). Namespace is required.
	Namespace  string
	SecretName string
	// RotationPeriod is how long a key signs (DefaultRotationPeriod when zero).
	RotationPeriod time.Duration
	// Overlap is how long a key stays in the public set once its successor
	// signs (DefaultOverlap when zero); it must be at least TokenTTL.
	Overlap time.Duration
	// TokenTTL is the lifetime of the tokens the keys sign (DefaultTokenTTL
	// when zero).
	TokenTTL time.Duration
	// PublishDelay is how long a new key is in the public set before it signs
	// (DefaultPublishDelay when zero, none when negative); it must be shorter
	// than RotationPeriod.
	PublishDelay time.Duration
	// Clock tells the time (the real clock when nil).
	Clock clock.Clock
	// Logger receives the changes of the key set (never key material).
	Logger logr.Logger
}

// withDefaults fills the zero fields and checks the result.
func (o Options) withDefaults() (Options, error) {
	if o.Namespace == "" {
		return o, errors.New("tokens: Options.Namespace is required")
	}
	if o.SecretName == "" {
		o.SecretName = DefaultSecretName
	}
	if o.RotationPeriod == 0 {
		o.RotationPeriod = DefaultRotationPeriod
	}
	if o.Overlap == 0 {
		o.Overlap = DefaultOverlap
	}
	if o.TokenTTL == 0 {
		o.TokenTTL = DefaultTokenTTL
	}
	switch {
	case o.PublishDelay == 0:
		o.PublishDelay = DefaultPublishDelay
	case o.PublishDelay < 0:
		o.PublishDelay = 0
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Logger.GetSink() == nil {
		o.Logger = logr.Discard()
	}
	switch {
	case o.RotationPeriod < 0, o.Overlap < 0, o.TokenTTL < 0:
		return o, errors.New("tokens: RotationPeriod, Overlap and TokenTTL may not be negative")
	case o.Overlap < o.TokenTTL:
		return o, fmt.Errorf("tokens: Overlap (%s) must be at least TokenTTL (%s): a key must verify every token it signed until the token expires", o.Overlap, o.TokenTTL)
	case o.PublishDelay >= o.RotationPeriod:
		return o, fmt.Errorf("tokens: PublishDelay (%s) must be shorter than RotationPeriod (%s)", o.PublishDelay, o.RotationPeriod)
	case o.Overlap > time.Duration(maxRetainedKeys-2)*o.RotationPeriod:
		return o, fmt.Errorf("tokens: Overlap (%s) may be at most %d RotationPeriods (%s): the Secret would hold too many keys", o.Overlap, maxRetainedKeys-2, o.RotationPeriod)
	}
	return o, nil
}
