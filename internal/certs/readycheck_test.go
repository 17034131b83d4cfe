package certs

import "testing"

func TestReadyCheckBeforeReady(t *testing.T) {
	if err := ReadyCheck(make(chan struct{}))(nil); err == nil {
		t.Error("ReadyCheck passed before ready")
	}
}
