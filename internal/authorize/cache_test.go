package authorize

import (
	"testing"
	"time"
)

func TestJWTExpiry(t *testing.T) {
	exp := time.Unix(1900000000, 0)
	if got, ok := jwtExpiry(fakeJWT("alice", exp)); !ok || !got.Equal(exp) {
		t.Errorf("got %v %v, want %v", got, ok, exp)
	}
	for _, token := range []string{"opaque-token", "a.b", "a.!!!.c", "a." + "e30" + ".c"} {
		if _, ok := jwtExpiry(token); ok {
			t.Errorf("%q has an expiry", token)
		}
	}
}

func TestCacheIsBounded(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	c := newCache(time.Minute, clock.now)
	c.size = 3
	allowed := Decision{Authenticated: true, User: Identity{Name: "u"}}
	denied := Decision{Authenticated: true, Missing: &getPods}
	present := func(keys ...string) {
		t.Helper()
		for _, k := range keys {
			if _, ok := c.get(keyOf(k)); !ok {
				t.Errorf("entry %s was evicted", k)
			}
		}
	}
	c.put(keyOf("0"), "0", allowed)
	c.put(keyOf("1"), "1", allowed)
	c.put(keyOf("denied"), "denied", denied)

	// Expired entries go first, however young.
	clock.advance(denialTTL + time.Second)
	c.put(keyOf("2"), "2", allowed)
	present("0", "1", "2")
	if _, ok := c.entries[keyOf("denied")]; ok {
		t.Error("the expired entry was kept in a full cache")
	}

	// Then the oldest.
	c.put(keyOf("3"), "3", allowed)
	present("1", "2", "3")
	if _, ok := c.get(keyOf("0")); ok {
		t.Error("the oldest entry was kept in a full cache")
	}
	if len(c.entries) != 3 || c.order.Len() != 3 {
		t.Fatalf("%d entries, %d in order; want 3", len(c.entries), c.order.Len())
	}
}

func TestCacheHoldsNoToken(t *testing.T) {
	c := newCache(time.Minute, time.Now)
	token := "the-secret-token"
	c.put(keyOf(token), token, Decision{Authenticated: true})
	for k, el := range c.entries {
		if string(k[:]) == token || el.Value.(*cacheEntry).decision.User.Name == token {
			t.Fatal("the cache holds the token")
		}
	}
}

func TestZeroTTLCachesNothing(t *testing.T) {
	c := newCache(0, time.Now)
	c.put(keyOf("t"), "t", Decision{Authenticated: true})
	if _, ok := c.get(keyOf("t")); ok {
		t.Error("a zero TTL cached")
	}
}
