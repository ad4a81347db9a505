package authorize

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

// fakeAPIServer answers SelfSubjectReviews and SelfSubjectAccessReviews
// the way the API server does, for the tokens it was told about.
type fakeAPIServer struct {
	srv *httptest.Server

	mu     sync.Mutex
	users  map[string]authenticationv1.UserInfo // by token
	grants map[string][]authorizationv1.ResourceAttributes

	whoAmI  atomic.Int32
	reviews atomic.Int32
}

func newFakeAPIServer(t *testing.T) *fakeAPIServer {
	t.Helper()
	f := &fakeAPIServer{users: map[string]authenticationv1.UserInfo{}, grants: map[string][]authorizationv1.ResourceAttributes{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /apis/authentication.k8s.io/v1/selfsubjectreviews", f.selfSubjectReview)
	mux.HandleFunc("POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews", f.selfSubjectAccessReview)
	f.srv = httptest.NewTLSServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// config is how the proxy reaches the fake, verifying its certificate.
func (f *fakeAPIServer) config() *rest.Config {
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	return &rest.Config{Host: f.srv.URL, TLSClientConfig: rest.TLSClientConfig{CAData: ca}}
}

// addUser makes token authenticate as name, holding grants.
func (f *fakeAPIServer) addUser(token, name string, grants ...authorizationv1.ResourceAttributes) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users[token] = authenticationv1.UserInfo{Username: name, UID: "uid-" + name, Groups: []string{"system:authenticated"}}
	f.grants[name] = grants
}

func (f *fakeAPIServer) user(r *http.Request) (authenticationv1.UserInfo, bool) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return authenticationv1.UserInfo{}, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[token]
	return u, ok
}

func (f *fakeAPIServer) selfSubjectReview(w http.ResponseWriter, r *http.Request) {
	f.whoAmI.Add(1)
	u, ok := f.user(r)
	if !ok {
		unauthorized(w)
		return
	}
	writeJSON(w, http.StatusCreated, &authenticationv1.SelfSubjectReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "authentication.k8s.io/v1", Kind: "SelfSubjectReview"},
		Status:   authenticationv1.SelfSubjectReviewStatus{UserInfo: u},
	})
}

func (f *fakeAPIServer) selfSubjectAccessReview(w http.ResponseWriter, r *http.Request) {
	f.reviews.Add(1)
	u, ok := f.user(r)
	if !ok {
		unauthorized(w)
		return
	}
	// client-go sends built-in types as protobuf; the codecs read both.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(body, nil, nil)
	sar, ok := obj.(*authorizationv1.SelfSubjectAccessReview)
	if err != nil || !ok || sar.Spec.ResourceAttributes == nil {
		http.Error(w, "bad review", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	for _, g := range f.grants[u.Username] {
		if g == *sar.Spec.ResourceAttributes {
			sar.Status.Allowed = true
		}
	}
	f.mu.Unlock()
	if !sar.Status.Allowed {
		sar.Status.Reason = "no RBAC policy matched"
	}
	sar.TypeMeta = metav1.TypeMeta{APIVersion: "authorization.k8s.io/v1", Kind: "SelfSubjectAccessReview"}
	writeJSON(w, http.StatusCreated, sar)
}

func unauthorized(w http.ResponseWriter) {
	writeJSON(w, http.StatusUnauthorized, &metav1.Status{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"},
		Status:   metav1.StatusFailure, Message: "Unauthorized", Reason: metav1.StatusReasonUnauthorized, Code: http.StatusUnauthorized,
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// fakeJWT is a token shaped as a JWT expiring at exp; only its exp claim
// matters to the proxy, and the fake API server knows it by value.
func fakeJWT(subject string, exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	payload := fmt.Sprintf(`{"sub":%q,"exp":%d}`, subject, exp.Unix())
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc([]byte(payload)) + "." + enc([]byte("signature-"+subject))
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testCA is the PEM of a fresh self-signed CA, which has signed nothing.
func testCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "another CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
