package webhooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/workos"
)

// Body is the body of the delivery of e: its WorkOS envelope (workos.EventOf,
// the shape GET /events lists) as JSON that JSON.stringify(JSON.parse(body))
// gives back byte for byte. The Node SDK's webhooks.constructEvent signs the
// parsed payload again with JSON.stringify (8.x always, 11.x when given the
// parsed object, as an Express json() handler does), so any other spelling of
// the same JSON (Go's \u003c for <, 1.0, a key order JSON.parse changes) would
// fail its verification; the Go SDK signs the bytes as received, which this
// also satisfies.
func Body(e *orgrbacv1alpha1.StoredEvent) ([]byte, error) {
	raw, err := json.Marshal(workos.EventOf(e))
	if err != nil {
		return nil, fmt.Errorf("encoding event %s: %w", e.ID, err)
	}
	return jsJSON(raw)
}

// jsJSON rewrites the JSON text in as JSON.stringify(JSON.parse(in)) would:
// no spaces; strings escaped as ECMAScript does (only ", \, and controls);
// numbers as Number.prototype.toString; within an object, keys that are array
// indices first in ascending order, then the others in order of first
// appearance, a repeated key keeping its first place and its last value.
func jsJSON(in []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	var out bytes.Buffer
	if err := jsValueAt(dec, &out, 0); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the JSON value")
	}
	return out.Bytes(), nil
}

// maxDepth bounds the nesting jsJSON accepts (encoding/json's own limit is 10000).
const maxDepth = 1000

func jsValueAt(dec *json.Decoder, out *bytes.Buffer, depth int) error {
	if depth > maxDepth {
		return errors.New("JSON nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '[':
			out.WriteByte('[')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					out.WriteByte(',')
				}
				if err := jsValueAt(dec, out, depth+1); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
			out.WriteByte(']')
		case '{':
			return jsObject(dec, out, depth)
		default:
			return fmt.Errorf("unexpected %v", v)
		}
	case string:
		jsString(out, v)
	case json.Number:
		s, err := jsNumber(string(v))
		if err != nil {
			return err
		}
		out.WriteString(s)
	case bool:
		out.WriteString(strconv.FormatBool(v))
	case nil:
		out.WriteString("null")
	default:
		return fmt.Errorf("unexpected token %T", tok)
	}
	return nil
}

type member struct {
	key   string
	value []byte
}

func jsObject(dec *json.Decoder, out *bytes.Buffer, depth int) error {
	var members []member
	at := map[string]int{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("object key %v is not a string", tok)
		}
		var v bytes.Buffer
		if err := jsValueAt(dec, &v, depth+1); err != nil {
			return err
		}
		if i, ok := at[key]; ok {
			members[i].value = v.Bytes()
			continue
		}
		at[key] = len(members)
		members = append(members, member{key, v.Bytes()})
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	// Array-index keys first, ascending; the others keep their order.
	slices.SortStableFunc(members, func(a, b member) int {
		ia, oka := arrayIndex(a.key)
		ib, okb := arrayIndex(b.key)
		switch {
		case oka && okb:
			return compareUint(ia, ib)
		case oka:
			return -1
		case okb:
			return 1
		}
		return 0
	})
	out.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			out.WriteByte(',')
		}
		jsString(out, m.key)
		out.WriteByte(':')
		out.Write(m.value)
	}
	out.WriteByte('}')
	return nil
}

func compareUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// arrayIndex reports whether key is an ECMAScript array index (the canonical
// decimal of an integer below 2^32-1), which objects list first.
func arrayIndex(key string) (uint64, bool) {
	if key == "" || len(key) > 10 || (len(key) > 1 && key[0] == '0') {
		return 0, false
	}
	n, err := strconv.ParseUint(key, 10, 64)
	if err != nil || n >= math.MaxUint32 {
		return 0, false
	}
	return n, true
}

// jsString writes s quoted as JSON.stringify does. s is valid UTF-8 (the
// decoder replaced what was not), so no lone surrogate needs escaping.
func jsString(out *bytes.Buffer, s string) {
	out.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			out.WriteString(`\"`)
		case '\\':
			out.WriteString(`\\`)
		case '\b':
			out.WriteString(`\b`)
		case '\f':
			out.WriteString(`\f`)
		case '\n':
			out.WriteString(`\n`)
		case '\r':
			out.WriteString(`\r`)
		case '\t':
			out.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(out, `\u%04x`, r)
				continue
			}
			var buf [utf8.UTFMax]byte
			out.Write(buf[:utf8.EncodeRune(buf[:], r)])
		}
	}
	out.WriteByte('"')
}

// jsNumber is the JSON number s as JSON.stringify(JSON.parse(s)) writes it:
// the double nearest s, in Number.prototype.toString's form (ECMA-262
// Number::toString), or null when it overflows to an infinity.
func jsNumber(s string) (string, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !math.IsInf(f, 0) {
		return "", fmt.Errorf("number %q: %w", s, err)
	}
	switch {
	case math.IsInf(f, 0):
		return "null", nil
	case f == 0:
		return "0", nil
	}
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	// The shortest digits that round-trip, as ECMAScript requires.
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±x
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, err := strconv.Atoi(exp)
	if err != nil {
		return "", err
	}
	k, n := len(digits), x+1
	var b strings.Builder
	b.WriteString(sign)
	switch {
	case k <= n && n <= 21:
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", n-k))
	case 0 < n && n <= 21:
		b.WriteString(digits[:n])
		b.WriteByte('.')
		b.WriteString(digits[n:])
	case -6 < n && n <= 0:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -n))
		b.WriteString(digits)
	default:
		b.WriteString(digits[:1])
		if k > 1 {
			b.WriteByte('.')
			b.WriteString(digits[1:])
		}
		b.WriteByte('e')
		if n-1 >= 0 {
			b.WriteByte('+')
		}
		b.WriteString(strconv.Itoa(n - 1))
	}
	return b.String(), nil
}
