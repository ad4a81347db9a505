package authorize

import (
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/authorize"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// kiali stands in for Kiali behind the proxy: an HTTPS server that notes
// the headers of every request it gets.
type kiali struct {
	srv *httptest.Server

	mu   sync.Mutex
	seen []http.Header
}

func startKiali() *kiali {
	GinkgoHelper()
	k := &kiali{}
	k.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.mu.Lock()
		k.seen = append(k.seen, r.Header.Clone())
		k.mu.Unlock()
		_, _ = io.WriteString(w, "Kiali console")
	}))
	DeferCleanup(k.srv.Close)
	return k
}

func (k *kiali) headers() []http.Header {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]http.Header(nil), k.seen...)
}

var _ = Describe("the authorizing proxy", Ordered, func() {
	const (
		viewers = "kiali-viewers"
		others  = "other-team"
	)
	var (
		ns    string
		proxy *httptest.Server
		up    *kiali
		logs  *testbed.SyncBuffer
		// tokens are every token the specs sent.
		tokens []string
	)

	BeforeAll(func() {
		ns = testbed.NewNamespace(ctx, k, "authz-")
		// The permission the reviews ask for, granted to one group.
		Expect(k.Create(ctx, &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pod-reader"},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}},
		})).To(Succeed())
		Expect(k.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "kiali-viewers"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "pod-reader"},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: viewers}},
		})).To(Succeed())

		up = startKiali()
		u, err := url.Parse(up.srv.URL)
		Expect(err).NotTo(HaveOccurred())
		// The reviews as the operator renders them for the pod's
		// --subject-access-reviews, parsed as the subcommand parses them.
		reviews, err := authorize.ParseReviews(render.SubjectAccessReviewsJSON([]meshv1alpha1.SubjectAccessReview{
			{Namespace: ns, Resource: "pods", Verb: "get"},
		}))
		Expect(err).NotTo(HaveOccurred())
		logs = &testbed.SyncBuffer{}
		h, err := authorize.NewHandler(authorize.Config{
			Upstream:   u,
			UpstreamCA: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: up.srv.Certificate().Raw}),
			// What a pod has: the API server's address and CA, no
			// credentials of its own.
			APIServer: &rest.Config{Host: cluster.Config.Host, TLSClientConfig: rest.TLSClientConfig{CAData: cluster.Config.CAData}},
			Reviews:   reviews,
			CacheTTL:  authorize.DefaultCacheTTL,
			Log:       slog.New(slog.NewTextHandler(io.MultiWriter(GinkgoWriter, logs), nil)),
		})
		Expect(err).NotTo(HaveOccurred())
		proxy = httptest.NewServer(h)
		DeferCleanup(proxy.Close)
	})

	get := func(token string) (int, string) {
		GinkgoHelper()
		req, err := http.NewRequest(http.MethodGet, proxy.URL+"/kiali/api/namespaces", nil)
		Expect(err).NotTo(HaveOccurred())
		if token != "" {
			tokens = append(tokens, token)
			req.Header.Set("Authorization", "Bearer "+token)
		}
		// As oauth2-proxy would pass a forged value on if the browser
		// could set it.
		req.Header.Set("X-Forwarded-User", "admin")
		resp, err := proxy.Client().Do(req)
		Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		Expect(err).NotTo(HaveOccurred())
		return resp.StatusCode, string(body)
	}
	hour := func() time.Time { return time.Now().Add(time.Hour) }

	It("lets a user of the bound group through to Kiali, as that user", func() {
		code, body := get(issuer.IDToken("alice@example.com", []string{viewers}, issuer.ClientID, hour()))
		Expect(code).To(Equal(http.StatusOK))
		Expect(body).To(Equal("Kiali console"))
		seen := up.headers()
		Expect(seen).To(HaveLen(1))
		Expect(seen[0].Values("X-Forwarded-User")).To(Equal([]string{"alice@example.com"}))
	})

	It("refuses a user of another group, naming the missing permission", func() {
		code, body := get(issuer.IDToken("bob@example.com", []string{others}, issuer.ClientID, hour()))
		Expect(code).To(Equal(http.StatusForbidden))
		Expect(body).To(ContainSubstring("user bob@example.com may not get pods in namespace " + ns))
	})

	It("answers 401 to a token for another audience", func() {
		code, _ := get(issuer.IDToken("alice@example.com", []string{viewers}, "another-client", hour()))
		Expect(code).To(Equal(http.StatusUnauthorized))
	})

	It("answers 401 to an expired token", func() {
		code, _ := get(issuer.IDToken("alice@example.com", []string{viewers}, issuer.ClientID, time.Now().Add(-time.Minute)))
		Expect(code).To(Equal(http.StatusUnauthorized))
	})

	It("answers 401 to a request without a token", func() {
		code, _ := get("")
		Expect(code).To(Equal(http.StatusUnauthorized))
	})

	It("never lets the upstream see the Authorization header, nor the log a token", func() {
		seen := up.headers()
		Expect(seen).NotTo(BeEmpty())
		for _, h := range seen {
			Expect(h).NotTo(HaveKey("Authorization"))
		}
		Expect(tokens).To(HaveLen(4))
		for _, t := range tokens {
			Expect(logs.String()).NotTo(ContainSubstring(t))
		}
		Expect(logs.String()).NotTo(ContainSubstring("Bearer"))
		Expect(logs.String()).To(ContainSubstring("user=alice@example.com method=GET path=/kiali/api/namespaces status=200"))
	})
})
