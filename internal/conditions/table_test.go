package conditions

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

func TestNews(t *testing.T) {
	c := func(typ string, status metav1.ConditionStatus, reason string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: status, Reason: reason}
	}
	notRunning := c(meshv1alpha1.ConditionMeshLocked, metav1.ConditionFalse, meshv1alpha1.ReasonKialiNotRunning)
	sidecarless := c(meshv1alpha1.ConditionMeshLocked, metav1.ConditionFalse, meshv1alpha1.ReasonNotInMesh)
	locked := c(meshv1alpha1.ConditionMeshLocked, metav1.ConditionTrue, meshv1alpha1.ReasonLockedDown)
	writes := c(meshv1alpha1.ConditionKialiWritesBypassSAR, metav1.ConditionTrue, meshv1alpha1.ReasonKialiCanWrite)
	unavailable := c(meshv1alpha1.ConditionProxyAvailable, metav1.ConditionFalse, meshv1alpha1.ReasonDeploymentUnavailable)
	for name, tc := range map[string]struct {
		before     []metav1.Condition
		c          metav1.Condition
		news, good bool
	}{
		"a new KialiAuthProxy's Kiali not running yet":  {nil, notRunning, false, false},
		"a new KialiAuthProxy's Kiali outside the mesh": {nil, sidecarless, true, false},
		"a new proxy not available yet":                 {nil, unavailable, false, false},
		"a first warning":                               {nil, writes, true, false},
		"a first good status":                           {nil, locked, false, true},
		"Kiali stopped running":                         {[]metav1.Condition{locked}, notRunning, true, false},
		"no change":                                     {[]metav1.Condition{notRunning}, notRunning, false, false},
		"locked once Kiali runs":                        {[]metav1.Condition{notRunning}, locked, true, true},
	} {
		t.Run(name, func(t *testing.T) {
			news, good := News(tc.before, tc.c)
			if news != tc.news || good != tc.good {
				t.Errorf("news %v good %v, want %v %v", news, good, tc.news, tc.good)
			}
		})
	}
}
