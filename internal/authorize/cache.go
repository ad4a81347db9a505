package authorize

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

const (
	// DefaultCacheTTL is how long an allowed token is trusted without
	// asking the API server again: a revoked binding or a disabled user
	// takes effect within it.
	DefaultCacheTTL = 30 * time.Second
	// MaxCacheTTL bounds --cache-ttl, so that nobody keeps access for long
	// after the cluster took it away.
	MaxCacheTTL = 5 * time.Minute
	// denialTTL is short: a user who was just granted access should not
	// wait for it, while a burst of requests from a denied page still
	// costs one round of reviews.
	denialTTL = 5 * time.Second
	// cacheSize bounds the memory a flood of distinct tokens can take.
	cacheSize = 4096
)

// tokenKey is the SHA-256 of a token: the cache never holds a token, so a
// dump of the process's memory through it gives nobody a credential.
type tokenKey [sha256.Size]byte

func keyOf(token string) tokenKey { return sha256.Sum256([]byte(token)) }

type cacheEntry struct {
	key      tokenKey
	decision Decision
	expires  time.Time
}

// cache holds recent decisions, oldest first in order.
type cache struct {
	ttl  time.Duration
	size int
	now  func() time.Time

	mu      sync.Mutex
	entries map[tokenKey]*list.Element
	order   *list.List
}

func newCache(ttl time.Duration, now func() time.Time) *cache {
	return &cache{ttl: ttl, size: cacheSize, now: now, entries: map[tokenKey]*list.Element{}, order: list.New()}
}

func (c *cache) get(k tokenKey) (Decision, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[k]
	if !ok {
		return Decision{}, false
	}
	e := el.Value.(*cacheEntry)
	if !c.now().Before(e.expires) {
		c.remove(el)
		return Decision{}, false
	}
	return e.decision, true
}

// put keeps d for the token: an allowed decision for the cache's TTL, any
// other for at most denialTTL, and neither past the token's own expiry
// when it is a JWT, so that an expired ID token is never let through on
// the strength of an earlier answer.
func (c *cache) put(k tokenKey, token string, d Decision) {
	lifetime := c.ttl
	if !d.Allowed() {
		lifetime = min(lifetime, denialTTL)
	}
	now := c.now()
	expires := now.Add(lifetime)
	if exp, ok := jwtExpiry(token); ok && exp.Before(expires) {
		expires = exp
	}
	if !expires.After(now) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[k]; ok {
		c.remove(el)
	}
	if len(c.entries) >= c.size {
		c.evict(now)
	}
	c.entries[k] = c.order.PushBack(&cacheEntry{key: k, decision: d, expires: expires})
}

// evict drops the expired entries and then, if the cache is still full,
// the oldest.
func (c *cache) evict(now time.Time) {
	for el := c.order.Front(); el != nil; {
		next := el.Next()
		if !now.Before(el.Value.(*cacheEntry).expires) {
			c.remove(el)
		}
		el = next
	}
	for len(c.entries) >= c.size {
		c.remove(c.order.Front())
	}
}

func (c *cache) remove(el *list.Element) {
	delete(c.entries, el.Value.(*cacheEntry).key)
	c.order.Remove(el)
}

// jwtExpiry is the exp claim of a JWT, read without verifying the
// signature: the API server verified the token, and the claim only ever
// shortens how long its answer is kept.
func jwtExpiry(token string) (time.Time, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp *float64 `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == nil || math.IsNaN(*claims.Exp) {
		return time.Time{}, false
	}
	sec, frac := math.Modf(*claims.Exp)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// tokenReviewer is what the cache stands in front of (a *Reviewer).
type tokenReviewer interface {
	Review(ctx context.Context, token string) (Decision, error)
}

// cachedReviewer answers from the cache, and otherwise makes one round of
// reviews per token however many requests carry it at once: a Kiali page
// opens with a burst of parallel calls.
type cachedReviewer struct {
	next     tokenReviewer
	cache    *cache
	inflight singleflight.Group
}

func (c *cachedReviewer) Review(ctx context.Context, token string) (Decision, error) {
	k := keyOf(token)
	if d, ok := c.cache.get(k); ok {
		return d, nil
	}
	ch := c.inflight.DoChan(hex.EncodeToString(k[:]), func() (any, error) {
		// The round belongs to every waiting request, not to the first
		// one: its client going away must not fail the others. The API
		// client's own timeout bounds it.
		d, err := c.next.Review(context.WithoutCancel(ctx), token)
		if err == nil {
			c.cache.put(k, token, d)
		}
		return d, err
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return Decision{}, r.Err
		}
		return r.Val.(Decision), nil
	case <-ctx.Done():
		return Decision{}, ctx.Err()
	}
}
