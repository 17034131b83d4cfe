package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// SignatureHeader is the header that carries a delivery's signature.
const SignatureHeader = "WorkOS-Signature"

// Signature is the value of the WorkOS-Signature header of body sent at t:
// `t=<unix ms>, v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, as WorkOS signs
// (the SDKs split it on "," and "=", and check that t is at most 180 s old).
func Signature(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.UnixMilli(), 10)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return "t=" + ts + ", v1=" + hex.EncodeToString(mac.Sum(nil))
}
