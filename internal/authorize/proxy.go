package authorize

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"time"

	"k8s.io/client-go/rest"
)

// Config is what the proxy needs; the "authorize" subcommand fills it from
// its flags.
type Config struct {
	// Upstream is Kiali, http or https.
	Upstream *url.URL
	// UpstreamCA is the PEM of the CA Kiali's certificate must chain to
	// when Upstream is https; the system's roots are not trusted, so only
	// the cluster's service CA can vouch for Kiali.
	UpstreamCA []byte
	// APIServer is the address and TLS configuration of the API server;
	// any credentials in it are ignored, the user's token is the only one.
	APIServer *rest.Config
	// Reviews are the permissions every user must hold.
	Reviews []Review
	// ForwardOnly forwards without checking anything: where the API server
	// does not trust the issuer there is no token to check, and
	// oauth2-proxy's own allow lists decided who is let in.
	ForwardOnly bool
	// CacheTTL is how long an allowed token is trusted; zero caches
	// nothing.
	CacheTTL time.Duration
	// Log receives one line per request; nil is standard error.
	Log *slog.Logger

	// now is the cache's clock, set by tests.
	now func() time.Time
}

// The headers the upstream must not see from the browser's side: the ID
// token (and oauth2-proxy's access token, should it ever be passed) would
// let Kiali, or anyone who takes it, act as the user on the API server.
const (
	headerAuthorization = "Authorization"
	headerAccessToken   = "X-Forwarded-Access-Token"
	headerUser          = "X-Forwarded-User"
)

// forwardedHeaders are what oauth2-proxy says of the browser's request.
// httputil.ReverseProxy drops them before Rewrite; they are trusted and
// kept because only oauth2-proxy, in the same pod, reaches the loopback
// listener.
var forwardedHeaders = []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"}

type userKey struct{}

// handler checks each request's token and forwards it.
type handler struct {
	reviewer tokenReviewer // nil when forwarding only
	proxy    *httputil.ReverseProxy
	log      *slog.Logger
}

// NewHandler returns the proxy's handler.
func NewHandler(c Config) (http.Handler, error) {
	if c.Upstream == nil || (c.Upstream.Scheme != "http" && c.Upstream.Scheme != "https") || c.Upstream.Host == "" {
		return nil, errors.New("the upstream must be an http or https URL")
	}
	if c.CacheTTL < 0 || c.CacheTTL > MaxCacheTTL {
		return nil, fmt.Errorf("the cache TTL must be between 0 and %s", MaxCacheTTL)
	}
	transport, err := upstreamTransport(c.Upstream, c.UpstreamCA)
	if err != nil {
		return nil, err
	}
	h := &handler{log: c.Log}
	if h.log == nil {
		h.log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if !c.ForwardOnly {
		if c.APIServer == nil {
			return nil, errors.New("the API server is needed to review tokens")
		}
		r, err := NewReviewer(c.APIServer, c.Reviews)
		if err != nil {
			return nil, err
		}
		now := c.now
		if now == nil {
			now = time.Now
		}
		h.reviewer = &cachedReviewer{next: r, cache: newCache(c.CacheTTL, now)}
	} else if len(c.Reviews) > 0 {
		return nil, errors.New("reviews and forward-only exclude each other")
	}
	upstream := *c.Upstream
	h.proxy = &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { rewrite(pr, &upstream) },
		Transport: transport,
		// Kiali streams some responses; pass them on as they come.
		FlushInterval: -1,
		ErrorHandler:  h.upstreamError,
		ErrorLog:      slog.NewLogLogger(h.log.Handler(), slog.LevelWarn),
	}
	return h, nil
}

func rewrite(pr *httputil.ProxyRequest, upstream *url.URL) {
	pr.SetURL(upstream)
	for _, name := range forwardedHeaders {
		if v, ok := pr.In.Header[name]; ok {
			pr.Out.Header[name] = v
		}
	}
	pr.Out.Header.Del(headerAuthorization)
	pr.Out.Header.Del(headerAccessToken)
	if user, ok := pr.In.Context().Value(userKey{}).(string); ok {
		// The reviewed name, whatever the request claimed.
		pr.Out.Header.Set(headerUser, user)
	}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w}
	user := h.serve(rec, r)
	h.logRequest(r, user, rec.status(), time.Since(start))
}

// serve answers one request and returns the user it was made for, for the
// log.
func (h *handler) serve(w http.ResponseWriter, r *http.Request) string {
	if h.reviewer == nil {
		// oauth2-proxy set the header from its session and dropped any
		// the browser sent (legacy_options.go, PreserveRequestValue false).
		h.proxy.ServeHTTP(w, r)
		return r.Header.Get(headerUser)
	}
	token, ok := bearerToken(r)
	if !ok {
		unauthenticated(w)
		return ""
	}
	d, err := h.reviewer.Review(r.Context(), token)
	if err != nil {
		if r.Context().Err() == nil {
			h.log.Error("reviewing a token", "error", err)
		}
		page(w, http.StatusServiceUnavailable, "Access to Kiali cannot be checked at the moment; try again shortly.")
		return ""
	}
	if !d.Authenticated {
		unauthenticated(w)
		return ""
	}
	if d.Missing != nil {
		name := d.User.Name
		if name == "" {
			name = "this user"
		} else {
			name = "user " + name
		}
		h.log.Info("access denied", "user", d.User.Name, "missing", d.Missing.String(), "reason", d.Reason)
		page(w, http.StatusForbidden, fmt.Sprintf("Access to Kiali denied: %s may not %s.", name, d.Missing))
		return d.User.Name
	}
	h.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, d.User.Name)))
	return d.User.Name
}

// bearerToken is the token of the one "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, bool) {
	values := r.Header.Values(headerAuthorization)
	if len(values) != 1 {
		return "", false
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

func unauthenticated(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", "Bearer")
	page(w, http.StatusUnauthorized, "Not logged in.")
}

func (h *handler) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() == nil {
		h.log.Warn("forwarding to Kiali", "error", err)
	}
	page(w, http.StatusBadGateway, "Kiali cannot be reached.")
}

// page answers with a short plain-text page, which a browser shows as is
// and never runs.
func page(w http.ResponseWriter, code int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = fmt.Fprintln(w, text)
}

// upstreamTransport reaches Kiali; over https it trusts exactly the CA of
// caPEM.
func upstreamTransport(u *url.URL, caPEM []byte) (*http.Transport, error) {
	t := &http.Transport{
		// Never a proxy from the environment: Kiali is in the cluster.
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		// HTTP/1.1 only: websocket upgrades, which Kiali uses, exist only
		// there.
		Protocols: new(http.Protocols),
	}
	t.Protocols.SetHTTP1(true)
	if u.Scheme != "https" {
		return t, nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("an https upstream needs the PEM of the CA its certificate chains to")
	}
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return t, nil
}
