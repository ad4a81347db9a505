package authorize

import (
	"bufio"
	"bytes"
	"encoding/pem"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/client-go/rest"
)

var (
	getPods   = Review{Namespace: "istio-system", Resource: "pods", Verb: "get"}
	podsGrant = authorizationv1.ResourceAttributes{Namespace: "istio-system", Resource: "pods", Verb: "get"}
)

// syncBuffer is a log sink the handler's goroutines may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fakeKiali is the upstream: it notes the headers it was sent, and echoes
// what a websocket client writes once the protocol is switched.
type fakeKiali struct {
	srv *httptest.Server

	mu    sync.Mutex
	seen  []http.Header
	calls int
}

func newFakeKiali(t *testing.T) *fakeKiali {
	t.Helper()
	k := &fakeKiali{}
	k.srv = httptest.NewUnstartedServer(http.HandlerFunc(k.serve))
	// The handshakes the CA test fails on purpose are not news.
	k.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	k.srv.StartTLS()
	t.Cleanup(k.srv.Close)
	return k
}

func (k *fakeKiali) serve(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	k.seen = append(k.seen, r.Header.Clone())
	k.calls++
	k.mu.Unlock()
	if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = rw.Flush()
		line, _ := rw.ReadString('\n')
		_, _ = rw.WriteString("echo " + line)
		_ = rw.Flush()
		return
	}
	_, _ = io.WriteString(w, "kiali page")
}

func (k *fakeKiali) lastHeader(t *testing.T) http.Header {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.seen) == 0 {
		t.Fatal("the upstream was not called")
	}
	return k.seen[len(k.seen)-1]
}

func (k *fakeKiali) callCount() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.calls
}

func (k *fakeKiali) caPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.srv.Certificate().Raw})
}

type testEnv struct {
	api    *fakeAPIServer
	kiali  *fakeKiali
	proxy  *httptest.Server
	logs   *syncBuffer
	clock  *fakeClock
	config Config
}

