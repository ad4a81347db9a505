package testbed

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/authorize"
)

// StartOAuth2Proxy runs oauth2-proxy (hack/test-binaries.sh builds the
// version the operator renders the image of) with args, and returns once
// its --ready-path answers on the HTTP listener of its alpha configuration
// (the file --alpha-config names: server.bindAddress).
func StartOAuth2Proxy(args []string) *Program {
	ginkgo.GinkgoHelper()
	bin, err := Tool("oauth2-proxy")
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	path, err := FlagValue(args, "ready-path")
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	cfg, err := FlagValue(args, "alpha-config")
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	addr, err := YAMLString(cfg, "server", "bindAddress")
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	p := StartProgram("oauth2-proxy", bin, args...)
	p.WaitHTTP(nil, "http://"+addr+path)
	return p
}

// YAMLString is the string at a path of maps (and list indexes, as "0") in
// a YAML file.
func YAMLString(file string, path ...string) (string, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return "", err
	}
	for _, k := range path {
		switch t := doc.(type) {
		case map[string]any:
			doc = t[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i >= len(t) {
				return "", fmt.Errorf("%s: no %s", file, strings.Join(path, "."))
			}
			doc = t[i]
		default:
			return "", fmt.Errorf("%s: no %s", file, strings.Join(path, "."))
		}
	}
	v, ok := doc.(string)
	if !ok {
		return "", fmt.Errorf("%s: %s is not a string", file, strings.Join(path, "."))
	}
	return v, nil
}

// PinnedClient trusts exactly the certificate of a PEM file, presented for
// its first DNS name.
func PinnedClient(certFile string) (*http.Client, error) {
	b, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New(certFile + " holds no PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, err
	}
	if len(cert.DNSNames) == 0 {
		return nil, errors.New(certFile + " names no host")
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: pool, ServerName: cert.DNSNames[0], MinVersion: tls.VersionTLS12,
	}}}, nil
}

// BuildOperator builds the operator's binary from ./cmd, as the image
// does, into a directory of the calling node; its "authorize" subcommand
// is the authorizing proxy of the OIDC pod.
func BuildOperator() string {
	ginkgo.GinkgoHelper()
	bin := filepath.Join(ginkgo.GinkgoT().TempDir(), "manager")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd")
	build.Dir = Root()
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	gomega.Expect(err).NotTo(gomega.HaveOccurred(), string(out))
	return bin
}

// StartAuthorizer runs the operator binary with args (the "authorize"
// subcommand and its flags) and returns once its health endpoint, on
// --health-listen, answers.
func StartAuthorizer(bin string, args []string) *Program {
	ginkgo.GinkgoHelper()
	gomega.Expect(args).NotTo(gomega.BeEmpty())
	gomega.Expect(args[0]).To(gomega.Equal("authorize"))
	addr, err := FlagValue(args, "health-listen")
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	p := StartProgram("authorize", bin, args...)
	p.WaitHTTP(nil, "http://"+addr+authorize.HealthPath)
	return p
}
