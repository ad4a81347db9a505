package testbed

import (
	"slices"
	"testing"
)

func TestPodRewriteChangesOnlyMountsPortsAndServices(t *testing.T) {
	r := &PodRewrite{
		Dirs:     map[string]string{"/etc/proxy/oidc": "/tmp/x/oidc"},
		Ports:    map[int]string{3080: "127.0.0.1:41000", 3090: "127.0.0.1:41001"},
		Services: map[string]string{"kiali.ns.svc.cluster.local:20001": "127.0.0.1:42000"},
	}
	rendered := []string{
		"authorize",
		"--client-secret-file=/etc/proxy/oidc/client-secret",
		// A sibling of a mount path is not under it.
		"--other-file=/etc/proxy/oidc-extra/file",
		"--http-address=0.0.0.0:3080",
		"--listen=:3090",
		"--upstream=http://127.0.0.1:3090/",
		"--kiali=https://kiali.ns.svc.cluster.local:20001",
		// A port of the pod on another host is not the pod's.
		"--issuer=https://10.0.0.1:3080/realm",
		"--redirect-url=https://kiali.test/oauth2/callback",
		"--forward-only",
		"--scope=openid email",
	}
	want := []string{
		"authorize",
		"--client-secret-file=/tmp/x/oidc/client-secret",
		"--other-file=/etc/proxy/oidc-extra/file",
		"--http-address=127.0.0.1:41000",
		"--listen=127.0.0.1:41001",
		"--upstream=http://127.0.0.1:41001/",
		"--kiali=https://127.0.0.1:42000",
		"--issuer=https://10.0.0.1:3080/realm",
		"--redirect-url=https://kiali.test/oauth2/callback",
		"--forward-only",
		"--scope=openid email",
	}
	got := r.Args(rendered)
	if !slices.Equal(got, want) {
		t.Fatalf("Args:\n got %q\nwant %q", got, want)
	}
	if back := r.Restore(got); !slices.Equal(back, rendered) {
		t.Fatalf("Restore:\n got %q\nwant %q", back, rendered)
	}
}

func TestFlagValueIsTheLastOne(t *testing.T) {
	v, err := FlagValue([]string{"--a=1", "--b", "--a=2"}, "a")
	if err != nil || v != "2" {
		t.Fatalf("FlagValue = %q, %v", v, err)
	}
	if _, err := FlagValue([]string{"--b"}, "b"); err == nil {
		t.Fatal("a flag without a value has no value")
	}
}
