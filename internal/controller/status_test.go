package controller

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/conditions"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

func testKAP() *meshv1alpha1.KialiAuthProxy {
	return &meshv1alpha1.KialiAuthProxy{
		ObjectMeta: metav1.ObjectMeta{Name: "kiali", Namespace: "kiali", Generation: 7},
		Spec: meshv1alpha1.KialiAuthProxySpec{Exposure: meshv1alpha1.ExposureSpec{
			Host:           "kiali.example.com",
			VirtualService: &meshv1alpha1.VirtualServiceExposure{Gateways: []string{"istio-system/gw"}},
		}},
	}
}

func availableDeployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "kiali-oauth", Namespace: "kiali", Generation: 2},
		Status: appsv1.DeploymentStatus{
			ObservedGeneration: 2, AvailableReplicas: 1,
			Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue}},
		},
	}
}

func allServed() presence {
	p := presence{}
	for _, k := range Kinds {
		p[k.GroupKind] = k.Versions[0]
	}
	return p
}

func TestComputeConditions(t *testing.T) {
	type want struct{ status, reason string }
	for _, tc := range []struct {
		name   string
		mutate func(*meshv1alpha1.KialiAuthProxy, *observation)
		want   map[string]want
	}{
		{
			name:   "everything in place",
			mutate: func(*meshv1alpha1.KialiAuthProxy, *observation) {},
			want: map[string]want{
				meshv1alpha1.ConditionReady:                {"True", meshv1alpha1.ReasonReady},
				meshv1alpha1.ConditionKialiConfigured:      {"True", meshv1alpha1.ReasonKialiApplied},
				meshv1alpha1.ConditionProxyAvailable:       {"True", meshv1alpha1.ReasonDeploymentAvailable},
				meshv1alpha1.ConditionExposed:              {"True", meshv1alpha1.ReasonVirtualServiceApplied},
				meshv1alpha1.ConditionMeshLocked:           {"True", meshv1alpha1.ReasonLockedDown},
				meshv1alpha1.ConditionDegraded:             {"False", meshv1alpha1.ReasonReferencesValid},
				meshv1alpha1.ConditionHtpasswdBypassesSAR:  {"False", meshv1alpha1.ReasonNoHtpasswd},
				meshv1alpha1.ConditionKialiWritesBypassSAR: {"False", meshv1alpha1.ReasonViewOnly},
			},
		},
		{
			name: "lock-down turned off: reported, but the user's choice does not block Ready",
			mutate: func(k *meshv1alpha1.KialiAuthProxy, _ *observation) {
				off := false
				k.Spec.MeshSecurity = &meshv1alpha1.MeshSecuritySpec{LockDown: &off}
			},
			want: map[string]want{
				meshv1alpha1.ConditionMeshLocked: {"False", meshv1alpha1.ReasonLockDownDisabled},
				meshv1alpha1.ConditionReady:      {"True", meshv1alpha1.ReasonReady},
			},
		},
		{
			name: "Istio security CRDs missing",
			mutate: func(_ *meshv1alpha1.KialiAuthProxy, o *observation) {
				delete(o.kinds, authorizationPolicyGK)
			},
			want: map[string]want{
				meshv1alpha1.ConditionMeshLocked: {"False", meshv1alpha1.ReasonIstioSecurityCRDMissing},
				meshv1alpha1.ConditionReady:      {"False", meshv1alpha1.ReasonIstioSecurityCRDMissing},
			},
		},
		{
			name: "htpasswd logins skip the SubjectAccessReviews",
			mutate: func(k *meshv1alpha1.KialiAuthProxy, _ *observation) {
				k.Spec.Proxy.Htpasswd = &meshv1alpha1.HtpasswdSpec{Name: "htpasswd"}
			},
			want: map[string]want{
				meshv1alpha1.ConditionHtpasswdBypassesSAR: {"True", meshv1alpha1.ReasonHtpasswdConfigured},
				meshv1alpha1.ConditionReady:               {"True", meshv1alpha1.ReasonReady},
			},
		},
		{
			name: "Kiali CRD missing",
			mutate: func(_ *meshv1alpha1.KialiAuthProxy, o *observation) {
				delete(o.kinds, kialiGK)
			},
			want: map[string]want{
				meshv1alpha1.ConditionReady:           {"False", meshv1alpha1.ReasonKialiCRDMissing},
				meshv1alpha1.ConditionKialiConfigured: {"False", meshv1alpha1.ReasonKialiCRDMissing},
			},
		},
		{
			name: "Istio CRD missing",
			mutate: func(_ *meshv1alpha1.KialiAuthProxy, o *observation) {
				delete(o.kinds, virtualServiceGK)
			},
			want: map[string]want{
				meshv1alpha1.ConditionReady:   {"False", meshv1alpha1.ReasonIstioCRDMissing},
				meshv1alpha1.ConditionExposed: {"False", meshv1alpha1.ReasonIstioCRDMissing},
			},
		},
		{
			name: "Route asked for where there is none",
			mutate: func(k *meshv1alpha1.KialiAuthProxy, o *observation) {
				k.Spec.Exposure.VirtualService = nil
				k.Spec.Exposure.Route = &meshv1alpha1.RouteExposure{}
				delete(o.kinds, routeGK)
			},
			want: map[string]want{meshv1alpha1.ConditionExposed: {"False", meshv1alpha1.ReasonRouteCRDMissing}},
		},
		{
			name: "Deployment not seen yet",
			mutate: func(_ *meshv1alpha1.KialiAuthProxy, o *observation) {
				o.deployment = nil
			},
			want: map[string]want{
				meshv1alpha1.ConditionProxyAvailable: {"False", meshv1alpha1.ReasonDeploymentNotFound},
				meshv1alpha1.ConditionReady:          {"False", meshv1alpha1.ReasonDeploymentNotFound},
			},
		},
		{
			name: "Deployment rolling out stays available",
			mutate: func(_ *meshv1alpha1.KialiAuthProxy, o *observation) {
				o.deployment.Generation = 3
			},
			want: map[string]want{meshv1alpha1.ConditionProxyAvailable: {"True", meshv1alpha1.ReasonDeploymentAvailable}},
		},
		{
			name: "Deployment not picked up yet",
			mutate: func(_ *meshv1alpha1.KialiAuthProxy, o *observation) {
				o.deployment.Status = appsv1.DeploymentStatus{}
			},
			want: map[string]want{meshv1alpha1.ConditionProxyAvailable: {"False", meshv1alpha1.ReasonDeploymentUnavailable}},
		},
		{
			name: "Deployment unavailable",
			mutate: func(_ *meshv1alpha1.KialiAuthProxy, o *observation) {
				o.deployment.Status.Conditions[0].Status = corev1.ConditionFalse
			},
			want: map[string]want{meshv1alpha1.ConditionProxyAvailable: {"False", meshv1alpha1.ReasonDeploymentUnavailable}},
		},
		{
			name: "an apply failed",
			mutate: func(_ *meshv1alpha1.KialiAuthProxy, o *observation) {
				o.applyErrors[render.ComponentKiali] = errors.New("boom")
			},
			want: map[string]want{
				meshv1alpha1.ConditionKialiConfigured: {"False", meshv1alpha1.ReasonApplyFailed},
				meshv1alpha1.ConditionReady:           {"False", meshv1alpha1.ReasonApplyFailed},
			},
		},
		{
			name: "a Kiali pod without a sidecar is not locked down, and not Ready",
			mutate: func(_ *meshv1alpha1.KialiAuthProxy, o *observation) {
				o.pods = meshPods{kialiRunning: 1, inMesh: []string{"kiali-oauth-1 (proxy)"}, outside: []string{"kiali-1 (Kiali)"}}
			},
			want: map[string]want{
				meshv1alpha1.ConditionMeshLocked: {"False", meshv1alpha1.ReasonNotInMesh},
				meshv1alpha1.ConditionReady:      {"False", meshv1alpha1.ReasonNotInMesh},
			},
		},
		{
			name: "no Kiali pod runs: the lock-down is not proven",
			mutate: func(_ *meshv1alpha1.KialiAuthProxy, o *observation) {
				o.pods = meshPods{inMesh: []string{"kiali-oauth-1 (proxy)"}}
			},
			want: map[string]want{
				meshv1alpha1.ConditionMeshLocked: {"False", meshv1alpha1.ReasonKialiNotRunning},
				meshv1alpha1.ConditionReady:      {"False", meshv1alpha1.ReasonKialiNotRunning},
			},
		},
		{
			name: "Kiali may write what the reviews do not ask for: a warning outside Ready",
			mutate: func(_ *meshv1alpha1.KialiAuthProxy, o *observation) {
				o.writes = kialiWrites{sars: `[{"verb":"get"}]`}
			},
			want: map[string]want{
				meshv1alpha1.ConditionKialiWritesBypassSAR: {"True", meshv1alpha1.ReasonKialiCanWrite},
				meshv1alpha1.ConditionReady:                {"True", meshv1alpha1.ReasonReady},
			},
		},
		{
			name: "a bad reference comes first in Ready",
			mutate: func(_ *meshv1alpha1.KialiAuthProxy, o *observation) {
				o.deployment = nil
				o.problems = []conditions.Problem{{Reason: meshv1alpha1.ReasonSecretNotFound, Message: "Secret kiali/htpasswd referenced by spec.proxy.htpasswd does not exist"}}
			},
			want: map[string]want{
				meshv1alpha1.ConditionDegraded: {"True", meshv1alpha1.ReasonSecretNotFound},
				meshv1alpha1.ConditionReady:    {"False", meshv1alpha1.ReasonSecretNotFound},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kap := testKAP()
			o := &observation{names: render.NamesFor(kap), kinds: allServed(), applyErrors: map[string]error{}, deployment: availableDeployment(),
				pods:   meshPods{kialiRunning: 1, inMesh: []string{"kiali-1 (Kiali)", "kiali-oauth-1 (proxy)"}},
				writes: kialiWrites{viewOnly: true}}
			tc.mutate(kap, o)
			conds := computeConditions(render.PlanFor(kap, ""), o)
			if len(conds) != 8 {
				t.Fatalf("%d conditions, want 8", len(conds))
			}
			got := map[string]metav1.Condition{}
			for _, c := range conds {
				got[c.Type] = c
				if c.ObservedGeneration != 7 {
					t.Errorf("%s observedGeneration %d, want 7", c.Type, c.ObservedGeneration)
				}
				if c.Message == "" || strings.ContainsAny(c.Reason, " .:") {
					t.Errorf("%s: reason %q must be CamelCase and the message set (%q)", c.Type, c.Reason, c.Message)
				}
			}
			for typ, w := range tc.want {
				if c := got[typ]; string(c.Status) != w.status || c.Reason != w.reason {
					t.Errorf("%s = %s/%s (%s), want %s/%s", typ, c.Status, c.Reason, c.Message, w.status, w.reason)
				}
			}
		})
	}
}

