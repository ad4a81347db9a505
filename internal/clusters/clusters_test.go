package clusters

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

const kubeconfig = `apiVersion: v1
kind: Config
current-context: east
contexts:
- name: east
  context: {cluster: east, user: east}
clusters:
- name: east
  cluster: {server: "https://east.example.com:6443", certificate-authority-data: ""}
users:
- name: east
  user: {token: abc}
`

func TestRESTConfigRefusesWhatRunsOrReadsInTheOperator(t *testing.T) {
	cfg, err := RESTConfig([]byte(kubeconfig))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://east.example.com:6443" || cfg.BearerToken != "abc" {
		t.Errorf("config = %s %q", cfg.Host, cfg.BearerToken)
	}
	for name, user := range map[string]string{
		"exec":          "exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh}",
		"auth-provider": "auth-provider: {name: oidc}",
		"token file":    "tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token",
		"cert file":     "client-certificate: /etc/pki/tls.crt",
	} {
		kc := strings.Replace(kubeconfig, "{token: abc}", "{"+user+"}", 1)
		if _, err := RESTConfig([]byte(kc)); !errors.Is(err, errUnsafe) {
			t.Errorf("%s: err = %v, want it refused", name, err)
		}
	}
	caFile := strings.Replace(kubeconfig, `certificate-authority-data: ""`, "certificate-authority: /etc/ca.crt", 1)
	if _, err := RESTConfig([]byte(caFile)); !errors.Is(err, errUnsafe) {
		t.Errorf("CA file: err = %v, want it refused", err)
	}
	if _, err := RESTConfig([]byte("not: [a kubeconfig")); err == nil {
		t.Error("garbage accepted")
	}
}

func TestCacheRebuildsOnlyWhenTheSecretChanges(t *testing.T) {
	ctx := context.Background()
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kiali", Name: "east"},
		Data:       map[string][]byte{"east": []byte(kubeconfig)},
	}
	reader := fake.NewClientBuilder().WithObjects(secret).Build()
	c := &Cache{Reader: reader, Scheme: scheme.Scheme}
	key := SecretKey{Namespace: "kiali", Name: "east", Key: "east"}

	first, err := c.Client(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Client(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if first != again {
		t.Error("an unchanged Secret rebuilt the client")
	}

	secret.Data["east"] = []byte(strings.Replace(kubeconfig, "abc", "rotated", 1))
	if err := reader.Update(ctx, secret); err != nil {
		t.Fatal(err)
	}
	rebuilt, err := c.Client(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if rebuilt == first {
		t.Error("a changed Secret kept the old client")
	}

	if _, err := c.Client(ctx, SecretKey{Namespace: "kiali", Name: "east", Key: "west"}); err == nil ||
		!strings.Contains(err.Error(), `no key "west"`) {
		t.Errorf("missing key: err = %v", err)
	}
	if _, err := c.Client(ctx, SecretKey{Namespace: "kiali", Name: "gone", Key: "x"}); err == nil {
		t.Error("missing Secret gave a client")
	}

	c.Forget(map[SecretKey]bool{})
	if len(c.entries) != 0 {
		t.Error("Forget kept clients")
	}
}

func TestRemoteMapperKnowsPrometheus(t *testing.T) {
	m, err := remoteMapper().RESTMapping(PrometheusGVK.GroupKind(), "v1")
	if err != nil {
		t.Fatal(err)
	}
	if m.Resource.Resource != "prometheuses" {
		t.Errorf("resource = %q", m.Resource.Resource)
	}
}
