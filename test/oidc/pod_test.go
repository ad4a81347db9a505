package oidc

import (
	"net"
	"os"
	"path/filepath"
	"strconv"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// The objects the KialiAuthProxy of these specs names, which the user
// creates (the session secret the controller would generate).
const (
	clientSecretName   = "kiali-oidc"
	issuerCAConfigMap  = "oidc-issuer-ca"
	listenerCertSecret = "kiali-listener-tls"
	kialiCertSecret    = "kiali-tls"
)

// podPorts are the ports of the pod's network namespace: oauth2-proxy's
// listeners, the authorizing proxy on loopback, which oauth2-proxy
// forwards to, and the authorizing proxy's health endpoint.
var podPorts = []int{render.ProxyHTTPPort, render.ProxyHTTPSPort, render.AuthorizerPort, render.AuthorizerHealthPort}

// oidcKAP is the Kubernetes sample pointed at the mock issuer, with the
// issuer's CA from a ConfigMap, a listener certificate from a Secret (no
// cert-manager here) and Kiali serving TLS, exposed at host.
func oidcKAP(ns, host string, authz meshv1alpha1.OIDCAuthorization) *meshv1alpha1.KialiAuthProxy {
	kap := testbed.Sample("mesh_v1alpha1_kialiauthproxy_kubernetes.yaml", ns)
	o := kap.Spec.Proxy.OIDC
	o.IssuerURL = issuer.IssuerURL
	o.ClientID = issuer.ClientID
	o.ClientSecret = meshv1alpha1.SecretKeyReference{Name: clientSecretName}
	o.IssuerCA = &meshv1alpha1.ConfigMapKeyReference{Name: issuerCAConfigMap}
	// The mock issuer puts the groups claim into the ID token only when
	// the scope is asked for, as many issuers do; the sample asks.
	Expect(o.ExtraScopes).To(ContainElement("groups"))
	o.Authorization = authz
	kap.Spec.Proxy.TLS = &meshv1alpha1.ProxyTLSSpec{CertificateSecret: &meshv1alpha1.SecretReference{Name: listenerCertSecret}}
	kap.Spec.Kiali.TLS = &meshv1alpha1.KialiTLSSpec{CertificateSecret: &meshv1alpha1.SecretReference{Name: kialiCertSecret}}
	kap.Spec.Exposure.Host = host
	return kap
}

// proxyPod is the OIDC provider's rendered pod run as two processes:
// oauth2-proxy and the operator binary's authorize subcommand.
type proxyPod struct {
	KAP *meshv1alpha1.KialiAuthProxy
	// Deployment is the rendered one.
	Deployment *appsv1.Deployment
	// Rendered and Run are each container's command line as rendered and
	// as run; Rewrites turned one into the other.
	Rendered, Run map[string][]string
	Rewrites      map[string]*testbed.PodRewrite
	// Dirs are the directories standing in for each container's mounts.
	Dirs map[string]map[string]string
	// Ports are where the pod's ports are.
	Ports map[int]string
	// Listener is the certificate oauth2-proxy's HTTPS listener serves,
	// for the exposure host.
	Listener                *testbed.HostCertificate
	OAuth2Proxy, Authorizer *testbed.Program
}

// startProxyPod creates kap and what it references in a cluster that
// admits it, renders it, and runs its pod's containers with the rendered
// arguments, in front of up.
func startProxyPod(kap *meshv1alpha1.KialiAuthProxy, up *kiali) *proxyPod {
	GinkgoHelper()
	ns := kap.Namespace
	listener, err := testbed.NewHostCertificate(kap.Spec.Exposure.Host)
	Expect(err).NotTo(HaveOccurred())
	names := render.NamesFor(kap)
	create(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: clientSecretName},
		Data:       map[string][]byte{meshv1alpha1.DefaultClientSecretKey: []byte(issuer.ClientSecret)},
	})
	create(&corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: issuerCAConfigMap},
		Data:       map[string]string{meshv1alpha1.DefaultCAKey: string(issuer.CAPEM)},
	})
	create(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: listenerCertSecret},
		Type:       corev1.SecretTypeTLS,
		Data: map[string][]byte{
			corev1.TLSCertKey:         listener.CertPEM,
			corev1.TLSPrivateKeyKey:   listener.KeyPEM,
			meshv1alpha1.DefaultCAKey: listener.CAPEM,
		},
	})
	create(up.certificateSecret(ns, kialiCertSecret))
	// The Secret the controller generates when spec.proxy.sessionSecret
	// is unset (internal/controller/sessionsecret.go; no controller runs
	// here): 32 characters, a length oauth2-proxy takes as an AES key for
	// the cookie.
	create(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: names.SessionSecret},
		Data:       map[string][]byte{meshv1alpha1.DefaultSessionSecretKey: []byte(rand.String(32))},
	})
	// Admission checks the KialiAuthProxy as for a user; what is rendered
	// is the object as stored, with the CRD's defaults.
	create(kap)
	Expect(k.Get(ctx, client.ObjectKeyFromObject(kap), kap)).To(Succeed())

	in := render.Inputs{SessionSecret: render.SecretKey{Name: names.SessionSecret, Key: meshv1alpha1.DefaultSessionSecretKey}}
	objs := render.Objects(kap, in)
	dep := deploymentOf(objs)
	// oauth2-proxy's configuration ConfigMap, as the controller applies it.
	for _, o := range objs {
		if cm, ok := o.(*corev1.ConfigMap); ok && cm.Data != nil {
			create(cm.DeepCopy())
		}
	}
	ports, err := testbed.LoopbackPorts(podPorts...)
	Expect(err).NotTo(HaveOccurred())
	p := &proxyPod{
		KAP: kap, Deployment: dep, Listener: listener, Ports: ports,
		Rendered: map[string][]string{}, Run: map[string][]string{},
		Rewrites: map[string]*testbed.PodRewrite{}, Dirs: map[string]map[string]string{},
	}
	root := GinkgoT().TempDir()
	for _, name := range []string{render.ProxyContainerName, render.AuthorizerContainerName} {
		c := containerOf(dep, name)
		dirs, err := testbed.ProjectVolumes(ctx, k, ns, &dep.Spec.Template.Spec, c, filepath.Join(root, name))
		Expect(err).NotTo(HaveOccurred())
		r := &testbed.PodRewrite{Dirs: dirs, Ports: ports, Services: map[string]string{
			// Kiali's Service, which the authorizing proxy dials, is the
			// stand-in; the scheme (https) and the CA stay as rendered.
			net.JoinHostPort(names.KialiFQDN(), strconv.Itoa(render.KialiPort)): up.Addr(),
		}}
		p.Rendered[name], p.Rewrites[name], p.Dirs[name] = c.Args, r, dirs
		p.Run[name] = r.Args(c.Args)
		// oauth2-proxy's alpha configuration names files and listeners too:
		// the same rewrite, in the projected file.
		for _, m := range c.VolumeMounts {
			if m.Name == "proxy-config" {
				Expect(r.YAMLFile(filepath.Join(dirs[m.MountPath], render.OAuth2ProxyConfigKey))).To(Succeed())
			}
		}
	}

	// In a pod the authorizing proxy finds the API server through the
	// environment (KUBERNETES_SERVICE_HOST) and its CA where the kubelet
	// mounts the ServiceAccount's; a test process has neither, so the two
	// flags that default to them are given.
	apiCA := filepath.Join(root, "api-ca.crt")
	Expect(os.WriteFile(apiCA, cluster.Config.CAData, 0o600)).To(Succeed())
	authorizerArgs := append(append([]string(nil), p.Run[render.AuthorizerContainerName]...),
		"--api-server="+cluster.Config.Host, "--api-ca="+apiCA)
	p.Authorizer = testbed.StartAuthorizer(operator, authorizerArgs)
	p.OAuth2Proxy = testbed.StartOAuth2Proxy(p.Run[render.ProxyContainerName])
	return p
}

// HTTPS is the loopback address of oauth2-proxy's HTTPS listener.
func (p *proxyPod) HTTPS() string { return p.Ports[render.ProxyHTTPSPort] }

func create(o client.Object) {
	GinkgoHelper()
	Expect(k.Create(ctx, o)).To(Succeed())
}

func deploymentOf(objs []client.Object) *appsv1.Deployment {
	GinkgoHelper()
	for _, o := range objs {
		if d, ok := o.(*appsv1.Deployment); ok {
			return d
		}
	}
	Fail("the render holds no Deployment")
	return nil
}

func containerOf(d *appsv1.Deployment, name string) *corev1.Container {
	GinkgoHelper()
	for i := range d.Spec.Template.Spec.Containers {
		if c := &d.Spec.Template.Spec.Containers[i]; c.Name == name {
			return c
		}
	}
	Fail("the proxy pod has no container " + name)
	return nil
}
