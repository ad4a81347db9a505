package render

import (
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// openShiftUserAPI stands in for the OpenShift 4 API server's
// /apis/user.openshift.io/v1/users/~: like every Kubernetes API server it
// authenticates bearer tokens from the Authorization header only, so a token
// in an access_token query parameter is an anonymous request, refused.
func openShiftUserAPI(t *testing.T, token string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/apis/user.openshift.io/v1/users/~" {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, `{"kind":"Status","reason":"Forbidden","message":"users.user.openshift.io \"~\" is forbidden: User \"system:anonymous\" cannot get resource \"users\""}`, http.StatusForbidden)
			return
		}
		_, _ = io.WriteString(w, `{"kind":"User","metadata":{"name":"alice"}}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// sessionSurvives replays what openshift/oauth-proxy (release-4.18) does
// with a session cookie of the given age, from its source:
//   - oauthproxy.go Authenticate: a session older than -cookie-refresh
//     (when that is not 0) is saved again, and before that validated with
//     provider.ValidateSessionState; a failed validation removes the
//     session (the user gets the sign-in page, Kiali's API calls too);
//   - the openshift provider does not override ValidateSessionState, so
//     providers/provider_default.go calls validateToken with no header, and
//     providers/internal_util.go then sends the token as
//     "?access_token=<token>" to the validate URL;
//   - a cookie older than -cookie-expire is not accepted at all.
func sessionSurvives(t *testing.T, args []string, validateURL, token string, age time.Duration) bool {
	t.Helper()
	fs := flag.NewFlagSet("oauth-proxy", flag.ContinueOnError)
	refresh := fs.Duration("cookie-refresh", 0, "")
	expire := fs.Duration("cookie-expire", 168*time.Hour, "")
	var ours []string
	for _, a := range args {
		if strings.HasPrefix(a, "-cookie-refresh=") || strings.HasPrefix(a, "-cookie-expire=") {
			ours = append(ours, a)
		}
	}
	if err := fs.Parse(ours); err != nil {
		t.Fatal(err)
	}
	if age > *expire {
		return false
	}
	if *refresh == 0 || age <= *refresh {
		return true
	}
	resp, err := http.Get(validateURL + "?" + url.Values{"access_token": {token}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func TestNoSessionEndsAtRefresh(t *testing.T) {
	const token = "sha256~valid-user-token"
	api := openShiftUserAPI(t, token)
	validateURL := api.URL + "/apis/user.openshift.io/v1/users/~"

	// The stand-in accepts the token where the API server looks for it.
	req, _ := http.NewRequest(http.MethodGet, validateURL, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a valid token in the Authorization header got %d", resp.StatusCode)
	}

	// What 0.1.0 rendered: the first refresh, after an hour, ends the
	// session.
	if sessionSurvives(t, []string{"-cookie-expire=23h0m0s", "-cookie-refresh=1h0m0s"}, validateURL, token, 61*time.Minute) {
		t.Fatal("the replay does not see a refresh end the session")
	}

	for name, mutate := range map[string]func(*meshv1alpha1.KialiAuthProxy){
		"defaults": func(k *meshv1alpha1.KialiAuthProxy) { k.Spec.Proxy.Cookie = nil },
		// Stored before admission refused it: still not rendered.
		"a stored refresh": func(k *meshv1alpha1.KialiAuthProxy) {
			k.Spec.Proxy.Cookie = &meshv1alpha1.CookieSpec{Refresh: &metav1.Duration{Duration: time.Hour}}
		},
	} {
		args := argsFor(t, mutate)
		expire := meshv1alpha1.DefaultCookieExpire
		if !sessionSurvives(t, args, validateURL, token, expire-time.Minute) {
			t.Errorf("%s: a session of %s is dropped before it expires (%v)", name, expire-time.Minute, args)
		}
		if sessionSurvives(t, args, validateURL, token, expire+time.Minute) {
			t.Errorf("%s: a session outlives -cookie-expire", name)
		}
	}
}
