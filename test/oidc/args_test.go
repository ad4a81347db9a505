package oidc

import (
	"fmt"
	"net/http"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// The flags the test rewrites, and no other: the files of the pod's
// volumes, and the addresses of the pod's ports and of Kiali's Service.
var (
	// The rest of oauth2-proxy's files and listeners are in its alpha
	// configuration, rewritten the same way (expectConfigOnlyRewritten).
	rewrittenOAuth2ProxyFlags = []string{"--alpha-config", "--cookie-secret-file"}
	rewrittenAuthorizerFlags  = []string{"--listen", "--health-listen", "--upstream", "--upstream-ca"}
)

// expectOnlyRewritten checks that a container ran with its rendered
// command line, changed only in the values of flags, and there only to
// the directories standing in for its mounts or to loopback.
func expectOnlyRewritten(p *proxyPod, container string, flags ...string) {
	GinkgoHelper()
	rendered, run := p.Rendered[container], p.Run[container]
	Expect(run).To(HaveLen(len(rendered)), "arguments added or dropped")
	Expect(p.Rewrites[container].Restore(run)).To(Equal(rendered), "the run arguments map back to the rendered ones")
	var changed []string
	for i := range rendered {
		if run[i] == rendered[i] {
			continue
		}
		flag, _, _ := strings.Cut(rendered[i], "=")
		runFlag, value, _ := strings.Cut(run[i], "=")
		Expect(runFlag).To(Equal(flag), "the flag of argument %d", i)
		Expect(inDirs(value, p.Dirs[container]) || strings.Contains(value, "127.0.0.1:")).To(BeTrue(),
			"%s=%s is neither a file of a mount nor a loopback address", flag, value)
		changed = append(changed, flag)
	}
	Expect(changed).To(ConsistOf(flags))
}

func inDirs(v string, dirs map[string]string) bool {
	for _, d := range dirs {
		if strings.HasPrefix(v, d+"/") {
			return true
		}
	}
	return false
}

// value is the value of a flag of a command line.
func value(args []string, flag string) string {
	GinkgoHelper()
	v, err := testbed.FlagValue(args, flag)
	Expect(err).NotTo(HaveOccurred())
	return v
}

// expectPodArgs checks both containers' command lines and that the files
// they name hold what the pod's volumes would.
func expectPodArgs(p *proxyPod) {
	GinkgoHelper()
	expectOnlyRewritten(p, render.ProxyContainerName, rewrittenOAuth2ProxyFlags...)
	expectOnlyRewritten(p, render.AuthorizerContainerName, rewrittenAuthorizerFlags...)

	proxy := p.Run[render.ProxyContainerName]
	cfg := value(proxy, "alpha-config")
	expectConfigOnlyRewritten(p, cfg)
	// The issuer's CA comes from spec.proxy.oidc.issuerCA, alone.
	Expect(os.ReadFile(configString(cfg, "providers", "0", "caFiles", "0"))).To(Equal(issuer.CAPEM))
	Expect(os.ReadFile(configString(cfg, "providers", "0", "clientSecretFile"))).To(Equal([]byte(issuer.ClientSecret)))
	Expect(os.ReadFile(configString(cfg, "server", "tls", "cert", "fromFile"))).To(Equal(p.Listener.CertPEM))
	// What makes the login work is as rendered: the issuer, the callback
	// on the exposure host, and secure cookies only.
	Expect(configString(cfg, "providers", "0", "oidcConfig", "issuerURL")).To(Equal(issuer.IssuerURL))
	Expect(proxy).To(ContainElements(
		"--redirect-url=https://"+p.KAP.Spec.Exposure.Host+render.OAuth2ProxyCallbackPath,
		"--cookie-secure=true",
	))
	// Both listeners run: the HTTPS one for the browser (and a Route or
	// passthrough), the HTTP one for the mesh gateway and the probes.
	c, err := testbed.PinnedClient(configString(cfg, "server", "tls", "cert", "fromFile"))
	Expect(err).NotTo(HaveOccurred())
	for _, url := range []string{
		"http://" + configString(cfg, "server", "bindAddress") + render.OAuth2ProxyHealthPath,
		"https://" + configString(cfg, "server", "secureBindAddress") + render.OAuth2ProxyHealthPath,
	} {
		client := http.DefaultClient
		if strings.HasPrefix(url, "https") {
			client = c
		}
		resp, err := client.Get(url)
		Expect(err).NotTo(HaveOccurred(), url)
		_ = resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusOK), url)
	}
	Expect(value(p.Run[render.AuthorizerContainerName], "upstream")).To(HavePrefix("https://"))
}

