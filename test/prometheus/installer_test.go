package prometheus

import (
	"context"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/controller"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/monitoring"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// TestManagerMakesItsMonitoringOnceTheCRDsAreServed: an install where the
// Prometheus Operator is missing works, and the manager makes the
// ServiceMonitor and PrometheusRule of config/prometheus in its namespace
// once the CRDs arrive, as a kustomize install of config/prometheus would.
func TestManagerMakesItsMonitoringOnceTheCRDsAreServed(t *testing.T) {
	cfg := startAPIServer(t, testbed.Options{})
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, hc)
	if err != nil {
		t.Fatal(err)
	}
	k, err := client.New(cfg, client.Options{Mapper: mapper})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const ns = "kiali-auth-proxy-operator-system"
	if err := k.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	// The scraper, as OLM makes it from the CSV: no token Secret.
	if err := k.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: monitoring.ScraperServiceAccount}}); err != nil {
		t.Fatal(err)
	}
	in := &monitoring.Installer{Client: k, APIReader: k, Mapper: mapper, Namespace: ns, FieldOwner: controller.FieldOwner}

	served, err := in.Ensure(ctx)
	if err != nil || served {
		t.Fatalf("without the CRDs: served %v, %v", served, err)
	}

	dir, err := testbed.PrometheusOperatorCRDs()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{Paths: []string{dir}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for served, err = in.Ensure(ctx); !served || err != nil; served, err = in.Ensure(ctx) {
		if time.Now().After(deadline) {
			t.Fatalf("with the CRDs: served %v, %v", served, err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// What the manager made is config/prometheus's objects, in its namespace.
	want := map[string]*unstructured.Unstructured{}
	for _, o := range build(t, "prometheus") {
		if o.GetAPIVersion() == monitoringGroup+"/v1" {
			want[o.GetKind()] = o
		}
	}
	for _, kind := range []string{"ServiceMonitor", "PrometheusRule"} {
		w := want[kind]
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(schema.GroupVersionKind{Group: monitoringGroup, Version: "v1", Kind: kind})
		if err := k.Get(ctx, client.ObjectKey{Namespace: ns, Name: w.GetName()}, live); err != nil {
			t.Fatalf("%s %s/%s: %v", kind, ns, w.GetName(), err)
		}
		if !equality.Semantic.DeepEqual(live.Object["spec"], w.Object["spec"]) {
			t.Errorf("%s spec differs from config/prometheus's", kind)
		}
	}
	// The token the ServiceMonitor reads authenticates as the scraper.
	token := &corev1.Secret{}
	if err := k.Get(ctx, client.ObjectKey{Namespace: ns, Name: monitoring.ScraperTokenSecret}, token); err != nil {
		t.Fatal(err)
	}
	review := &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: string(token.Data["token"])}}
	if err := k.Create(ctx, review); err != nil {
		t.Fatal(err)
	}
	if want := "system:serviceaccount:" + ns + ":" + monitoring.ScraperServiceAccount; !review.Status.Authenticated || review.Status.User.Username != want {
		t.Errorf("the scraper's token authenticates %v as %q, want %q", review.Status.Authenticated, review.Status.User.Username, want)
	}
	if refs := token.OwnerReferences; len(refs) != 1 || refs[0].Kind != "ServiceAccount" || refs[0].Name != monitoring.ScraperServiceAccount {
		t.Errorf("the token Secret is not owned by the scraper: %v", refs)
	}

	// Looking again writes nothing new.
	before := resourceVersionOf(t, k, ns, want["PrometheusRule"].GetName())
	if _, err := in.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if after := resourceVersionOf(t, k, ns, want["PrometheusRule"].GetName()); after != before {
		t.Errorf("a second look rewrote the PrometheusRule (resourceVersion %s -> %s)", before, after)
	}
	again := &corev1.Secret{}
	if err := k.Get(ctx, client.ObjectKeyFromObject(token), again); err != nil || again.UID != token.UID {
		t.Errorf("a second look wrote the token anew (%v)", err)
	}

	// A token due for renewal is written anew.
	if err := k.Delete(ctx, again); err != nil {
		t.Fatal(err)
	}
	due := again.DeepCopy()
	due.ResourceVersion, due.UID = "", ""
	due.Annotations["mesh.kialiauth.io/renew-at"] = time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	if err := k.Create(ctx, due); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	renewed := &corev1.Secret{}
	if err := k.Get(ctx, client.ObjectKeyFromObject(token), renewed); err != nil || renewed.UID == due.UID {
		t.Errorf("the token due for renewal was kept (%v)", err)
	}

	// A token Secret someone else keeps (config/prometheus's, filled in by
	// the token controller) is left alone.
	if err := k.Delete(ctx, renewed); err != nil {
		t.Fatal(err)
	}
	theirs := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: monitoring.ScraperTokenSecret,
		Labels: map[string]string{"app.kubernetes.io/managed-by": "kustomize"}}, Data: map[string][]byte{"token": []byte("theirs")}}
	if err := k.Create(ctx, theirs); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	kept := &corev1.Secret{}
	if err := k.Get(ctx, client.ObjectKeyFromObject(theirs), kept); err != nil || kept.UID != theirs.UID || string(kept.Data["token"]) != "theirs" {
		t.Errorf("a token Secret someone else keeps was changed (%v)", err)
	}
}

func resourceVersionOf(t *testing.T, k client.Client, ns, name string) string {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: monitoringGroup, Version: "v1", Kind: "PrometheusRule"})
	if err := k.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u); err != nil {
		t.Fatal(err)
	}
	return u.GetResourceVersion()
}
