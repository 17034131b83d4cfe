package authz

// AccessTokenClaims are the claims of an orgrbac access token: WorkOS's
// access-token shape, signed by the operator (RS256) and verifiable offline
// against the key set the decision API serves at /sso/jwks/{clientId}.
type AccessTokenClaims struct {
	// Issuer (iss) is the decision API's URL.
	Issuer string `json:"iss"`
	// Subject (sub) is the user id.
	Subject string `json:"sub"`
	// Audience (aud) is the client id of the environment the token was minted
	// in: its namespace. A token is good for that environment only.
	Audience string `json:"aud"`
	// OrgID (org_id) is the organization's WorkOS id (externalID, else name).
	OrgID string `json:"org_id"`
	// Role is the highest-priority role; Roles all of them, in priority order.
	Role  string   `json:"role"`
	Roles []string `json:"roles"`
	// Permissions are the permissions the membership grants, sorted.
	Permissions []string `json:"permissions"`
	// SessionID (sid) identifies the session the token belongs to.
	SessionID string `json:"sid"`
	// ID (jti) identifies the token.
	ID string `json:"jti"`
	// IssuedAt (iat) and Expiry (exp) are Unix seconds.
	IssuedAt int64 `json:"iat"`
	Expiry   int64 `json:"exp"`
}

// HasPermission reports whether the token grants permission (false for nil
// claims).
func (c *AccessTokenClaims) HasPermission(permission string) bool {
	if c == nil || permission == "" {
		return false
	}
	for _, p := range c.Permissions {
		if p == permission {
			return true
		}
	}
	return false
}
