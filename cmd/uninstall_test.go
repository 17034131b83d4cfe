package main

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestLeaseFree(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	lease := func(holder string, renewedAgo time.Duration, seconds int32) *coordinationv1.Lease {
		l := &coordinationv1.Lease{}
		if holder != "-" {
			l.Spec.HolderIdentity = &holder
		}
		if renewedAgo >= 0 {
			l.Spec.RenewTime = &metav1.MicroTime{Time: now.Add(-renewedAgo)}
		}
		if seconds > 0 {
			l.Spec.LeaseDurationSeconds = &seconds
		}
		return l
	}
	for _, tc := range []struct {
		name  string
		lease *coordinationv1.Lease
		want  bool
	}{
		{"no holder", lease("-", time.Second, 15), true},
		{"released: empty holder", lease("", time.Second, 15), true},
		{"held and renewed", lease("manager-a_1", 2*time.Second, 15), false},
		{"held, renewed exactly at the duration", lease("manager-a_1", 15*time.Second, 15), false},
		{"held but expired", lease("manager-a_1", 16*time.Second, 15), true},
		{"no renew time", lease("manager-a_1", -1, 15), true},
		{"no duration", lease("manager-a_1", time.Second, 0), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := leaseFree(tc.lease, now); got != tc.want {
				t.Errorf("leaseFree = %v, want %v", got, tc.want)
			}
		})
	}
}
