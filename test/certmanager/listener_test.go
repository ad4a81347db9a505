package certmanager

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// checkListener projects the Secret as the Deployment's serving-cert
// volume does (a Secret volume without items: one file per key, named
// after it, in the mount path), loads the files the proxy's configuration
// (oauth2-proxy's alpha file, oauth-proxy's flags) names, as the proxy does, and serves HTTPS with them to a client that
// trusts only ca.crt and asks for each of the Service's names.
func checkListener(t *testing.T, p render.Plan, s *corev1.Secret, dnsNames []string) {
	t.Helper()
	var dep *appsv1.Deployment
	for _, o := range render.Render(p, render.Inputs{}).Objects {
		if d, ok := o.(*appsv1.Deployment); ok {
			dep = d
		}
	}
	if dep == nil {
		t.Fatal("no Deployment rendered")
	}
	pod := dep.Spec.Template.Spec
	volume := ""
	for _, v := range pod.Volumes {
		if v.Secret != nil && v.Secret.SecretName == s.Name {
			if len(v.Secret.Items) > 0 {
				t.Fatalf("volume %s projects only %v: project those", v.Name, v.Secret.Items)
			}
			volume = v.Name
		}
	}
	var proxy *corev1.Container
	for i, c := range pod.Containers {
		if c.Name == render.ProxyContainerName {
			proxy = &pod.Containers[i]
		}
	}
	if volume == "" || proxy == nil {
		t.Fatalf("the Deployment mounts no volume of Secret %s into %s", s.Name, render.ProxyContainerName)
	}
	mount := ""
	for _, m := range proxy.VolumeMounts {
		if m.Name == volume {
			mount = m.MountPath
		}
	}
	dir := t.TempDir()
	for key, value := range s.Data {
		if err := os.WriteFile(filepath.Join(dir, key), value, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// oauth2-proxy names its certificate in its alpha configuration
	// (server.tls), OpenShift's oauth-proxy on its command line.
	var cfg struct {
		Server struct {
			TLS struct {
				Cert, Key struct {
					FromFile string `json:"fromFile"`
				}
			} `json:"tls"`
		} `json:"server"`
	}
	if p.KAP.Spec.Proxy.IsOIDC() {
		if err := yaml.Unmarshal([]byte(render.OAuth2ProxyConfig(p.KAP)), &cfg); err != nil {
			t.Fatal(err)
		}
	}
	local := func(flags ...string) string {
		files := map[string]string{"config:cert": cfg.Server.TLS.Cert.FromFile, "config:key": cfg.Server.TLS.Key.FromFile}
		for _, f := range flags {
			if v := files[f]; v != "" {
				rel, ok := strings.CutPrefix(v, mount+"/")
				if !ok {
					t.Fatalf("the configuration names %s, outside the mount %s", v, mount)
				}
				return filepath.Join(dir, rel)
			}
		}
		for _, a := range append(proxy.Command, proxy.Args...) {
			for _, f := range flags {
				if v, ok := strings.CutPrefix(a, f+"="); ok {
					rel, ok := strings.CutPrefix(v, mount+"/")
					if !ok {
						t.Fatalf("%s names %s, outside the mount %s", f, v, mount)
					}
					return filepath.Join(dir, rel)
				}
			}
		}
		t.Fatalf("the proxy's command line has none of %v: %q", flags, proxy.Args)
		return ""
	}
	pair, err := tls.LoadX509KeyPair(local("config:cert", "-tls-cert"), local("config:key", "-tls-key"))
	if err != nil {
		t.Fatalf("the listener cannot load its certificate: %v", err)
	}

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()
	roots := x509.NewCertPool()
	ca, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil || !roots.AppendCertsFromPEM(ca) {
		t.Fatalf("no CA projected: %v", err)
	}
	for _, name := range dnsNames {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: name, MinVersion: tls.VersionTLS12}}}
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Errorf("HTTPS as %s: %v", name, err)
			continue
		}
		_ = resp.Body.Close()
	}
}