func TestNewStatusDropsConditionsNoLongerComputed(t *testing.T) {
	kap := testKAP()
	kap.Status.Conditions = []metav1.Condition{{Type: "Obsolete", Status: metav1.ConditionTrue, Reason: "Old", Message: "from an older operator"}}
	o := &observation{names: render.NamesFor(kap), kinds: allServed(), applyErrors: map[string]error{}, deployment: availableDeployment()}
	for _, c := range newStatus(kap, computeConditions(render.PlanFor(kap, ""), o), nil).Conditions {
		if c.Type == "Obsolete" {
			t.Fatal("a condition no longer computed was kept")
		}
	}
}

func TestNewStatusKeepsTransitionTimes(t *testing.T) {
	kap := testKAP()
	o := &observation{names: render.NamesFor(kap), kinds: allServed(), applyErrors: map[string]error{}, deployment: availableDeployment()}
	kap.Status = newStatus(kap, computeConditions(render.PlanFor(kap, ""), o), nil)
	first := kap.Status.DeepCopy()
	again := newStatus(kap, computeConditions(render.PlanFor(kap, ""), o), nil)
	if len(again.Conditions) != len(first.Conditions) {
		t.Fatal("conditions accumulated")
	}
	for i := range again.Conditions {
		if !again.Conditions[i].LastTransitionTime.Equal(&first.Conditions[i].LastTransitionTime) {
			t.Errorf("%s transition time changed without a transition", again.Conditions[i].Type)
		}
	}
	if again.URL != "https://kiali.example.com" || again.ObservedGeneration != 7 {
		t.Errorf("url %q observedGeneration %d", again.URL, again.ObservedGeneration)
	}
}

// newStatus is the status writeStatus would write for conds.
func newStatus(kap *meshv1alpha1.KialiAuthProxy, conds []metav1.Condition, clusters []meshv1alpha1.ClusterStatus) meshv1alpha1.KialiAuthProxyStatus {
	return conditions.Status(kap, render.URL(kap.WithDefaults("")), conds, clusters)
}

// TestEventNoteFitsTheAPIServersLimit: a long condition message still
// makes an event, cut to the 1 KiB the API server takes.
func TestEventNoteFitsTheAPIServersLimit(t *testing.T) {
	long := strings.Repeat("é", 2000)
	got := eventNote(long)
	if len(got) > maxEventNote || !utf8.ValidString(got) || !strings.HasSuffix(got, "(the condition has the whole message)") {
		t.Errorf("eventNote gave %d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
	}
	if short := "MetricsWired is True: Wired"; eventNote(short) != short {
		t.Errorf("a short note was changed")
	}
}
