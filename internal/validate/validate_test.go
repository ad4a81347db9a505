package validate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func sample(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "samples", "mesh_v1alpha1_kialiauthproxy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	obj := map[string]any{}
	if err := yaml.Unmarshal(raw, &obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

func TestSamplesAreValid(t *testing.T) {
	for _, f := range []string{"mesh_v1alpha1_kialiauthproxy.yaml", "mesh_v1alpha1_kialiauthproxy_v2.yaml", "mesh_v1alpha1_kialiauthproxy_multicluster.yaml"} {
		raw, err := os.ReadFile(filepath.Join("..", "..", "config", "samples", f))
		if err != nil {
			t.Fatal(err)
		}
		obj := map[string]any{}
		if err := yaml.Unmarshal(raw, &obj); err != nil {
			t.Fatal(err)
		}
		errs, err := Object(context.Background(), obj)
		if err != nil {
			t.Fatal(err)
		}
		if len(errs) > 0 {
			t.Errorf("%s: %v", f, errs.ToAggregate())
		}
	}
}

func TestRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(obj map[string]any)
		want   string
	}{
		{"CEL rule on a field", func(o map[string]any) {
			o["spec"].(map[string]any)["exposure"].(map[string]any)["host"] = "Not_A_Host"
		}, "spec.exposure.host must be a lowercase DNS name"},
		{"CEL rule on the object's name", func(o map[string]any) {
			o["metadata"].(map[string]any)["name"] = strings.Repeat("k", 41)
		}, "metadata.name must be at most 40 characters"},
		{"OpenAPI bound", func(o map[string]any) {
			o["spec"].(map[string]any)["proxy"].(map[string]any)["replicas"] = int64(99)
		}, "should be less than or equal to 20"},
		{"unknown field", func(o map[string]any) {
			o["spec"].(map[string]any)["proxy"].(map[string]any)["replica"] = int64(1)
		}, `spec.proxy.replica: Invalid value: unknown field`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj := sample(t)
			tc.mutate(obj)
			errs, err := Object(context.Background(), obj)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(errs.ToAggregate().Error(), tc.want) {
				t.Fatalf("errors %v do not say %q", errs, tc.want)
			}
		})
	}
}

// A cookie refresh is refused when it is set or changed, not when an object
// stored before the rule keeps it unchanged: the rule compares with the
// stored value (optionalOldSelf), so such an object can still be updated.
func TestCookieRefreshRefusedOnlyWhenSetOrChanged(t *testing.T) {
	withRefresh := func(refresh string) map[string]any {
		obj := sample(t)
		obj["spec"].(map[string]any)["proxy"].(map[string]any)["cookie"] = map[string]any{"refresh": refresh}
		return obj
	}
	const refused = "spec.proxy.cookie.refresh is not supported with the OpenShift provider"
	stored := withRefresh("1h")
	for _, tc := range []struct {
		name     string
		obj, old map[string]any
		refused  bool
	}{
		{"created with a refresh", withRefresh("1h"), nil, true},
		{"a refresh added", withRefresh("1h"), sample(t), true},
		{"a stored refresh changed", withRefresh("2h"), stored, true},
		{"a stored refresh kept while another field changes", func() map[string]any {
			o := withRefresh("1h")
			o["spec"].(map[string]any)["proxy"].(map[string]any)["replicas"] = int64(2)
			return o
		}(), stored, false},
		{"a stored refresh removed", sample(t), stored, false},
	} {
		errs, err := Update(context.Background(), tc.obj, tc.old)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(fmt.Sprint(errs), refused); got != tc.refused {
			t.Errorf("%s: refused = %v, want %v (%v)", tc.name, got, tc.refused, errs)
		}
	}
}

// A passthrough is fine with the listener's default, with or without any
// spec.proxy at all; only a listener turned off refuses it.
func TestPassthroughNeedsOnlyTheListener(t *testing.T) {
	withPassthrough := func(proxy map[string]any) map[string]any {
		obj := sample(t)
		spec := obj["spec"].(map[string]any)
		spec["exposure"].(map[string]any)["virtualService"].(map[string]any)["passthrough"] = map[string]any{
			"certificateSecret": map[string]any{"name": "host-cert"}}
		if proxy == nil {
			delete(spec, "proxy")
		} else {
			spec["proxy"] = proxy
		}
		return obj
	}
	const refused = "spec.exposure.virtualService.passthrough needs the proxy's HTTPS listener"
	for name, tc := range map[string]struct {
		proxy   map[string]any
		refused bool
	}{
		"no spec.proxy":      {nil, false},
		"no tls":             {map[string]any{}, false},
		"the listener on":    {map[string]any{"tls": map[string]any{"enabled": true}}, false},
		"the listener off":   {map[string]any{"tls": map[string]any{"enabled": false}}, true},
		"tls without enable": {map[string]any{"tls": map[string]any{}}, false},
	} {
		errs, err := Object(context.Background(), withPassthrough(tc.proxy))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(fmt.Sprint(errs), refused); got != tc.refused || (!tc.refused && len(errs) > 0) {
			t.Errorf("%s: errors %v, want refused %v", name, errs, tc.refused)
		}
	}
}
