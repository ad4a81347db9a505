package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/authorize"
)

const testReviews = `[{"namespace":"istio-system","resource":"pods","verb":"get"}]`

// caFile writes a self-signed CA certificate to a file of the test.
func caFile(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAuthorizeFlagErrors(t *testing.T) {
	ca := caFile(t)
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"--upstream=https://kiali.istio-system.svc:20001", "--upstream-ca=" + ca,
		"--subject-access-reviews=" + testReviews, "--api-server=https://10.0.0.1:443", "--api-ca=" + ca}
	with := func(extra ...string) []string { return append(append([]string(nil), base...), extra...) }
	without := func(prefix string) []string {
		var out []string
		for _, a := range base {
			if !strings.HasPrefix(a, prefix) {
				out = append(out, a)
			}
		}
		return out
	}
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"unknown flag":            {with("--nope"), "flag provided but not defined: -nope"},
		"stray argument":          {with("extra"), "unexpected arguments"},
		"no upstream":             {without("--upstream="), "--upstream is required"},
		"upstream not a URL":      {with("--upstream=kiali:20001"), "is not an http or https URL"},
		"https without a CA":      {without("--upstream-ca="), "--upstream-ca is required for an https upstream"},
		"http with a CA":          {with("--upstream=http://kiali:20001"), "--upstream-ca is for an https upstream only"},
		"upstream CA missing":     {with("--upstream-ca=/nonexistent/ca.crt"), "--upstream-ca: open /nonexistent/ca.crt"},
		"upstream CA not PEM":     {with("--upstream-ca=" + notPEM), "holds no PEM certificate"},
		"no reviews":              {without("--subject-access-reviews="), "--subject-access-reviews is required"},
		"empty reviews":           {with("--subject-access-reviews=[]"), "the list is empty"},
		"reviews not JSON":        {with("--subject-access-reviews=get pods"), "--subject-access-reviews: subject access reviews:"},
		"reviews and forwarding":  {with("--forward-only"), "exclude each other"},
		"API server in clear":     {with("--api-server=http://10.0.0.1:80"), "is not an https URL"},
		"no API server":           {with("--api-server="), "--api-server is required outside a pod"},
		"API CA missing":          {with("--api-ca=/nonexistent/ca.crt"), "--api-ca: open /nonexistent/ca.crt"},
		"TTL too long":            {with("--cache-ttl=6m"), "--cache-ttl must be between 0 and 5m0s"},
		"TTL negative":            {with("--cache-ttl=-1s"), "--cache-ttl must be between"},
		"listen on all addresses": {with("--listen=:3090"), `--listen: ":3090" is not a loopback address`},
		"listen on a pod address": {with("--listen=10.1.2.3:3090"), "is not a loopback address"},
		"listen without a port":   {with("--listen=127.0.0.1"), "--listen: address 127.0.0.1: missing port"},
	} {
		t.Run(name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := runAuthorize(tc.args, &stderr); code != 2 {
				t.Fatalf("exit %d, want 2; stderr:\n%s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, stderr.String())
			}
		})
	}
}

func TestAuthorizeHelp(t *testing.T) {
	var stderr bytes.Buffer
	if code := runAuthorize([]string{"-h"}, &stderr); code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	for _, flag := range []string{"-listen", "-health-listen", "-upstream", "-upstream-ca", "-subject-access-reviews", "-api-server", "-api-ca", "-cache-ttl"} {
		if !strings.Contains(stderr.String(), flag) {
			t.Errorf("the usage lacks %s", flag)
		}
	}
}

func TestAuthorizeDefaults(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
	t.Setenv("KUBERNETES_SERVICE_PORT", "443")
	ca := caFile(t)
	o, code := parseAuthorizeFlags([]string{"--upstream=https://kiali.istio-system.svc:20001", "--upstream-ca=" + ca,
		"--subject-access-reviews=" + testReviews, "--api-ca=" + ca}, io.Discard)
	if code >= 0 {
		t.Fatalf("exit %d", code)
	}
	if o.listen != "127.0.0.1:3090" || o.healthListen != ":3091" {
		t.Errorf("listen %q, health %q", o.listen, o.healthListen)
	}
	if o.config.APIServer.Host != "https://[fd00::1]:443" {
		t.Errorf("API server %q", o.config.APIServer.Host)
	}
	if o.config.CacheTTL != 30*time.Second || len(o.config.Reviews) != 1 || o.config.Reviews[0].Namespace != "istio-system" {
		t.Errorf("config %+v", o.config)
	}
}

// loopbackListener listens on a port the kernel picks, so that no other
// test can take the port between choosing and binding it.
func loopbackListener(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestAuthorizeServesAndShutsDown(t *testing.T) {
	kiali := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "kiali") })}
	kl := loopbackListener(t)
	go func() { _ = kiali.Serve(kl) }()
	defer kiali.Close()

	o, code := parseAuthorizeFlags([]string{"--upstream=http://" + kl.Addr().String(), "--forward-only"}, io.Discard)
	if code >= 0 {
		t.Fatalf("exit %d", code)
	}
	o.config.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := authorize.NewHandler(o.config)
	if err != nil {
		t.Fatal(err)
	}
	ln, hln := loopbackListener(t), loopbackListener(t)
	listen, health := ln.Addr().String(), hln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveOn(ctx, h, ln, hln, o, o.config.Log) }()

	get := func(url string) (int, string) {
		t.Helper()
		var last error
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			select {
			case err := <-done:
				t.Fatalf("the proxy stopped: %v", err)
			default:
			}
			resp, err := http.Get(url)
			if err != nil {
				last = err
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, string(b)
		}
		t.Fatal(last)
		return 0, ""
	}
	if code, body := get("http://" + health + "/healthz"); code != http.StatusOK {
		t.Errorf("health: %d %q", code, body)
	}
	if code, body := get("http://" + listen + "/"); code != http.StatusOK || body != "kiali" {
		t.Errorf("proxy: %d %q", code, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no shutdown")
	}
}
