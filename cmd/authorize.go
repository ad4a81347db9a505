package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/client-go/rest"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/authorize"
)

// serviceAccountCA is the cluster's CA as the kubelet mounts it into every
// pod that automounts its ServiceAccount token.
const serviceAccountCA = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"

// shutdownGrace is how long requests in flight get to finish after
// SIGTERM; the pod's termination grace period is longer.
const shutdownGrace = 20 * time.Second

// authorizeOptions are the subcommand's settings once its flags are
// checked.
type authorizeOptions struct {
	listen, healthListen string
	config               authorize.Config
}

// runAuthorize runs the authorizing proxy between oauth2-proxy and Kiali
// (package authorize) until SIGTERM. It returns the exit code.
func runAuthorize(args []string, stderr io.Writer) int {
	o, code := parseAuthorizeFlags(args, stderr)
	if code >= 0 {
		return code
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	o.config.Log = log
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := serveAuthorize(ctx, o, log); err != nil {
		log.Error("authorize", "error", err)
		return 1
	}
	return 0
}

// parseAuthorizeFlags reads and checks the flags; a code of 0 or more is
// the exit code to stop with (a usage error, or -help).
func parseAuthorizeFlags(args []string, stderr io.Writer) (authorizeOptions, int) {
	fs := flag.NewFlagSet("authorize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:3090",
		"loopback address the proxy serves oauth2-proxy on; nothing outside the pod may reach it, or it would bypass the login")
	healthListen := fs.String("health-listen", ":3091", "address of the health endpoint ("+authorize.HealthPath+") the kubelet probes")
	upstream := fs.String("upstream", "", "URL of Kiali, such as https://kiali.istio-system.svc.cluster.local:20001 (required)")
	upstreamCA := fs.String("upstream-ca", "", "PEM file of the only CA trusted for Kiali's certificate (required when --upstream is https)")
	sars := fs.String("subject-access-reviews", "",
		`JSON list of the permissions each user must hold, as oauth-proxy's -openshift-sar takes it: [{"namespace":"istio-system","resource":"pods","verb":"get"}]`)
	forwardOnly := fs.Bool("forward-only", false,
		"forward without checking the token, where the API server does not trust the issuer and oauth2-proxy's allow lists decide; excludes --subject-access-reviews")
	apiServer := fs.String("api-server", inClusterAPIServer(), "URL of the API server the token and the reviews are checked with")
	apiCA := fs.String("api-ca", serviceAccountCA, "PEM file of the CA of the API server's certificate")
	cacheTTL := fs.Duration("cache-ttl", authorize.DefaultCacheTTL,
		fmt.Sprintf("how long an allowed token is trusted before it is checked again (at most %s; never past the token's expiry)", authorize.MaxCacheTTL))
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s authorize --upstream URL [--upstream-ca FILE] --subject-access-reviews JSON\n\n"+
			"Serves oauth2-proxy's upstream: checks the user's bearer token and the reviews with the API server\n"+
			"(with the user's own token), then forwards to Kiali without it.\n\n", os.Args[0])
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return authorizeOptions{}, 0
		}
		return authorizeOptions{}, 2
	}
	fail := func(format string, a ...any) (authorizeOptions, int) {
		fmt.Fprintf(stderr, "error: "+format+"\n", a...)
		return authorizeOptions{}, 2
	}
	if fs.NArg() > 0 {
		return fail("unexpected arguments %q", fs.Args())
	}
	if err := checkLoopback(*listen); err != nil {
		return fail("--listen: %v", err)
	}
	if *upstream == "" {
		return fail("--upstream is required")
	}
	u, err := url.Parse(*upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fail("--upstream %q is not an http or https URL", *upstream)
	}
	c := authorize.Config{Upstream: u, CacheTTL: *cacheTTL, ForwardOnly: *forwardOnly}
	switch {
	case u.Scheme == "https" && *upstreamCA == "":
		return fail("--upstream-ca is required for an https upstream")
	case u.Scheme == "http" && *upstreamCA != "":
		return fail("--upstream-ca is for an https upstream only")
	case *upstreamCA != "":
		if c.UpstreamCA, err = readCA(*upstreamCA); err != nil {
			return fail("--upstream-ca: %v", err)
		}
	}
	if *cacheTTL < 0 || *cacheTTL > authorize.MaxCacheTTL {
		return fail("--cache-ttl must be between 0 and %s", authorize.MaxCacheTTL)
	}
	switch {
	case *forwardOnly && *sars != "":
		return fail("--forward-only and --subject-access-reviews exclude each other")
	case *forwardOnly:
		return authorizeOptions{listen: *listen, healthListen: *healthListen, config: c}, -1
	case *sars == "":
		return fail("--subject-access-reviews is required (or --forward-only)")
	}
	if c.Reviews, err = authorize.ParseReviews(*sars); err != nil {
		return fail("--subject-access-reviews: %v", err)
	}
	api, err := url.Parse(*apiServer)
	switch {
	case *apiServer == "":
		return fail("--api-server is required outside a pod (KUBERNETES_SERVICE_HOST is unset)")
	case err != nil || api.Scheme != "https" || api.Host == "":
		// The users' tokens travel to it: never in clear.
		return fail("--api-server %q is not an https URL", *apiServer)
	}
	ca, err := readCA(*apiCA)
	if err != nil {
		return fail("--api-ca: %v", err)
	}
	c.APIServer = &rest.Config{Host: *apiServer, TLSClientConfig: rest.TLSClientConfig{CAData: ca}}
	return authorizeOptions{listen: *listen, healthListen: *healthListen, config: c}, -1
}

// inClusterAPIServer is the API server as a pod's environment names it.
func inClusterAPIServer() string {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return ""
	}
	return "https://" + net.JoinHostPort(host, port)
}

// checkLoopback refuses a listen address that anything but the pod itself
// could reach: whoever reached the proxy around oauth2-proxy could hand it
// any token they hold.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address", addr)
	}
	return nil
}

// readCA reads a PEM file that must hold at least one certificate.
func readCA(file string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if !x509.NewCertPool().AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return b, nil
}

// serveAuthorize listens on the configured addresses and serves the proxy
// and its health endpoint until ctx ends.
func serveAuthorize(ctx context.Context, o authorizeOptions, log *slog.Logger) error {
	h, err := authorize.NewHandler(o.config)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	hln, err := net.Listen("tcp", o.healthListen)
	if err != nil {
		_ = ln.Close()
		return err
	}
	return serveOn(ctx, h, ln, hln, o, log)
}

// serveOn serves the proxy on ln and the health endpoint on hln until ctx
// ends, then lets the requests in flight finish.
func serveOn(ctx context.Context, h http.Handler, ln, hln net.Listener, o authorizeOptions, log *slog.Logger) error {
	errLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	servers := []*http.Server{
		// No write timeout: Kiali's websockets stay open for as long as a
		// page does.
		{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: errLog},
		{Handler: authorize.HealthHandler(), ReadHeaderTimeout: 5 * time.Second, ErrorLog: errLog},
	}
	errs := make(chan error, len(servers))
	for i, l := range []net.Listener{ln, hln} {
		go func() { errs <- servers[i].Serve(l) }()
	}
	log.Info("serving", "listen", ln.Addr().String(), "health", hln.Addr().String(),
		"upstream", o.config.Upstream.String(), "reviews", len(o.config.Reviews), "forwardOnly", o.config.ForwardOnly)

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case serveErr = <-errs:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	for _, s := range servers {
		if err := s.Shutdown(shutdown); err != nil && serveErr == nil {
			serveErr = err
		}
	}
	return serveErr
}
