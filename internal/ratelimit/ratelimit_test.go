package ratelimit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/supportbot/supportbot/internal/ratelimit"
)

// TestBucketsBounded: keys invented as fast as a caller likes never hold
// more than the bound, and a full set makes room for a tenth of it at once,
// so the sweep does not run for every new key.
func TestBucketsBounded(t *testing.T) {
	b := ratelimit.NewBuckets(ratelimit.Config{Rate: 1, Burst: 1}, 100)
	now := time.Now()
	for i := range 100 {
		if ok, _ := b.Allow(fmt.Sprintf("k%d", i), now); !ok {
			t.Fatalf("first request of key %d refused", i)
		}
	}
	if ok, wait := b.Allow("k99", now); ok || wait <= 0 {
		t.Fatalf("second request of a key at once = %v (wait %s), want refused with a wait", ok, wait)
	}
	b.Allow("new", now)
	if n := b.Len(); n > 91 {
		t.Fatalf("after the bound was reached: %d buckets, want at most 91", n)
	}
	for i := range 1000 {
		b.Allow(fmt.Sprintf("x%d", i), now)
		if n := b.Len(); n > 100 {
			t.Fatalf("%d buckets, over the bound of 100", n)
		}
	}
	if ratelimit.NewBuckets(ratelimit.Config{}, 0) != nil {
		t.Fatal("buckets without a rate")
	}
}