func newTestEnv(t *testing.T, mutate func(*Config)) *testEnv {
	t.Helper()
	e := &testEnv{api: newFakeAPIServer(t), kiali: newFakeKiali(t), logs: &syncBuffer{}, clock: &fakeClock{t: time.Now()}}
	u, err := url.Parse(e.kiali.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	e.config = Config{
		Upstream:   u,
		UpstreamCA: e.kiali.caPEM(),
		APIServer:  e.api.config(),
		Reviews:    []Review{getPods},
		CacheTTL:   DefaultCacheTTL,
		Log:        slog.New(slog.NewTextHandler(e.logs, nil)),
		now:        e.clock.now,
	}
	if mutate != nil {
		mutate(&e.config)
	}
	h, err := NewHandler(e.config)
	if err != nil {
		t.Fatal(err)
	}
	e.proxy = httptest.NewServer(h)
	t.Cleanup(e.proxy.Close)
	return e
}

// get requests path with the headers (name, value pairs).
func (e *testEnv) get(t *testing.T, path string, headers ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.proxy.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := e.proxy.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

func TestAllowedUserReachesKiali(t *testing.T) {
	e := newTestEnv(t, nil)
	e.api.addUser("alice-token", "alice@example.com", podsGrant)

	code, body := e.get(t, "/kiali/api/namespaces", bearer("alice-token")...)
	if code != http.StatusOK || body != "kiali page" {
		t.Fatalf("got %d %q, want 200 and the upstream's page", code, body)
	}
}

func TestHeadersStrippedAndUserOverwritten(t *testing.T) {
	e := newTestEnv(t, nil)
	e.api.addUser("alice-token", "alice@example.com", podsGrant)

	code, _ := e.get(t, "/kiali/", append(bearer("alice-token"),
		"X-Forwarded-Access-Token", "access-token",
		"X-Forwarded-User", "mallory@example.com",
		"X-Forwarded-Proto", "https",
		"X-Forwarded-Host", "kiali.example.com")...)
	if code != http.StatusOK {
		t.Fatalf("got %d, want 200", code)
	}
	h := e.kiali.lastHeader(t)
	if v, ok := h["Authorization"]; ok {
		t.Errorf("upstream saw Authorization %q", v)
	}
	if v, ok := h["X-Forwarded-Access-Token"]; ok {
		t.Errorf("upstream saw X-Forwarded-Access-Token %q", v)
	}
	if got := h.Values("X-Forwarded-User"); len(got) != 1 || got[0] != "alice@example.com" {
		t.Errorf("X-Forwarded-User = %q, want the reviewed user only", got)
	}
	if got := h.Get("X-Forwarded-Proto"); got != "https" {
		t.Errorf("X-Forwarded-Proto = %q, want oauth2-proxy's https kept", got)
	}
	if got := h.Get("X-Forwarded-Host"); got != "kiali.example.com" {
		t.Errorf("X-Forwarded-Host = %q, want oauth2-proxy's kept", got)
	}
}

func TestDeniedUserIsToldTheMissingPermission(t *testing.T) {
	e := newTestEnv(t, nil)
	e.api.addUser("bob-token", "bob@example.com")

	code, body := e.get(t, "/kiali/", bearer("bob-token")...)
	if code != http.StatusForbidden {
		t.Fatalf("got %d, want 403", code)
	}
	if want := "user bob@example.com may not get pods in namespace istio-system"; !strings.Contains(body, want) {
		t.Errorf("page %q does not say %q", body, want)
	}
	if strings.Contains(body, "bob-token") {
		t.Errorf("page %q echoes the token", body)
	}
	if n := e.kiali.callCount(); n != 0 {
		t.Errorf("upstream called %d times for a denied user", n)
	}
}

func TestSecondReviewDeniesAndIsNamed(t *testing.T) {
	listNS := Review{Resource: "namespaces", Verb: "list"}
	e := newTestEnv(t, func(c *Config) { c.Reviews = []Review{getPods, listNS} })
	e.api.addUser("carol-token", "carol@example.com", podsGrant)

	code, body := e.get(t, "/", bearer("carol-token")...)
	if code != http.StatusForbidden || !strings.Contains(body, "user carol@example.com may not list namespaces.") {
		t.Fatalf("got %d %q, want 403 naming list namespaces", code, body)
	}
}

func TestUnauthenticatedIs401(t *testing.T) {
	e := newTestEnv(t, nil)
	for name, headers := range map[string][]string{
		"no header":     nil,
		"unknown token": bearer("stolen-or-expired"),
		"basic auth":    {"Authorization", "Basic YWxpY2U6c2VjcmV0"},
		"empty bearer":  {"Authorization", "Bearer "},
	} {
		t.Run(name, func(t *testing.T) {
			code, body := e.get(t, "/kiali/", headers...)
			if code != http.StatusUnauthorized {
				t.Fatalf("got %d %q, want 401", code, body)
			}
		})
	}
	if n := e.kiali.callCount(); n != 0 {
		t.Errorf("upstream called %d times without a valid token", n)
	}
}

func TestCacheHitMakesOneRoundOfReviews(t *testing.T) {
	e := newTestEnv(t, nil)
	e.api.addUser("alice-token", "alice@example.com", podsGrant)

	for range 2 {
		if code, _ := e.get(t, "/", bearer("alice-token")...); code != http.StatusOK {
			t.Fatalf("got %d, want 200", code)
		}
	}
	if w, r := e.api.whoAmI.Load(), e.api.reviews.Load(); w != 1 || r != 1 {
		t.Errorf("API server saw %d self subject reviews and %d access reviews, want 1 and 1", w, r)
	}
}

func TestConcurrentRequestsShareOneRound(t *testing.T) {
	e := newTestEnv(t, nil)
	e.api.addUser("alice-token", "alice@example.com", podsGrant)

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			// Not e.get: it may not fail the test from another goroutine.
			req, _ := http.NewRequest(http.MethodGet, e.proxy.URL+"/", nil)
			req.Header.Set("Authorization", "Bearer alice-token")
			resp, err := e.proxy.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("got %d, want 200", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	// The first requests may race the first round's end into a second
	// round at most; a page's burst must not cost one round each.
	if w := e.api.whoAmI.Load(); w > 2 {
		t.Errorf("API server saw %d self subject reviews for one token", w)
	}
}

func TestCacheTTL(t *testing.T) {
	e := newTestEnv(t, nil)
	token := fakeJWT("alice", e.clock.now().Add(time.Hour))
	e.api.addUser(token, "alice@example.com", podsGrant)

	e.get(t, "/", bearer(token)...)
	e.clock.advance(DefaultCacheTTL - time.Second)
	e.get(t, "/", bearer(token)...)
	if w := e.api.whoAmI.Load(); w != 1 {
		t.Fatalf("within the TTL: %d reviews, want 1", w)
	}
	e.clock.advance(2 * time.Second)
	e.get(t, "/", bearer(token)...)
	if w := e.api.whoAmI.Load(); w != 2 {
		t.Fatalf("past the TTL: %d reviews, want 2", w)
	}
}

func TestCacheNeverOutlivesTheTokensExpiry(t *testing.T) {
	e := newTestEnv(t, nil)
	token := fakeJWT("alice", e.clock.now().Add(10*time.Second))
	e.api.addUser(token, "alice@example.com", podsGrant)

	if code, _ := e.get(t, "/", bearer(token)...); code != http.StatusOK {
		t.Fatalf("got %d, want 200", code)
	}
	// Past exp but well within the 30s TTL: the API server now rejects
	// the token, and the cache must not answer for it.
	e.clock.advance(11 * time.Second)
	e.api.mu.Lock()
	delete(e.api.users, token)
	e.api.mu.Unlock()
	if code, _ := e.get(t, "/", bearer(token)...); code != http.StatusUnauthorized {
		t.Fatalf("after exp: got %d, want 401", code)
	}
	if w := e.api.whoAmI.Load(); w != 2 {
		t.Errorf("%d self subject reviews, want 2 (the cached answer ended at exp)", w)
	}
}

func TestDenialsAreKeptBriefly(t *testing.T) {
	e := newTestEnv(t, nil)
	e.api.addUser("bob-token", "bob@example.com")

	e.get(t, "/", bearer("bob-token")...)
	e.get(t, "/", bearer("bob-token")...)
	if w := e.api.whoAmI.Load(); w != 1 {
		t.Fatalf("%d reviews for two requests, want 1", w)
	}
	// Granted meanwhile: in effect once the short denial TTL ends.
	e.api.addUser("bob-token", "bob@example.com", podsGrant)
	e.clock.advance(denialTTL + time.Second)
	if code, _ := e.get(t, "/", bearer("bob-token")...); code != http.StatusOK {
		t.Fatalf("after the grant: got %d, want 200", code)
	}
}

func TestTokenNeverLogged(t *testing.T) {
	e := newTestEnv(t, nil)
	allowed := fakeJWT("alice", time.Now().Add(time.Hour))
	denied := fakeJWT("bob", time.Now().Add(time.Hour))
	unknown := fakeJWT("mallory", time.Now().Add(time.Hour))
	e.api.addUser(allowed, "alice@example.com", podsGrant)
	e.api.addUser(denied, "bob@example.com")

	e.get(t, "/kiali/console?x=1", bearer(allowed)...)
	e.get(t, "/kiali/", bearer(denied)...)
	e.get(t, "/kiali/", bearer(unknown)...)
	e.kiali.srv.Close() // an upstream failure is logged too
	e.get(t, "/kiali/other", bearer(allowed)...)

	logs := e.logs.String()
	for _, token := range []string{allowed, denied, unknown} {
		if strings.Contains(logs, token) {
			t.Fatalf("the log holds a token:\n%s", logs)
		}
	}
	if strings.Contains(logs, "Bearer") || strings.Contains(logs, "Authorization") {
		t.Errorf("the log mentions the Authorization header:\n%s", logs)
	}
	for _, want := range []string{
		"user=alice@example.com method=GET path=/kiali/console status=200",
		"user=bob@example.com method=GET path=/kiali/ status=403",
		`user="" method=GET path=/kiali/ status=401`,
		"user=alice@example.com method=GET path=/kiali/other status=502",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "x=1") {
		t.Errorf("the log holds the query:\n%s", logs)
	}
}

func TestWebsocketUpgradeIsForwarded(t *testing.T) {
	e := newTestEnv(t, nil)
	e.api.addUser("alice-token", "alice@example.com", podsGrant)

	conn, err := net.Dial("tcp", e.proxy.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = io.WriteString(conn, "GET /kiali/api/ws HTTP/1.1\r\nHost: kiali\r\n"+
		"Authorization: Bearer alice-token\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("got %d, want 101", resp.StatusCode)
	}
	if _, err := io.WriteString(conn, "hello\n"); err != nil {
		t.Fatal(err)
	}
	line, err := br.ReadString('\n')
	if err != nil || line != "echo hello\n" {
		t.Fatalf("read %q, %v; want the upstream's echo", line, err)
	}
	if _, ok := e.kiali.lastHeader(t)["Authorization"]; ok {
		t.Error("the upgrade request reached the upstream with Authorization")
	}
	conn.Close()
	// The request line is logged when the connection ends.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(e.logs.String(), "path=/kiali/api/ws status=101") {
		if time.Now().After(deadline) {
			t.Fatalf("no log line of the websocket:\n%s", e.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestUpstreamCertificateFromAnotherCAFails(t *testing.T) {
	// Every httptest server presents the same certificate: the CA that
	// must not vouch for it is one of the test's own.
	e := newTestEnv(t, func(c *Config) { c.UpstreamCA = testCA(t) })
	e.api.addUser("alice-token", "alice@example.com", podsGrant)

	code, body := e.get(t, "/kiali/", bearer("alice-token")...)
	if code != http.StatusBadGateway {
		t.Fatalf("got %d %q, want 502", code, body)
	}
	if n := e.kiali.callCount(); n != 0 {
		t.Errorf("the upstream with an untrusted certificate was sent %d requests", n)
	}
}

func TestPlainHTTPUpstream(t *testing.T) {
	kiali := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "plain kiali")
	}))
	defer kiali.Close()
	u, _ := url.Parse(kiali.URL)
	e := newTestEnv(t, func(c *Config) { c.Upstream, c.UpstreamCA = u, nil })
	e.api.addUser("alice-token", "alice@example.com", podsGrant)

	if code, body := e.get(t, "/", bearer("alice-token")...); code != http.StatusOK || body != "plain kiali" {
		t.Fatalf("got %d %q", code, body)
	}
}

func TestAPIServerUnreachableIs503(t *testing.T) {
	e := newTestEnv(t, func(c *Config) {
		c.APIServer = &rest.Config{Host: "https://127.0.0.1:1"}
	})
	code, body := e.get(t, "/", bearer("alice-token")...)
	if code != http.StatusServiceUnavailable {
		t.Fatalf("got %d %q, want 503", code, body)
	}
	if strings.Contains(e.logs.String(), "alice-token") {
		t.Errorf("the log holds the token:\n%s", e.logs.String())
	}
}

func TestForwardOnlyKeepsOAuth2ProxysUser(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.ForwardOnly, c.Reviews, c.APIServer = true, nil, nil })

	code, _ := e.get(t, "/", append(bearer("id-token"), "X-Forwarded-User", "dave@example.com")...)
	if code != http.StatusOK {
		t.Fatalf("got %d, want 200", code)
	}
	h := e.kiali.lastHeader(t)
	if _, ok := h["Authorization"]; ok {
		t.Error("upstream saw Authorization")
	}
	if got := h.Get("X-Forwarded-User"); got != "dave@example.com" {
		t.Errorf("X-Forwarded-User = %q", got)
	}
	if e.api.whoAmI.Load() != 0 {
		t.Error("forward-only asked the API server")
	}
}

func TestNewHandlerRefuses(t *testing.T) {
	u, _ := url.Parse("https://kiali.istio-system.svc:20001")
	api := &rest.Config{Host: "https://127.0.0.1:6443"}
	ca := testCA(t)
	for name, c := range map[string]Config{
		"https without a CA":     {Upstream: u, APIServer: api, Reviews: []Review{getPods}},
		"https with a bad CA":    {Upstream: u, UpstreamCA: []byte("not pem"), APIServer: api, Reviews: []Review{getPods}},
		"no reviews":             {Upstream: u, UpstreamCA: ca, APIServer: api},
		"no API server":          {Upstream: u, UpstreamCA: ca, Reviews: []Review{getPods}},
		"reviews and forwarding": {Upstream: u, UpstreamCA: ca, Reviews: []Review{getPods}, ForwardOnly: true},
		"TTL too long":           {Upstream: u, UpstreamCA: ca, APIServer: api, Reviews: []Review{getPods}, CacheTTL: time.Hour},
		"no upstream":            {APIServer: api, Reviews: []Review{getPods}},
	} {
		if _, err := NewHandler(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestHealthHandler(t *testing.T) {
	rec := httptest.NewRecorder()
	HealthHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, HealthPath, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("got %d, want 200", rec.Code)
	}
	rec = httptest.NewRecorder()
	HealthHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/kiali/", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("the health listener answered %d for another path", rec.Code)
	}
}