func configString(file string, path ...string) string {
	GinkgoHelper()
	v, err := testbed.YAMLString(file, path...)
	Expect(err).NotTo(HaveOccurred())
	return v
}

// expectConfigOnlyRewritten checks that oauth2-proxy ran with the alpha
// configuration as rendered into its ConfigMap, changed only in values
// that name a file of a mount or a pod port, and there only to the
// directories standing in for the mounts or to loopback.
func expectConfigOnlyRewritten(p *proxyPod, file string) {
	GinkgoHelper()
	cm := &corev1.ConfigMap{}
	Expect(k.Get(ctx, client.ObjectKey{Namespace: p.KAP.Namespace, Name: render.NamesFor(p.KAP).ProxyConfig}, cm)).To(Succeed())
	var rendered, run any
	Expect(yaml.Unmarshal([]byte(cm.Data[render.OAuth2ProxyConfigKey]), &rendered)).To(Succeed())
	raw, err := os.ReadFile(file)
	Expect(err).NotTo(HaveOccurred())
	Expect(yaml.Unmarshal(raw, &run)).To(Succeed())
	dirs := p.Dirs[render.ProxyContainerName]
	var changed []string
	var walk func(path string, a, b any)
	walk = func(path string, a, b any) {
		switch ta := a.(type) {
		case map[string]any:
			tb, ok := b.(map[string]any)
			Expect(ok).To(BeTrue(), path)
			Expect(tb).To(HaveLen(len(ta)), "keys added or dropped at %s", path)
			for key, v := range ta {
				walk(path+"."+key, v, tb[key])
			}
		case []any:
			tb, ok := b.([]any)
			Expect(ok).To(BeTrue(), path)
			Expect(tb).To(HaveLen(len(ta)), path)
			for i := range ta {
				walk(fmt.Sprintf("%s.%d", path, i), ta[i], tb[i])
			}
		case string:
			if b == a {
				return
			}
			v, _ := b.(string)
			Expect(inDirs(v, dirs) || strings.HasPrefix(v, "127.0.0.1:") || strings.HasPrefix(v, "http://127.0.0.1:")).To(BeTrue(),
				"%s: %s is neither a file of a mount nor a loopback address", path, v)
			changed = append(changed, path)
		default:
			Expect(b).To(Equal(a), path)
		}
	}
	walk("", rendered, run)
	Expect(changed).To(ConsistOf(".server.bindAddress", ".server.secureBindAddress", ".server.tls.cert.fromFile",
		".server.tls.key.fromFile", ".providers.0.clientSecretFile", ".providers.0.caFiles.0", ".upstreamConfig.upstreams.0.uri"))
}

// proxyConfig is what the specs read of oauth2-proxy's rendered alpha
// configuration.
type proxyConfig struct {
	Providers []struct {
		AllowedGroups []string `json:"allowedGroups"`
	} `json:"providers"`
	InjectRequestHeaders []struct {
		Name   string `json:"name"`
		Values []struct {
			ClaimSource struct{ Claim, Prefix string } `json:"claimSource"`
		} `json:"values"`
	} `json:"injectRequestHeaders"`
}

func renderedConfig(p *proxyPod) proxyConfig {
	GinkgoHelper()
	var c proxyConfig
	Expect(yaml.Unmarshal([]byte(render.OAuth2ProxyConfig(p.KAP)), &c)).To(Succeed())
	return c
}

// headerNames are the headers oauth2-proxy adds to requests upstream; the
// Authorization header carries the ID token ("Bearer " and the id_token
// claim).
func (c proxyConfig) headerNames() []string {
	var out []string
	for _, h := range c.InjectRequestHeaders {
		if h.Name == "Authorization" && (len(h.Values) != 1 || h.Values[0].ClaimSource.Claim != "id_token" || h.Values[0].ClaimSource.Prefix != "Bearer ") {
			continue
		}
		out = append(out, h.Name)
	}
	return out
}
