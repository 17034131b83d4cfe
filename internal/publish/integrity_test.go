package publish

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Security review H3: a revision above MaxRevision (a forged MaxInt64, or what an
// unchecked MaxInt64+1 wraps to) is neither encoded nor decoded.
func TestRevisionRange(t *testing.T) {
	for _, rev := range []int64{0, 1, MaxRevision} {
		s := sample()
		s.Revision = rev
		got, err := Decode(filesOf(t, mustEncode(t, s, 0)))
		if err != nil || got.Revision != rev {
			t.Errorf("revision %d: Decode = %v, %v", rev, got, err)
		}
	}
	good := mustEncode(t, sample(), 0)[0].Data[KeySnapshot]
	for _, rev := range []int64{MaxRevision + 1, math.MaxInt64, math.MinInt64, -1} {
		s := sample()
		s.Revision = rev
		if _, err := Encode(s, 0); !errors.Is(err, ErrInvalid) {
			t.Errorf("Encode at revision %d: %v, want ErrInvalid", rev, err)
		}
		forged := strings.Replace(good, `"revision":7`, `"revision":`+itoa(rev), 1)
		if _, err := Decode(map[string][]byte{KeySnapshot: []byte(forged)}); !errors.Is(err, ErrInvalid) {
			t.Errorf("Decode at revision %d: %v, want ErrInvalid", rev, err)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Security review M8: the publication time is written into the document or the
// index, outside the content hash, and read back.
func TestPublishedAt(t *testing.T) {
	at := time.Date(2026, 11, 30, 20, 5, 34, 999, time.FixedZone("x", 3600))
	for _, limit := range []int{0, 500} {
		cms, err := EncodeAt(sample(), limit, at)
		if err != nil {
			t.Fatal(err)
		}
		key := KeySnapshot
		if limit > 0 {
			key = KeyIndex
		}
		if doc := cms[0].Data[key]; !strings.Contains(doc, `"publishedAt":"2026-11-30T19:05:34Z"`) {
			t.Errorf("limit %d: %s has no publishedAt: %s", limit, key, doc)
		}
		for _, cm := range cms[1:] {
			for _, v := range cm.Data {
				if strings.Contains(v, "publishedAt") {
					t.Errorf("shard %s carries publishedAt", cm.Name)
				}
			}
		}
		s, info, err := DecodeInfo(filesOf(t, cms))
		if err != nil {
			t.Fatal(err)
		}
		if want := at.UTC().Truncate(time.Second); !info.PublishedAt.Equal(want) {
			t.Errorf("limit %d: PublishedAt = %v, want %v", limit, info.PublishedAt, want)
		}
		// The same content published at another time has the same hash.
		other, err := EncodeAt(sample(), limit, at.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		s2, info2, err := DecodeInfo(filesOf(t, other))
		if err != nil || !info2.PublishedAt.After(info.PublishedAt) {
			t.Fatalf("DecodeInfo: %v, %v", info2, err)
		}
		h1, _ := ContentHash(s)
		h2, _ := ContentHash(s2)
		if h1 != h2 {
			t.Errorf("the publication time changed the content hash")
		}
	}
	// No time: the field is omitted (the bytes of Encode), and DecodeInfo says zero.
	plain := mustEncode(t, sample(), 0)
	if strings.Contains(plain[0].Data[KeySnapshot], "publishedAt") {
		t.Error("Encode wrote publishedAt")
	}
	if _, info, err := DecodeInfo(filesOf(t, plain)); err != nil || !info.PublishedAt.IsZero() {
		t.Errorf("DecodeInfo without a time: %v, %v", info, err)
	}
	bad := strings.Replace(plain[0].Data[KeySnapshot], `"hash"`, `"publishedAt":"yesterday","hash"`, 1)
	if _, _, err := DecodeInfo(map[string][]byte{KeySnapshot: []byte(bad)}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a bad publishedAt: %v, want ErrInvalid", err)
	}
}
