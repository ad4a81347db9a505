// Package argocd tests the Argo CD health check shipped in config/argocd with
// a real Lua interpreter.
package argocd

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// luaLiteral writes a JSON-like value as a Lua table constructor, the form
// Argo CD hands the script its object in.
func luaLiteral(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case string:
		return fmt.Sprintf("%q", x)
	case bool:
		return fmt.Sprint(x)
	case int:
		return fmt.Sprint(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = luaLiteral(e)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("[%q] = %s", k, luaLiteral(x[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	panic(fmt.Sprintf("no Lua literal for %T", v))
}

func cond(t, status, reason, message string) any {
	return map[string]any{"type": t, "status": status, "reason": reason, "message": message}
}

func kap(generation, observed int, conditions ...any) map[string]any {
	return map[string]any{
		"metadata": map[string]any{"name": "kiali", "generation": generation},
		"status":   map[string]any{"observedGeneration": observed, "conditions": conditions},
	}
}

func TestHealthCheck(t *testing.T) {
	lua, err := exec.LookPath("lua5.4")
	if err != nil {
		t.Fatal("lua5.4 is needed (apt-get install lua5.4; hack/install-tools.sh does it)")
	}
	script := filepath.Join(testbed.Root(), "config", "argocd", "kialiauthproxy-health.lua")
	for _, tc := range []struct {
		name    string
		obj     map[string]any
		status  string
		message string
	}{
		{"no status yet", map[string]any{"metadata": map[string]any{"generation": 1}}, "Progressing", "Waiting for the operator to report a status"},
		{"generation not observed", kap(3, 2, cond("Ready", "True", "Ready", "old")), "Progressing", "Waiting for the operator to observe generation 3"},
		{"ready", kap(2, 2,
			cond("Ready", "True", "Ready", "Kiali is served at https://kiali.example.com through the oauth-proxy"),
			cond("Degraded", "False", "ReferencesValid", "ok")),
			"Healthy", "Kiali is served at https://kiali.example.com through the oauth-proxy"},
		{"bad reference", kap(2, 2,
			cond("Ready", "False", "SecretNotFound", "Degraded: ..."),
			cond("Degraded", "True", "SecretNotFound", "Secret kiali/htpasswd referenced by spec.proxy.htpasswd does not exist")),
			"Degraded", "Secret kiali/htpasswd referenced by spec.proxy.htpasswd does not exist"},
		{"Kiali CRD missing", kap(1, 1,
			cond("Ready", "False", "KialiCRDMissing", "KialiConfigured: The Kiali CRD is not installed"),
			cond("Degraded", "False", "ReferencesValid", "ok")),
			"Degraded", "KialiConfigured: The Kiali CRD is not installed"},
		{"Istio security CRDs missing", kap(1, 1,
			cond("Ready", "False", "IstioSecurityCRDMissing", "MeshLocked: The Istio security CRDs are not installed"),
			cond("Degraded", "False", "ReferencesValid", "ok")),
			"Degraded", "MeshLocked: The Istio security CRDs are not installed"},
		{"proxy rolling out", kap(1, 1,
			cond("Ready", "False", "DeploymentUnavailable", "ProxyAvailable: Deployment kiali/kiali-oauth is rolling out a new version"),
			cond("Degraded", "False", "ReferencesValid", "ok")),
			"Progressing", "ProxyAvailable: Deployment kiali/kiali-oauth is rolling out a new version"},
		{"no Ready condition", kap(1, 1, cond("Degraded", "False", "ReferencesValid", "ok")), "Progressing", "Waiting for the Ready condition"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			harness := filepath.Join(t.TempDir(), "harness.lua")
			src := fmt.Sprintf("obj = %s\nlocal hs = dofile(%q)\nio.write(hs.status, \"\\n\", hs.message)\n", luaLiteral(tc.obj), script)
			if err := os.WriteFile(harness, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(lua, harness).CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			got := strings.SplitN(string(out), "\n", 2)
			if len(got) != 2 || got[0] != tc.status || got[1] != tc.message {
				t.Errorf("health %q, want %s / %s", out, tc.status, tc.message)
			}
		})
	}
}
