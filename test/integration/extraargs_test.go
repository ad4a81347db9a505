package integration

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// The API server, not only the offline validator, enforces the extraArgs
// allow list generated from meshv1alpha1.AllowedProxyFlags and
// meshv1alpha1.ManagedProxyFlags.
var _ = Describe("spec.proxy.extraArgs at admission", func() {
	create := func(args ...string) error {
		kap := reference("default")
		kap.Name = "extra-args"
		kap.Spec.Proxy.ExtraArgs = args
		return k.Create(ctx, kap, client.DryRunAll)
	}

	It("accepts every allowed flag in its form", func() {
		var all []string
		for _, f := range meshv1alpha1.AllowedProxyFlags {
			forms := []string{"-" + f.Name + "=2m", "--" + f.Name + "=1m30s"}
			if f.Kind == meshv1alpha1.ProxyFlagBool {
				forms = []string{"-" + f.Name, "--" + f.Name, "-" + f.Name + "=true", "-" + f.Name + "=false"}
			}
			for _, arg := range forms {
				Expect(create(arg)).To(Succeed(), arg)
			}
			all = append(all, forms[0])
		}
		Expect(create(all...)).To(Succeed())
	})

	It("refuses an allowed value flag without =", func() {
		for _, f := range meshv1alpha1.AllowedProxyFlags {
			if f.Kind != meshv1alpha1.ProxyFlagBool {
				err := create("-" + f.Name)
				Expect(apierrors.IsInvalid(err)).To(BeTrue(), "-%s: %v", f.Name, err)
				Expect(err.Error()).To(ContainSubstring("after ="))
			}
		}
	})

	It("refuses every other flag of the oauth-proxy release, naming the field to use for a managed one", func() {
		managed := map[string]meshv1alpha1.ManagedProxyFlag{}
		for _, f := range meshv1alpha1.ManagedProxyFlags {
			managed[f.Name] = f
		}
		allowed := map[string]bool{}
		for _, f := range meshv1alpha1.AllowedProxyFlags {
			allowed[f.Name] = true
		}
		file, err := os.Open(filepath.Join(testbed.Root(), "api", "v1alpha1", "testdata", "oauth-proxy-release-4.18-flags.txt"))
		Expect(err).NotTo(HaveOccurred())
		defer file.Close()
		refused := 0
		s := bufio.NewScanner(file)
		for s.Scan() {
			fields := strings.Fields(s.Text())
			if len(fields) == 0 || strings.HasPrefix(fields[0], "#") || allowed[fields[0]] {
				continue
			}
			name := fields[0]
			for _, arg := range []string{"-" + name, "--" + name + "=x"} {
				err := create(arg)
				Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%s: %v", arg, err)
				if m, ok := managed[name]; ok {
					Expect(err.Error()).To(ContainSubstring(m.Instead), arg)
				}
			}
			refused++
		}
		Expect(s.Err()).NotTo(HaveOccurred())
		Expect(refused).To(BeNumerically(">", 50))
	})

	DescribeTable("refuses the ways around the proxy",
		func(arg, message string) {
			err := create(arg)
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%s: %v", arg, err)
			Expect(err.Error()).To(ContainSubstring(message))
		},
		Entry("a config file, which can set any option", "-config=/etc/proxy/htpasswd/htpasswd", "spec.proxy.extraArgs may only set"),
		Entry("a cookie for every sibling host", "-cookie-domain=.example.com", "the operator keeps the session cookie host-only"),
		Entry("another path prefix", "-proxy-prefix=/x", "the /oauth paths"),
		Entry("another redirect", "-redirect-url=https://evil", "spec.exposure.host"),
		Entry("a client CA", "-tls-client-ca=/x", "spec.proxy.extraArgs may only set"),
		Entry("custom templates", "-custom-templates-dir=/x", "spec.proxy.extraArgs may only set"),
		Entry("no request log", "-request-logging=false", "spec.proxy.requestLogging"),
	)
})
