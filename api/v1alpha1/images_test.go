package v1alpha1

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The oauth2-proxy image the operator defaults to is the release the tests
// run (hack/test-binaries.sh builds it) and the one the install names for
// RELATED_IMAGE_OAUTH2_PROXY, so what users run is what was tested.
func TestOAuth2ProxyImageIsTheTestedRelease(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("..", "..", "hack", "test-binaries.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`OAUTH2_PROXY_VERSION:-(v[0-9.]+)`).FindSubmatch(script)
	if m == nil {
		t.Fatal("hack/test-binaries.sh pins no OAUTH2_PROXY_VERSION")
	}
	if want := ":" + string(m[1]); !strings.HasSuffix(DefaultOAuth2ProxyImage, want) {
		t.Errorf("DefaultOAuth2ProxyImage %s is not the tested release %s", DefaultOAuth2ProxyImage, m[1])
	}
	manager, err := os.ReadFile(filepath.Join("..", "..", "config", "manager", "manager.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`name: RELATED_IMAGE_OAUTH2_PROXY\s+value: ` + regexp.QuoteMeta(DefaultOAuth2ProxyImage)).Match(manager) {
		t.Errorf("config/manager/manager.yaml does not set RELATED_IMAGE_OAUTH2_PROXY to %s", DefaultOAuth2ProxyImage)
	}
}
